"""`smsreg` command line: parse arguments, load config, set up logging, call one entry point.

Exit codes: 0 success, 1 failure (database unreachable, verify mismatch, …), 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Sequence

from smsreg import __version__, accounts, codec, config, db, errors, logs, migrate, outbox, passwords, register

logger = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = config.load(args.config)
        logs.setup(cfg.logging)
        return int(args.func(cfg, args))
    except errors.ConfigError as exc:
        print(f"smsreg: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors.SmsregError as exc:
        print(f"smsreg: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsreg", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"smsreg {__version__}")
    parser.add_argument("--config", metavar="PATH",
                        help="config file (default: $SMSREG_CONFIG, else ./config.yaml if present)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, func, helptext, extra in _COMMANDS:
        p = sub.add_parser(name, help=helptext, description=helptext)
        if extra:
            extra(p)
        p.set_defaults(func=func)
    return parser


def cmd_migrate(cfg: config.Config, args: argparse.Namespace) -> int:
    applied = migrate.apply(cfg.database)
    print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d}_{m.name}" for m in applied))
    return 0


def cmd_check_config(cfg: config.Config, args: argparse.Namespace) -> int:
    print(json.dumps(config.describe(cfg), ensure_ascii=False, indent=2))
    return 0


def _inject_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", required=True, metavar="MSISDN", help="sender, any usual form")
    p.add_argument("--to", dest="dest", default=None, help="short code (default smpp.source_addr)")
    p.add_argument("--coding", type=lambda s: int(s, 0), default=None,
                   help="data_coding: 0 GSM, 1 ASCII, 3 Latin-1, 8 UCS-2 (default: 0 if the text allows, else 8)")
    p.add_argument("--ton", type=int, default=None, help="source_addr_ton (default: unknown)")
    p.add_argument("text", help="the SMS text")


def cmd_inject(cfg: config.Config, args: argparse.Namespace) -> int:
    """Feed one SMS through the path a received deliver_sm takes; print the outcome as JSON."""
    coding = args.coding if args.coding is not None else (0 if codec.is_gsm(args.text) else 8)
    try:
        payload = codec.encode_text(args.text, coding)
    except ValueError as exc:
        raise errors.ConfigError(f"--coding {coding}: {exc}") from exc
    mo = register.Mo(source_addr=args.source, dest_addr=args.dest or cfg.smpp.source_addr,
                     data_coding=coding, payload=payload, source_ton=args.ton,
                     received_at=dt.datetime.now(dt.UTC))
    registrar = register.Registrar(cfg)
    prepared = registrar.prepare(mo)
    with db.connect(cfg.database, "inject") as conn, db.wrap_errors():
        result = registrar.commit(conn, prepared)
        with conn.transaction():
            outbox.wake_senders(conn)  # a running worker sends the reply now, not at its next poll
    print(json.dumps({"outcome": str(result.outcome), "username": result.username,
                      "reply": result.reply, "segments": result.segments}, ensure_ascii=False))
    return 0


def _username_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("username", help="the account's user name (its identity number)")


def _read_stdin_password() -> str:
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def cmd_passwd(cfg: config.Config, args: argparse.Namespace) -> int:
    password = _read_stdin_password()
    with db.connect(cfg.database, "passwd") as conn, db.wrap_errors():
        try:
            accounts.set_password(conn, passwords.Hasher(cfg.passwords), args.username, password)
        except ValueError as exc:
            print(f"smsreg: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print("password changed")
    return 0


def cmd_verify(cfg: config.Config, args: argparse.Namespace) -> int:
    password = _read_stdin_password()
    with db.connect(cfg.database, "verify") as conn, db.wrap_errors():
        ok = accounts.verify(conn, passwords.Hasher(cfg.passwords), args.username, password)
    print("password matches" if ok else "password does not match")
    return 0 if ok else EXIT_FAILURE


def _expire_args(p: argparse.ArgumentParser) -> None:
    from smsreg import expire
    expire.configure_parser(p)


def cmd_expire(cfg: config.Config, args: argparse.Namespace) -> int:
    from smsreg import expire
    return expire.run(cfg, args)


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help=argparse.SUPPRESS)


def cmd_run(cfg: config.Config, args: argparse.Namespace) -> int:
    from smsreg import runner
    return runner.run(cfg)


def _simulate_args(p: argparse.ArgumentParser) -> None:
    from smsreg.smsc import cli as smsc_cli
    smsc_cli.configure_parser(p)


def cmd_simulate(cfg: config.Config, args: argparse.Namespace) -> int:
    from smsreg.smsc import cli as smsc_cli
    return smsc_cli.run(args)


_Command = tuple[str, Callable[[config.Config, argparse.Namespace], int], str,
                 Callable[[argparse.ArgumentParser], None] | None]
_COMMANDS: list[_Command] = [
    ("migrate", cmd_migrate, "apply the SQL migrations in sql/migrations (idempotent)", None),
    ("inject", cmd_inject, "process one SMS as if it had arrived from the SMSC; print the outcome as JSON",
     _inject_args),
    ("passwd", cmd_passwd, "set a citizen's own password (read from stdin); stops its expiry", _username_arg),
    ("verify", cmd_verify, "check a password (read from stdin); exit 0 if it matches, 1 if not", _username_arg),
    ("check-config", cmd_check_config, "validate the configuration and print it, secrets masked", None),
    ("run", cmd_run, "the SMPP worker, in the foreground; SIGTERM/SIGINT stop it gracefully", _run_args),
    ("expire", cmd_expire, "rotate first passwords not changed in time and queue reminders (cron)",
     _expire_args),
    ("simulate-smsc", cmd_simulate, "the project's SMSC simulator (SMPP 3.4 server) for demos and tests",
     _simulate_args),
]
