"""Whole workers: two sharing one database, `python -m smsreg run` stopped by SIGTERM mid-flow,
and the HTTP endpoint a Prometheus server and a load balancer would read."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from smsreg.smsc import MoHandle, Simulator
from tests.e2e.conftest import (
    REPO,
    WAIT_S,
    RunningWorker,
    http_get,
    id_number,
    phone,
    reg_text,
    reply_counts,
    rows,
    subprocess_env,
    wait_for,
    wait_replied,
    wait_settled,
    worker_env,
)

Start = Callable[..., RunningWorker]
SHARED_MOS = 100
SIGTERM_MOS = 40
GRACE_S = 4.0


def test_two_workers_share_one_database(smsc: Simulator, dsn: str, start_worker: Start) -> None:
    first, second = start_worker(), start_worker()
    assert smsc.wait_bound(2, WAIT_S)
    handles = [smsc.send_mo(reg_text(n), source=phone(n)) for n in range(SHARED_MOS)]
    assert all(h.wait_acked(WAIT_S) for h in handles), [h for h in handles if not h.acked]
    # The simulator round-robins MOs over both binds: both workers really took part.
    links = {h.attempts[-1].link_id for h in handles}
    assert len(links) == 2, links
    counts = wait_replied(smsc, [phone(n) for n in range(SHARED_MOS)], timeout=2 * WAIT_S)
    wait_settled(dsn)
    counts = reply_counts(smsc)
    assert len(counts) == SHARED_MOS and set(counts.values()) == {1}, counts.most_common(3)
    assert smsc.duplicates == []
    assert rows(dsn, "SELECT count(*), count(DISTINCT inbound_id) FROM outbound_sms") == [(SHARED_MOS, SHARED_MOS)]
    assert rows(dsn, "SELECT count(*) FROM account") == [(SHARED_MOS,)]
    assert {r.parts[0].link_id for r in smsc.replies} == links  # both sent replies
    assert first.thread.is_alive() and second.thread.is_alive()


def test_two_workers_racing_on_one_id_number(smsc: Simulator, dsn: str, start_worker: Start) -> None:
    """Pairs of citizens typing the same ID number at once, each pair split over both workers:
    one account and one "ID already used" reply per pair (architecture.md rule 2)."""
    start_worker()
    start_worker()
    assert smsc.wait_bound(2, WAIT_S)
    pairs = 10
    handles = [smsc.send_mo(reg_text(k, name), source=phone(2 * k + i))
               for k in range(pairs) for i, name in enumerate(("Nguyen Van An", "Tran Van Binh"))]
    assert all(h.wait_acked(WAIT_S) for h in handles), handles
    counts = wait_replied(smsc, [phone(n) for n in range(2 * pairs)])
    wait_settled(dsn)
    counts = reply_counts(smsc)
    assert set(counts.values()) == {1}, counts
    assert rows(dsn, "SELECT count(*) FROM account") == [(pairs,)]
    outcomes = rows(dsn, "SELECT split_part(text, ',', 3), array_agg(outcome ORDER BY outcome) "
                         "FROM inbound_sms GROUP BY 1")
    assert sorted(outcomes) == [(id_number(k), ["duplicate_id", "ok"]) for k in range(pairs)], outcomes
    for k in range(pairs):
        texts = sorted(r.text or "" for r in smsc.replies if r.destination in (phone(2 * k), phone(2 * k + 1)))
        assert texts[0].startswith("So CMND da duoc su dung") and texts[1].startswith(f"TK: {id_number(k)},"), texts


def _acked_with_zero(handle: MoHandle) -> bool:
    return 0 in handle.statuses


def test_sigterm_with_mos_in_flight(smsc: Simulator, dsn: str, start_worker: Start, tmp_path: Path) -> None:
    env = subprocess_env({"SMSREG_DATABASE_URL": dsn, "SMSREG_PASSWORDS_TIME_COST": "1",
                          "SMSREG_PASSWORDS_MEMORY_KIB": "64",
                          **worker_env(smsc.address, SMSREG_SMPP_SHUTDOWN_GRACE_S=str(GRACE_S),
                                       SMSREG_SMPP_WORKERS="2", SMSREG_SMPP_MAX_TPS="20")})
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "smsreg", "run"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            # The worker's own log line only tells when to start, not what happened.
            assert wait_for(lambda: "bound to" in log.read_text(errors="replace")), log.read_text()
            assert smsc.bound_count == 1
            handles: list[MoHandle] = []

            def citizens() -> None:  # a steady stream of MOs, before and after the signal
                for n in range(SIGTERM_MOS):
                    handles.append(smsc.send_mo(reg_text(n), source=phone(n)))
                    time.sleep(0.01)

            stream = threading.Thread(target=citizens, daemon=True)
            stream.start()
            # Stop while MOs are still arriving and replies are still going out (20 TPS).
            assert wait_for(lambda: sum(_acked_with_zero(h) for h in list(handles)) >= 8), handles
            proc.send_signal(signal.SIGTERM)
            # Grace, plus the bounded unbind, pool and HTTP closes after it (TimeoutExpired fails).
            code = proc.wait(timeout=GRACE_S + 15)
            stream.join(WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text(errors="replace")
    assert code == 0, text
    assert "Traceback" not in text, text
    assert wait_for(lambda: smsc.bound_count == 0, 5), "the worker did not close its link"

    # Every MO the worker acknowledged with 0 is stored, and its reply either reached the
    # SMSC or is still queued in the database for the next worker.
    acked = [h for h in handles if _acked_with_zero(h)]
    sent_to = set(reply_counts(smsc))
    stored = dict(rows(dsn, "SELECT i.source_addr, o.state FROM inbound_sms i "
                            "JOIN outbound_sms o ON o.inbound_id = i.id"))
    for handle in acked:
        assert handle.source in stored, f"MO {handle.id} acked but not stored"
        assert handle.source in sent_to or stored[handle.source] == "queued", (handle, stored[handle.source])
    assert rows(dsn, "SELECT count(*) FROM outbound_sms WHERE state = 'sending'") == [(0,)]
    assert smsc.duplicates == []
    requeued = sorted(p for p in sent_to if stored.get(p) == "queued")
    assert not requeued, f"replies the SMSC accepted were put back in the queue at shutdown: {requeued}"

    # The next worker finishes the job: every MO answered exactly once in total.
    start_worker()
    assert all(h.wait_acked(WAIT_S) for h in handles), [h for h in handles if not h.acked]
    wait_replied(smsc, [phone(n) for n in range(SIGTERM_MOS)], timeout=2 * WAIT_S)
    wait_settled(dsn)
    counts = reply_counts(smsc)
    twice = {p: ([s.link_id for s in smsc.submits if s.destination == p],
                 rows(dsn, "SELECT attempts, error FROM outbound_sms WHERE destination = %s", (p,)))
             for p, c in counts.items() if c > 1}
    assert not twice, f"replies sent twice (SMSC link ids; attempts, last error): {twice}"
    assert len(counts) == SIGTERM_MOS and smsc.duplicates == []


def _sample(body: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def test_metrics_and_health_endpoints(smsc: Simulator, worker: RunningWorker) -> None:
    base = f"http://127.0.0.1:{worker.metrics_port}"
    status, body = http_get(f"{base}/health")
    assert status == 200, body
    assert json.loads(body)["smpp_bound"] is True
    status, body = http_get(f"{base}/metrics")
    assert status == 200
    ok_before = _sample(body, "smsreg_registrations_total", outcome="ok")
    assert ok_before == 0.0, body

    assert smsc.send_mo(reg_text(1), source=phone(1)).wait_acked(WAIT_S)
    assert smsc.send_mo("TK,abc", source=phone(2)).wait_acked(WAIT_S)
    wait_replied(smsc, [phone(1), phone(2)])
    status, body = http_get(f"{base}/metrics")
    assert status == 200
    assert _sample(body, "smsreg_registrations_total", outcome="ok") == ok_before + 1
    assert _sample(body, "smsreg_registrations_total", outcome="syntax_error") == 1.0
    assert _sample(body, "smsreg_smpp_bound") == 1.0

    # Unbound (the SMSC went away and refuses binds): /health says so.
    smsc.bind_credentials = ("smsreg", "changed")
    smsc.drop_links()
    assert wait_for(lambda: http_get(f"{base}/health")[0] == 503), http_get(f"{base}/health")
    assert json.loads(http_get(f"{base}/health")[1])["smpp_bound"] is False
    smsc.bind_credentials = ("smsreg", worker.cfg.smpp.password.reveal())
    assert wait_for(lambda: http_get(f"{base}/health")[0] == 200, WAIT_S)


def test_concatenated_mo_completed_by_the_next_worker(smsc: Simulator, dsn: str, start_worker: Start) -> None:
    """Parts live in PostgreSQL, not in a worker: part 1 to one worker, part 2 to its successor."""
    name = "Ton That Thuyet Hoang Minh"
    first = start_worker()
    part1 = smsc.send_mo(reg_text(5, name), source=phone(5), via="sar", parts=2, send_parts=[1], reference=500)
    assert part1.wait_acked(WAIT_S)
    assert first.shutdown() == 0
    start_worker()
    part2 = smsc.send_mo(reg_text(5, name), source=phone(5), via="sar", parts=2, send_parts=[2], reference=500)
    assert part2.wait_acked(WAIT_S)
    counts = wait_replied(smsc, [phone(5)])
    wait_settled(dsn)
    assert reply_counts(smsc) == {phone(5): 1}, counts
    assert rows(dsn, "SELECT full_name, name_as_typed FROM account WHERE id_number = %s",
                (id_number(5),)) == [(name.upper(), name)]
