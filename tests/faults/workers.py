"""Real `python -m smsreg run` processes for the fault scenarios, and a PostgreSQL cluster of the
test's own that can be stopped and started (never the machine's shared server).

A worker's output goes to a log file; tail() is attached to assertion messages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from smsreg import devdb, migrate
from tests.conftest import FAST_HASH_ENV, make_config

REPO = Path(__file__).resolve().parents[2]
SMSC_PASSWORD = "faultpw"  # SMPP 3.4: at most 8 characters

# Short timers so every fault is detected and healed in about a second; all are ordinary
# SMSREG_* overrides, nothing is patched inside the worker.
WORKER_ENV = {
    "SMSREG_SMPP_SYSTEM_ID": "smsreg",
    "SMSREG_SMPP_PASSWORD": SMSC_PASSWORD,
    "SMSREG_SMPP_RESPONSE_TIMEOUT_S": "1.0",
    "SMSREG_SMPP_ENQUIRE_LINK_S": "1",
    "SMSREG_SMPP_INACTIVITY_S": "5",
    "SMSREG_SMPP_RECONNECT_MIN_S": "0.05",
    "SMSREG_SMPP_RECONNECT_MAX_S": "0.5",
    "SMSREG_SMPP_SHUTDOWN_GRACE_S": "4",
    "SMSREG_SMPP_WORKERS": "4",
    "SMSREG_SMPP_MAX_TPS": "1000",
    "SMSREG_SMPP_WINDOW": "20",
    "SMSREG_DATABASE_POOL_MIN": "1",
    "SMSREG_DATABASE_CONNECT_TIMEOUT_S": "1",
    "SMSREG_DATABASE_RETRY_BUDGET_S": "0.5",
    "SMSREG_METRICS_LISTEN": "127.0.0.1:0",
    "SMSREG_LOGGING_LEVEL": "INFO",
    **FAST_HASH_ENV,
}
STOP_TIMEOUT_S = 20.0


class WorkerProcess:
    """One `smsreg run` child. start() may be called again after kill9()/stop() (a restart)."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_dir / f"worker-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> WorkerProcess:
        assert not self.alive, f"worker {self.name} is already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "smsreg", "run"], cwd=REPO, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs, sockets are closed by the kernel."""
        assert self.proc is not None and self.alive
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT_S)
        self.kills += 1

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait; the exit code (a worker still alive after timeout is killed: -9)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
                return -9
        return int(self.proc.returncode)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def worker_env(dsn: str, smsc_address: tuple[str, int], **extra: str) -> dict[str, str]:
    """The environment of a worker child: only our SMSREG_* variables, no config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSREG_")}
    env.update({"PYTHONPATH": str(REPO), "SMSREG_CONFIG": "/dev/null", "PYTHONUNBUFFERED": "1",
                "SMSREG_DATABASE_URL": dsn, "SMSREG_SMPP_HOST": smsc_address[0],
                "SMSREG_SMPP_PORT": str(smsc_address[1]), **WORKER_ENV, **extra})
    return env


class Workers:
    """Every worker process of one test; stop_all() at teardown leaves none behind."""

    def __init__(self, dsn: str, smsc_address: tuple[str, int], log_dir: Path) -> None:
        self.dsn = dsn
        self.smsc_address = smsc_address
        self.log_dir = log_dir
        self.all: list[WorkerProcess] = []

    def spawn(self, name: str | None = None, **extra_env: str) -> WorkerProcess:
        worker = WorkerProcess(name or str(len(self.all) + 1),
                               worker_env(self.dsn, self.smsc_address, **extra_env), self.log_dir)
        self.all.append(worker)
        return worker.start()

    def stop_all(self) -> dict[str, int]:
        return {w.name: w.stop() for w in self.all}

    def tails(self, lines: int = 30) -> str:
        return "\n".join(f"--- worker {w.name} ---\n{w.tail(lines)}" for w in self.all)

    def logs(self) -> str:
        return "\n".join(w.log_text() for w in self.all)


def run_expire(dsn: str, log_dir: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """One `smsreg expire` run (the cron job) against dsn."""
    env = worker_env(dsn, ("127.0.0.1", 1), **extra_env)
    return subprocess.run([sys.executable, "-m", "smsreg", "expire"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


# ---- a PostgreSQL cluster of the test's own -------------------------------------------------

class Cluster:
    """A throwaway cluster (smsreg.devdb) whose server can be stopped and started again on the
    same port. Its data directory lives under /tmp so the `postgres` user can reach it."""

    def __init__(self, base: Path, dsn: str) -> None:
        self.base = base
        self.admin_dsn = dsn
        self._bindir = devdb.find_bindir()
        self.port = int(psycopg.conninfo.conninfo_to_dict(dsn)["port"] or 0)  # type: ignore[arg-type]
        self.outages = 0

    def _ctl(self, *args: str) -> None:
        cmd = [str(self._bindir / "pg_ctl"), "-D", str(self.base / "data"), *args]
        subprocess.run(devdb._as_service_user(cmd), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    def stop(self) -> None:
        """Fast shutdown: every connection is cut, new ones are refused."""
        self._ctl("-m", "fast", "-w", "stop")
        self.outages += 1

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=200")
        self._ctl("-l", str(self.base / "log"), "-o", opts, "-w", "-t", "60", "start")

    def database(self, name: str = "smsreg") -> str:
        """A migrated database on this cluster; its DSN."""
        dsn = devdb.with_database(self.admin_dsn, name)
        migrate.apply(make_config(dsn).database)
        return dsn


@contextlib.contextmanager
def own_cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="smsreg-faults-pg-"))
    try:
        with devdb.throwaway_cluster(base) as dsn:
            yield Cluster(base, dsn)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def wait_for(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():  # type: ignore[operator]
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
