"""Worker processes dying: `kill -9` at random moments under load, and two workers sharing the
database while one of them is killed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from tests.faults import stream, workers
from tests.faults.harness import Harness
from tests.faults.stream import RecordingSimulator

pytestmark = pytest.mark.slow

MOS = 400
RATE_PER_S = 50.0


def _harness(name: str, smsc: RecordingSimulator, dsn: str, workers_of: Callable[[str], workers.Workers],
             result_line: list[str]) -> Harness:
    return Harness(name, smsc, dsn, workers_of(dsn), result_line)


def test_kill9_under_load_then_restart(smsc: RecordingSimulator, dsn: str, workers_of: Callable[[str], workers.Workers],
                                       result_line: list[str]) -> None:
    h = _harness("kill9", smsc, dsn, workers_of, result_line)
    rng = random.Random(7)
    worker = h.workers.spawn("a")
    assert smsc.wait_bound(1, 20), worker.tail()
    feeder = h.feed(stream.mixed_stream(MOS, seed=7), RATE_PER_S)
    while feeder.progress < 0.9:
        time.sleep(rng.uniform(0.8, 2.0))
        worker.kill9()
        time.sleep(rng.uniform(0.0, 0.5))
        worker.start()
    h.extra["kills"] = worker.kills
    h.finish(feeder)


def test_two_workers_one_killed(smsc: RecordingSimulator, dsn: str, workers_of: Callable[[str], workers.Workers],
                                result_line: list[str]) -> None:
    h = _harness("two_workers_kill", smsc, dsn, workers_of, result_line)
    a, b = h.workers.spawn("a"), h.workers.spawn("b")
    assert smsc.wait_bound(2, 20), h.workers.tails()
    feeder = h.feed(stream.mixed_stream(MOS, seed=11), RATE_PER_S)
    rng = random.Random(11)
    while feeder.progress < 0.3:
        time.sleep(0.1)
    a.kill9()  # b alone now: the SMSC redelivers a's unanswered MOs to b, b reclaims a's replies
    while feeder.progress < 0.6:
        time.sleep(0.1)
    a.start()
    while feeder.progress < 0.85:
        time.sleep(rng.uniform(0.5, 1.0))
    b.kill9()
    h.extra["kills"] = a.kills + b.kills
    h.finish(feeder)


def test_sigterm_under_load_then_restart(smsc: RecordingSimulator, dsn: str,
                                         workers_of: Callable[[str], workers.Workers],
                                         result_line: list[str]) -> None:
    """Rolling restarts (a deploy) under load: each SIGTERM drains what the worker holds and
    exits 0 within its grace; the next process takes over."""
    h = _harness("sigterm_restart", smsc, dsn, workers_of, result_line)
    worker = h.workers.spawn("a")
    assert smsc.wait_bound(1, 20), worker.tail()
    feeder = h.feed(stream.mixed_stream(MOS, seed=31), RATE_PER_S)
    codes = []
    while feeder.progress < 0.9:
        time.sleep(1.5)
        codes.append(worker.stop())
        worker.start()
    h.extra["restarts"] = len(codes)
    if any(codes):
        h.problems.append(f"exit codes after SIGTERM under load: {codes}")
    report = h.finish(feeder)
    # A graceful stop waits for the submit_sm_resp of every reply in flight: no reply twice.
    assert report.dup_tolerated == 0, report.line()
