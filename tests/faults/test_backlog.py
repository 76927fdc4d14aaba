"""A backlog flushed at once: the worker was down while citizens kept texting, then binds and
the SMSC (the simulator has no window) delivers everything it holds. With the production
password hash (argon2id t=2, 19 MiB) the worker must work through it and end with every MO
acknowledged and answered once, not churn on redeliveries of MOs it already stored."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.faults import stream, workers
from tests.faults.harness import Harness
from tests.faults.stream import RecordingSimulator

pytestmark = pytest.mark.slow

BACKLOG = 600
PRODUCTION_HASH = {"SMSREG_PASSWORDS_TIME_COST": "2", "SMSREG_PASSWORDS_MEMORY_KIB": "19456"}
CONVERGE_S = 90.0


def test_backlog_flushed_at_bind(smsc: RecordingSimulator, dsn: str, workers_of: Callable[[str], workers.Workers],
                                 result_line: list[str]) -> None:
    h = Harness("backlog_flush", smsc, dsn, workers_of(dsn), result_line)
    # All queued at the SMSC before any worker binds.
    feeder = h.feed(stream.mixed_stream(BACKLOG, seed=29), rate_per_s=10_000)
    feeder.join(30)
    started = time.monotonic()
    worker = h.workers.spawn("a", **PRODUCTION_HASH)
    assert smsc.wait_bound(1, 20), worker.tail()
    undone = feeder.wait_done(CONVERGE_S)
    h.extra.update(acked_in_s=f"{time.monotonic() - started:.1f}", mo_attempts=smsc.counters.mo_attempts,
                   late_resps=smsc.counters.late_resps)
    if undone:
        h.problems.append(f"{len(undone)} MOs still unacknowledged {CONVERGE_S:.0f} s after the bind "
                          f"({smsc.counters.mo_attempts} delivery attempts)")
    h.finish(feeder)
