"""A PostgreSQL for development, tests and `make run`: use the one configured, else the local
server on 127.0.0.1:5432, else start a throwaway cluster under a git-ignored folder.

    python -m smsreg.devdb run [--dir .pgdata] -- COMMAND...   # COMMAND gets $SMSREG_DEV_PG (admin DSN)
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
from psycopg import conninfo
from psycopg import sql as pgsql

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ENV_DSN = "SMSREG_TEST_DSN"  # an admin DSN given from outside wins over everything
SERVICE_USER = "postgres"  # initdb refuses to run as root


def find_bindir() -> Path:
    """The PostgreSQL server binaries: $PG_BINDIR, pg_config --bindir, or the Debian layout."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists():
            return Path(cand)
    raise SystemExit("devdb: no PostgreSQL server binaries (initdb) found; install postgresql "
                     "or set PG_BINDIR, or point SMSREG_TEST_DSN at a server")


def answers(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_service_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise SystemExit(f"devdb: running as root needs a '{SERVICE_USER}' system user for initdb") from None
    return ["runuser", "-u", SERVICE_USER, "--", *cmd]


@contextlib.contextmanager
def throwaway_cluster(base: Path) -> Iterator[str]:
    """initdb + pg_ctl start on a free port; stopped and kept on disk (for a faster next start)."""
    bindir = find_bindir()
    base = base.resolve()
    data = base / "data"
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(base, SERVICE_USER)
    if not (data / "PG_VERSION").exists():
        subprocess.run(_as_service_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                         "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(_as_service_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                                     "-o", opts, "-w", "-t", "60", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_service_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       check=False, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def ensure(base: Path) -> Iterator[str]:
    """Yield an admin DSN of a reachable server, starting one only when none is."""
    given = os.environ.get(ENV_DSN)
    if given:
        if not answers(given):
            raise SystemExit(f"devdb: {ENV_DSN} is set but the server does not answer")
        yield given
    elif answers(LOCAL_DSN):
        yield LOCAL_DSN
    else:
        print(f"devdb: no PostgreSQL on 127.0.0.1:5432, starting one under {base}", file=sys.stderr)
        with throwaway_cluster(base) as dsn:
            yield dsn


def with_database(admin_dsn: str, name: str) -> str:
    """The DSN of database `name` on the same server, created if missing."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    return conninfo.make_conninfo(admin_dsn, dbname=name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smsreg.devdb", description=__doc__)
    parser.add_argument("action", choices=["run"])
    parser.add_argument("--dir", default=".pgdata", type=Path, help="where a throwaway cluster lives")
    parser.add_argument("--database", help="also create this database and export SMSREG_DATABASE_URL")
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        parser.error("a command to run is required after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    if not command:
        parser.error("a command to run is required after --")
    with ensure(args.dir) as dsn:
        env = dict(os.environ, SMSREG_TEST_DSN=dsn)
        if args.database:
            env["SMSREG_DATABASE_URL"] = with_database(dsn, args.database)
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
