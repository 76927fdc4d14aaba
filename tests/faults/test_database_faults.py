"""PostgreSQL going away mid-stream (a cluster of the test's own, never the shared server), and
the expiry cron job running while citizens register."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.faults import invariants, stream, workers
from tests.faults.harness import Harness
from tests.faults.stream import RecordingSimulator

pytestmark = pytest.mark.slow

MOS = 400
RATE_PER_S = 50.0
TEMP_STATUS = 0x64


@pytest.fixture
def cluster() -> Iterator[workers.Cluster]:
    with workers.own_cluster() as own:
        yield own


def test_postgres_restarted_mid_stream(cluster: workers.Cluster, smsc: RecordingSimulator,
                                       workers_of: Callable[[str], workers.Workers], result_line: list[str]) -> None:
    """A 3 s outage, then a quick restart: MOs meanwhile get the temporary status and are
    processed when the SMSC delivers them again; replies whose settlement failed are not lost."""
    dsn = cluster.database()
    h = Harness("postgres_restart", smsc, dsn, workers_of(dsn), result_line)
    worker = h.workers.spawn("a")
    assert smsc.wait_bound(1, 20), worker.tail()
    feeder = h.feed(stream.mixed_stream(MOS, seed=17), RATE_PER_S)
    for at, down_s in ((0.3, 3.0), (0.65, 0.5)):
        while feeder.progress < at:
            time.sleep(0.05)
        cluster.stop()
        time.sleep(down_s)
        cluster.start()
    feeder.join(60)
    feeder.wait_done(90)
    temporary = sum(1 for s in feeder.sent for status in s.handle.statuses if status == TEMP_STATUS)
    h.extra.update(outages=cluster.outages, temp_status=temporary)
    assert temporary > 0, "no MO was answered with the temporary status during the outage"
    h.finish(feeder)


def test_expire_runs_during_registrations(smsc: RecordingSimulator, dsn: str,
                                          workers_of: Callable[[str], workers.Workers],
                                          result_line: list[str]) -> None:
    """`smsreg expire` every second with expiry.after = 2 s: accounts are rotated while others
    register; each account's last SMS carries its current password, each reminder goes out once."""
    h = Harness("expire_concurrent", smsc, dsn, workers_of(dsn), result_line)
    expiry = {"SMSREG_EXPIRY_AFTER": "2s", "SMSREG_EXPIRY_MAX_ROTATIONS": "50"}
    worker = h.workers.spawn("a", **expiry)
    assert smsc.wait_bound(1, 20), worker.tail()
    feeder = h.feed(stream.mixed_stream(MOS, seed=19), RATE_PER_S)
    runs = failed = 0
    while feeder.progress < 1.0 or runs < 3:
        done = workers.run_expire(dsn, h.workers.log_dir, **expiry)
        runs += 1
        failed += done.returncode != 0
        time.sleep(0.5)
    rotated = invariants.rows(dsn, "SELECT count(*) FROM outbound_sms WHERE kind = 'reminder'")[0][0]
    h.extra.update(expire_runs=runs, expire_failed=failed, reminders=rotated)
    assert failed == 0
    assert rotated > 0
    h.finish(feeder)
