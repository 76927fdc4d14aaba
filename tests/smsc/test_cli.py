"""The simulate-smsc command: in-process run() and `python -m smsreg.smsc` as a subprocess."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsreg.smsc import cli
from tests.smsc.conftest import WAIT_S
from tests.smsc.esme import Esme

ROOT = Path(__file__).resolve().parents[2]
REPLY = b"TK: 048090012345, MK: Ab3dEf7h"


def _answering_esme(address: tuple[str, int], password: str = "secret") -> Esme:
    """Bind and answer every MO with REPLY to its sender."""
    holder: list[Esme] = []

    def reply(pdu: Any) -> int:
        holder[0].submit(REPLY, destination=pdu.source_addr.decode())
        return 0

    esme = Esme(address, status_for=reply)
    holder.append(esme)
    return esme.bind(password=password)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure_parser(parser)
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_run_sends_file_mos_and_exits_after_the_replies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mo_file = tmp_path / "mos.tsv"
    mo_file.write_text("84905000001\tTK,Hòa Nguyen,048090012345,01.01.1990\n\n84905000002\tTK,đ\n", "utf-8")
    port = _free_port()
    args = _parse("--listen", f"127.0.0.1:{port}", "--mo-file", str(mo_file), "--send", "84905000003:hi",
                  "--exit-after-replies", "3", "--no-receipts", "--password", "pw")  # fmt: skip
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(cli.run(args)))
    runner.start()
    _wait_listening(port)
    esme = _answering_esme(("127.0.0.1", port), password="pw")
    try:
        runner.join(WAIT_S * 2)
        assert codes == [0]
        codings = sorted((p.source_addr, p.data_coding) for p in esme.received)
        assert codings == [(b"84905000001", 0), (b"84905000002", 8), (b"84905000003", 0)]
    finally:
        esme.close()
    out = capsys.readouterr().out
    assert f"SMSC simulator listening on 127.0.0.1:{port}" in out
    assert "[reply → 84905000002] TK: 048090012345, MK: Ab3dEf7h (1 segment, GSM-7)" in out
    assert "[done] 3 replies, 0 duplicates, 3 MOs acked, 0 failed" in out


def test_run_refuses_a_bad_mo_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("no tab here\n", "utf-8")
    assert cli.run(_parse("--listen", "127.0.0.1:0", "--mo-file", str(bad))) == cli.EXIT_USAGE
    assert "expected FROM<TAB>TEXT" in capsys.readouterr().err


def test_option_parsing() -> None:
    assert cli.parse_send("84905123456:TK,A:B") == ("84905123456", "TK,A:B")
    assert cli.parse_line("+84901234567 TK,A") == ("84901234567", "TK,A")
    assert cli.parse_line("TK,A B") == (cli.DEFAULT_SOURCE, "TK,A B")
    with pytest.raises(ValueError):
        cli.parse_send("no separator")
    with pytest.raises(SystemExit):
        _parse("--listen", "nohostport")


@pytest.fixture
def simulator_process() -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMSREG_SMPP_PASSWORD": "from-env"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsreg.smsc", "--listen", "127.0.0.1:0", "--interactive", "--exit-after-replies", "2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    with proc:  # closes the pipes
        yield proc
        if proc.poll() is None:
            proc.kill()


def _address(proc: subprocess.Popen[str]) -> tuple[str, int]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("SMSC simulator listening on "), line
    host, port = line.rsplit(" ", 1)[1].strip().rsplit(":", 1)
    return host, int(port)


def test_module_runs_interactively_until_enough_replies(simulator_process: subprocess.Popen[str]) -> None:
    proc = simulator_process
    esme = _answering_esme(_address(proc), password="from-env")
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("84901234567 TK,A\nTK,B\n")
        proc.stdin.flush()
        assert proc.wait(WAIT_S * 2) == 0
        out = proc.stdout.read()
    finally:
        esme.close()
    assert sorted(p.source_addr for p in esme.received) == [b"84901234567", cli.DEFAULT_SOURCE.encode()]
    assert f"[reply → 84901234567] {REPLY.decode()} (1 segment, GSM-7)" in out


def test_sigterm_stops_the_module_cleanly(simulator_process: subprocess.Popen[str]) -> None:
    _address(simulator_process)
    simulator_process.send_signal(signal.SIGTERM)
    assert simulator_process.wait(WAIT_S) == 0
