"""The worker under test: a real `python -m smsreg run` child process, configured by environment."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

# Throughput settings (smpp.max_tps defaults to 50 and window to 10: an operator's limits, not
# the worker's). Every scenario runs with these unless overridden with --worker-env.
THROUGHPUT_ENV = {
    "SMSREG_SMPP_MAX_TPS": "100000",
    "SMSREG_SMPP_WINDOW": "100",
}
STOP_TIMEOUT_S = 60.0


def environment(db_url: str, smsc: tuple[str, int], system_id: str, password: str,
                overrides: dict[str, str]) -> dict[str, str]:
    """The SMSREG_* settings of the worker: ours, then the caller's overrides (secrets included)."""
    return {
        "SMSREG_DATABASE_URL": db_url,
        "SMSREG_SMPP_HOST": smsc[0],
        "SMSREG_SMPP_PORT": str(smsc[1]),
        "SMSREG_SMPP_SYSTEM_ID": system_id,
        "SMSREG_SMPP_PASSWORD": password,
        "SMSREG_METRICS_LISTEN": "127.0.0.1:0",  # never clash with a worker already on :9108
        **THROUGHPUT_ENV,
        **overrides,
    }


def command() -> list[str]:
    return [sys.executable, "-m", "smsreg", "run"]


def command_line(env: dict[str, str]) -> str:
    """The worker's command line as a shell would rerun it (the SMPP password masked)."""
    shown = {k: ("***" if k == "SMSREG_SMPP_PASSWORD" else v) for k, v in sorted(env.items())}
    return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in shown.items()), *map(shlex.quote, command())])


class WorkerProcess:
    """Starts on construction; stop() sends SIGTERM and returns the exit code."""

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.env = env
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SMSREG_")}
        self._proc = subprocess.Popen(command(), env={**inherited, **env}, cwd=cwd, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> int:
        """SIGTERM, then wait (SIGKILL after STOP_TIMEOUT_S, exit code then negative)."""
        if self.alive():
            self._proc.send_signal(signal.SIGTERM)
        try:
            code = self._proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._log.close()
        return code

    def tail(self, lines: int = 20) -> str:
        """The end of the worker's log, for a failure report."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
