"""Optional sampling profile of the worker during the load (py-spy, if installed)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

RATE_HZ = 200


class Profiler:
    """py-spy record --pid PID in collapsed-stack format; stop() writes the file."""

    def __init__(self, pid: int, path: Path, *, idle: bool = False) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(exe).exists():
            raise SystemExit("bench: --profile needs py-spy (pip install py-spy)")
        cmd = [exe, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--format", "raw",
               "--output", str(path), "--threads", "--gil", "--nonblocking"]
        if idle:
            cmd.append("--idle")
        self.path = path
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> Path:
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        return self.path
