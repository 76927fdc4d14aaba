"""`smsreg simulate-smsc`: run the simulator in the foreground, send MOs, print each reply.

Printing reply text is the point of a simulator (demos, manual tests); it only ever sees
test traffic. stdout carries the listening address, MOs sent and replies; logs go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from smsreg import codec
from smsreg.smsc.records import Reply
from smsreg.smsc.server import Simulator

DEFAULT_LISTEN = "127.0.0.1:2775"
DEFAULT_SOURCE = "84905123456"
SHORT_CODE = "8188"
# One SMS: 160 unpacked GSM septets or 140 octets of UCS-2; longer MOs go as UDH segments.
SINGLE_SMS_OCTETS = {0: 160, 8: 140}
EXIT_OK = 0
EXIT_USAGE = 2


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the simulator's options to p."""
    p.add_argument("--listen", type=_host_port, default=_host_port(DEFAULT_LISTEN), metavar="HOST:PORT",
                   help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 picks a free one)")
    p.add_argument("--system-id", help="system_id a bind must present "
                   "(default: $SMSREG_SMPP_SYSTEM_ID, else smsreg)")
    p.add_argument("--password", help="password a bind must present (default: $SMSREG_SMPP_PASSWORD, else secret)")
    p.add_argument("--send", action="append", default=[], metavar="FROM:TEXT",
                   help="an MO to send once an ESME binds (repeatable)")
    p.add_argument("--mo-file", metavar="FILE", help="MOs to send once an ESME binds, one FROM<TAB>TEXT per line")
    p.add_argument("--interactive", action="store_true",
                   help="read MOs from stdin, one per line: 'FROM TEXT' or just TEXT")
    p.add_argument("--coding", choices=("auto", "0", "8"), default="auto",
                   help="MO data_coding: auto = GSM-7 when possible, else UCS-2")
    p.add_argument("--throttle-every", type=_positive, default=0, metavar="N",
                   help="answer every Nth submit_sm with ESME_RTHROTTLED")
    p.add_argument("--no-receipts", action="store_true", help="never send delivery receipts")
    p.add_argument("--exit-after-replies", type=_positive, default=0, metavar="N",
                   help="exit 0 once N replies have been shown")  # fmt: skip


def parse_send(value: str) -> tuple[str, str]:
    """'FROM:TEXT' → (FROM, TEXT). Raises ValueError."""
    source, sep, text = value.partition(":")
    if not sep or not source.strip():
        raise ValueError(f"expected FROM:TEXT, got {value!r}")
    return source.strip(), text


def parse_line(line: str) -> tuple[str, str]:
    """An interactive line: 'FROM TEXT' when the first word is a number, else just TEXT."""
    first, _, rest = line.strip().partition(" ")
    if rest and first.lstrip("+").isdigit():
        return first.lstrip("+"), rest
    return DEFAULT_SOURCE, line.strip()


def read_mo_file(path: str) -> list[tuple[str, str]]:
    """FROM<TAB>TEXT lines (blank lines skipped). Raises ValueError, OSError."""
    mos = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            source, sep, text = line.partition("\t")
            if not sep:
                raise ValueError(f"{path}:{number}: expected FROM<TAB>TEXT")
            mos.append((source.strip(), text))
    return mos


def format_reply(reply: Reply) -> str:
    """One line per citizen-facing reply."""
    body = reply.text if reply.text is not None else f"<{len(reply.payload)} octets>"
    segments = "segment" if reply.segments == 1 else "segments"
    return f"[reply → {reply.destination}] {body} ({reply.segments} {segments}, {reply.encoding})"


def send_text(sim: Simulator, source: str, text: str, coding: str) -> None:
    """Send one MO the way a handset would: GSM-7 when possible, concatenated when long."""
    data_coding = int(coding) if coding != "auto" else (0 if codec.is_gsm(text) else 8)
    try:
        octets = len(codec.encode_text(text, data_coding))
    except ValueError as exc:
        print(f"[mo rejected] {source}: {exc}", file=sys.stderr, flush=True)
        return
    long = octets > SINGLE_SMS_OCTETS[data_coding]
    sim.send_mo(text, source=source, dest=SHORT_CODE, data_coding=data_coding,
                via="udh" if long else "short_message")  # fmt: skip
    print(f"[mo {source} → {SHORT_CODE}] {text}", flush=True)


def _send_when_bound(sim: Simulator, mos: list[tuple[str, str]], coding: str, stop: threading.Event) -> None:
    while not stop.is_set() and not sim.wait_bound(1, timeout=0.5):
        pass
    for source, text in mos:
        if stop.is_set():
            return
        send_text(sim, source, text, coding)


def _read_stdin(sim: Simulator, coding: str, stop: threading.Event) -> None:
    # EOF ends the input only; the simulator keeps serving until a signal or --exit-after-replies.
    for line in sys.stdin:
        if stop.is_set():
            return
        if line.strip():
            source, text = parse_line(line)
            send_text(sim, source, text, coding)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set stop (only the main thread may install handlers; tests run us in others)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _initial_mos(args: argparse.Namespace) -> list[tuple[str, str]]:
    mos = [parse_send(value) for value in args.send]
    if args.mo_file:
        mos += read_mo_file(args.mo_file)
    return mos


def _build(args: argparse.Namespace) -> Simulator:
    host, port = args.listen
    sim = Simulator(
        host, port,
        system_id=args.system_id or os.environ.get("SMSREG_SMPP_SYSTEM_ID") or "smsreg",
        password=args.password or os.environ.get("SMSREG_SMPP_PASSWORD") or "secret",
        receipts=not args.no_receipts,
    )  # fmt: skip
    if args.throttle_every:
        sim.throttle(args.throttle_every)
    return sim


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM or --exit-after-replies; 0 on a clean stop, 2 on bad input."""
    try:
        mos = _initial_mos(args)
    except (ValueError, OSError) as exc:
        print(f"simulate-smsc: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()
    shown = itertools.count(1)  # next() is atomic: two bound ESMEs may report at once
    sim = _build(args)

    def show(reply: Reply) -> None:
        print(format_reply(reply), flush=True)
        if next(shown) >= args.exit_after_replies > 0:
            stop.set()

    sim.on_reply(show)
    with _stop_on_signals(stop), sim:
        host, port = sim.address
        print(f"SMSC simulator listening on {host}:{port}", flush=True)
        threading.Thread(target=_send_when_bound, args=(sim, mos, args.coding, stop), daemon=True).start()
        if args.interactive:
            threading.Thread(target=_read_stdin, args=(sim, args.coding, stop), daemon=True).start()
        while not stop.wait(0.5):  # a timed wait keeps signal handlers responsive
            pass
    counters = sim.counters
    print(f"[done] {counters.replies} replies, {counters.duplicates} duplicates, "
          f"{counters.mo_acked} MOs acked, {counters.mo_failed} failed", flush=True)  # fmt: skip
    return EXIT_OK
