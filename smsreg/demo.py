"""`make run`: the service end to end on this machine.

Migrates the database, then runs the worker. With no SMSC configured (smpp.host empty) it also
starts the project's SMSC simulator, binds the worker to it, sends a few citizen messages and
prints the replies as a citizen's phone would show them; more can be typed as `PHONE TEXT`.
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import threading

from smsreg import config, logs, migrate, runner
from smsreg.smsc import Reply, Simulator

DEMO_PASSWORD = "demo8188"  # SMPP 3.4 passwords have at most 8 characters


def demo_messages() -> list[tuple[str, str]]:
    """A fresh citizen each run (so the first reply is a success), then the usual mistakes."""
    year = random.randint(1960, 2005)
    id_number = f"048{0 if year < 2000 else 2}{year % 100:02d}{random.randint(0, 999_999):06d}"
    phones = [f"849{random.randint(0, 99_999_999):08d}" for _ in range(4)]
    return [
        (phones[0], f"TK,Nguyen Van An,{id_number},15.08.{year}"),      # the notice's syntax
        (phones[1], f"TK;Nguyễn Văn An;{id_number};15/08/{year}"),       # same ID again, in UCS-2
        (phones[2], "[TK,Nguyễn Văn A,201499999,20/12/1990]"),           # the official example, verbatim
        (phones[3], "TK Nguyen Van An 15.08.1990"),                      # a field missing
    ]


def show(reply: Reply) -> None:
    print(f"  📱 {reply.destination} ← 8188: {reply.text}", flush=True)


def main() -> int:
    cfg = config.load()
    logs.setup(cfg.logging)
    applied = migrate.apply(cfg.database)
    print(f"database ready ({len(applied)} migration(s) applied)", flush=True)
    if cfg.smpp.host:
        print(f"SMSC configured: {cfg.smpp.host}:{cfg.smpp.port}; running the worker (Ctrl-C stops)", flush=True)
        return runner.run(cfg)
    with Simulator(host="127.0.0.1", port=0, system_id=cfg.smpp.system_id, password=DEMO_PASSWORD) as smsc:
        host, port = smsc.address
        smpp = dataclasses.replace(cfg.smpp, host=host, port=port, password=config.Secret(DEMO_PASSWORD))
        cfg = dataclasses.replace(cfg, smpp=smpp)
        smsc.on_reply(show)
        stop = threading.Event()
        exit_code: list[int] = []
        worker = threading.Thread(target=lambda: exit_code.append(runner.run(cfg, stop)), name="worker")
        worker.start()
        print(f"SMSC simulator on {host}:{port}; metrics on {cfg.metrics.listen}/metrics", flush=True)
        try:
            if not smsc.wait_bound(1, timeout=30):
                print("the worker did not bind to the simulator", file=sys.stderr)
                stop.set()
            for phone, text in demo_messages():
                print(f"  ✉ {phone} → 8188: {text}", flush=True)
                smsc.send_mo(text, source=phone, data_coding=0 if text.isascii() else 8).wait_acked(10)
            print("type `PHONE TEXT` to send more, Ctrl-C to stop", flush=True)
            _interactive(smsc, stop)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            worker.join()
    return exit_code[0] if exit_code else 1


def _interactive(smsc: Simulator, stop: threading.Event) -> None:
    if not sys.stdin.isatty():
        stop.wait()
        return
    for line in sys.stdin:
        phone, _, text = line.strip().partition(" ")
        if phone and text:
            smsc.send_mo(text, source=phone, data_coding=0 if text.isascii() else 8)
        if stop.is_set():
            return


if __name__ == "__main__":
    sys.exit(main())
