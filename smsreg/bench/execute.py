"""One scenario end to end: fresh database, simulator, worker process, load, costs, checks."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smsreg import config, passwords
from smsreg.bench import checks, database, load, proc, results, spy, vacuum, workerproc
from smsreg.bench.scenarios import Scenario
from smsreg.smsc import Simulator

SYSTEM_ID = "smsreg"
SMSC_PASSWORD = "bench"      # SMPP 3.4 passwords have at most 8 characters
BIND_TIMEOUT_S = 30.0
RECEIPT_TIMEOUT_S = 120.0
IDLE_SAMPLE_S = 0.25
IDLE_CPU_SHARE = 0.1         # under 10 % of a core for two samples in a row = started
IDLE_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class Options:
    admin_dsn: str
    database: str
    window: int
    probe_every: int
    receipts: bool
    overrides: dict[str, str]
    log_dir: Path
    cwd: Path
    passwords: config.PasswordsConfig
    profile: bool = False
    emulate_autovacuum: bool = False


@dataclass
class _Snapshot:
    at: float
    worker_cpu_s: float
    bench_cpu_s: float
    backends: dict[int, float]

    @classmethod
    def take(cls, worker_pid: int, dsn: str) -> _Snapshot:
        pids = database.backend_pids(dsn)
        return cls(time.monotonic(), proc.cpu_seconds(worker_pid), proc.self_cpu_seconds(),
                   {pid: proc.cpu_seconds(pid) for pid in pids})


def run(scenario: Scenario, opts: Options) -> tuple[dict[str, Any], list[checks.Check]]:
    """The scenario's figures and its checks (all of them, passed or not)."""
    dsn = database.fresh(opts.admin_dsn, opts.database)
    with Simulator(password=SMSC_PASSWORD, system_id=SYSTEM_ID, retry_delay_s=0.5, response_timeout_s=10.0,
                   max_retries=20, receipts=opts.receipts) as smsc:
        env = workerproc.environment(dsn, smsc.address, SYSTEM_ID, SMSC_PASSWORD, opts.overrides)
        worker = workerproc.WorkerProcess(env, opts.log_dir / f"worker-{scenario.name}.log", opts.cwd)
        probe = load.AckProbe(dsn, opts.probe_every)
        vacuumer = vacuum.Vacuumer(dsn) if opts.emulate_autovacuum else None
        load_at_start = os.getloadavg()[0]
        try:
            if not smsc.wait_bound(1, BIND_TIMEOUT_S):
                raise SystemExit(f"bench: the worker did not bind within {BIND_TIMEOUT_S:.0f} s:\n{worker.tail()}")
            _wait_idle(worker.pid)
            profiler = spy.Profiler(worker.pid, opts.log_dir / f"profile-{scenario.name}.txt") if opts.profile else None
            before = _Snapshot.take(worker.pid, dsn)
            outcome = load.run(smsc, scenario, opts.window, probe, worker.pid)
            pending = load.wait_receipts(smsc, RECEIPT_TIMEOUT_S)
            costs = _costs(before, worker.pid, dsn)
            if profiler is not None:
                print(f"bench: profile of the worker in {profiler.stop()}", flush=True)
        finally:
            code = worker.stop()
            probe.close()
            vacuums = vacuumer.stop() if vacuumer is not None else None
        handles, replies = smsc.mo_log, smsc.replies
        row = results.summarize(scenario, outcome, handles, replies, costs)
        found = checks.run(dsn, handles, replies, len(smsc.duplicates), outcome.kinds,
                           (probe.checked, probe.violations), pending, code, passwords.Hasher(opts.passwords))
    row["load_1m"] = [round(load_at_start, 2), round(os.getloadavg()[0], 2)]
    row["bench_vacuums"] = vacuums
    row["worker_command"] = workerproc.command_line(env)
    row["checks"] = "ok" if all(c.ok for c in found) else "FAILED"
    row["check_details"] = {c.name: {"ok": c.ok, "detail": c.detail} for c in found}
    return row, found


def _wait_idle(pid: int) -> None:
    """Let the worker finish starting (imports, pool, its password stock) before measuring it."""
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    quiet, last = 0, proc.cpu_seconds(pid)
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(IDLE_SAMPLE_S)
        now = proc.cpu_seconds(pid)
        quiet = quiet + 1 if now - last < IDLE_CPU_SHARE * IDLE_SAMPLE_S else 0
        last = now


def _costs(before: _Snapshot, worker_pid: int, dsn: str) -> results.Costs:
    after = _Snapshot.take(worker_pid, dsn)
    usage = proc.usage(worker_pid)
    postgres = sum(cpu - before.backends.get(pid, 0.0) for pid, cpu in after.backends.items())
    return results.Costs(
        worker_cpu_s=after.worker_cpu_s - before.worker_cpu_s,
        bench_cpu_s=after.bench_cpu_s - before.bench_cpu_s,
        postgres_cpu_s=postgres,
        wall_s=after.at - before.at,
        peak_rss_kib=usage.hwm_kib,
        end_rss_kib=usage.rss_kib,
    )
