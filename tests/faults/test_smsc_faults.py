"""The SMSC misbehaving: dropped TCP links, SMSC-initiated unbind, silence longer than the
response timer, throttling storms."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from tests.faults import invariants, stream, workers
from tests.faults.harness import Harness
from tests.faults.stream import RecordingSimulator

pytestmark = pytest.mark.slow

MOS = 400
RATE_PER_S = 50.0


@pytest.fixture
def harness(request: pytest.FixtureRequest, smsc: RecordingSimulator, dsn: str,
            workers_of: Callable[[str], workers.Workers], result_line: list[str]) -> Harness:
    h = Harness(request.node.name.removeprefix("test_"), smsc, dsn, workers_of(dsn), result_line)
    worker = h.workers.spawn("a")
    assert smsc.wait_bound(1, 20), worker.tail()
    return h


def test_link_drops(harness: Harness, smsc: RecordingSimulator) -> None:
    """The SMSC resets the TCP connection again and again, sometimes right after accepting a
    submit_sm and before answering it (the response is lost with the link)."""
    rng = random.Random(3)
    feeder = harness.feed(stream.mixed_stream(MOS, seed=3), RATE_PER_S)
    drops = lost = 0
    while feeder.progress < 0.9:
        time.sleep(rng.uniform(0.3, 1.0))
        if rng.random() < 0.4:
            smsc.lose_submit_resp(1)
            lost += 1
        else:
            drops += smsc.drop_links()
    harness.extra.update(drops=drops, lose_resp=lost, smsc_lost_resps=smsc.counters.lost_resps)
    harness.finish(feeder)


def test_smsc_unbind(harness: Harness, smsc: RecordingSimulator) -> None:
    """SMSC-initiated unbind mid-stream: the worker answers, rebinds, nothing is lost."""
    feeder = harness.feed(stream.mixed_stream(MOS, seed=5), RATE_PER_S)
    unbinds = 0
    while feeder.progress < 0.9:
        time.sleep(1.2)
        unbinds += smsc.send_unbind()
    harness.extra["unbinds"] = unbinds
    harness.finish(feeder)


def test_smsc_silent_longer_than_response_timer(harness: Harness, smsc: RecordingSimulator) -> None:
    """The SMSC reads but answers nothing (enquire_link, submit_sm, bind) for 3 s, twice; the
    worker's 1 s timers must declare the link dead, rebind once the SMSC talks again, and resend."""
    feeder = harness.feed(stream.mixed_stream(MOS, seed=9), RATE_PER_S)
    silences = 0
    for at in (0.25, 0.6):
        while feeder.progress < at:
            time.sleep(0.05)
        smsc.silence(3.0)
        silences += 1
        time.sleep(3.0)
    harness.extra.update(silences=silences, silenced_pdus=smsc.counters.silenced)
    harness.finish(feeder)


def test_throttling_storm(harness: Harness, smsc: RecordingSimulator) -> None:
    """Every 3rd submit_sm is answered ESME_RTHROTTLED for the whole stream: every reply still
    arrives exactly once (throttling is never a reason to give up on a reply)."""
    smsc.throttle(every=3)
    # Fewer MOs: the sender pauses THROTTLE_PAUSE_S after each throttled submit_sm, so every
    # 3rd one throttled means ~7 replies/s.
    feeder = harness.feed(stream.mixed_stream(MOS // 2, seed=13), RATE_PER_S)
    feeder.join(60)
    feeder.wait_done(60)
    invariants.wait_quiet(smsc, harness.dsn, 90)
    harness.extra["throttled"] = smsc.counters.throttled
    smsc.throttle(every=0)
    harness.finish(feeder)
