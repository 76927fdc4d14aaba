"""The worker under SMSC and database faults: every MO answered exactly once, nothing acknowledged lost."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from smsreg import config, outbox
from smsreg.smsc import MoHandle, Simulator
from smsreg.smsc import pdus as smsc_pdus
from tests.e2e.conftest import (
    WAIT_S,
    RunningWorker,
    TcpProxy,
    http_get,
    pg_address,
    phone,
    reg_text,
    reply_counts,
    rows,
    wait_for,
    wait_replied,
    wait_settled,
)

Start = Callable[..., RunningWorker]
TEMP_ERROR = 0x64
QUEUE_FULL = 0x14  # ESME_RMSGQFUL
SLOW_CLAIM_S = 0.5


def send(smsc: Simulator, numbers: range) -> list[MoHandle]:
    return [smsc.send_mo(reg_text(n), source=phone(n)) for n in numbers]


def assert_answered_once(smsc: Simulator, dsn: str, numbers: range, *, duplicates: int = 0) -> None:
    """Every MO acked, one stored MO and one reply each, exactly `duplicates` replies sent twice."""
    wait_replied(smsc, [phone(n) for n in numbers])
    wait_settled(dsn)
    counts = reply_counts(smsc)
    assert sum(counts.values()) - len(counts) == duplicates == len(smsc.duplicates), counts
    assert set(counts) == {phone(n) for n in numbers}
    stored = dict(rows(dsn, "SELECT source_addr, count(*) FROM inbound_sms GROUP BY 1"))
    assert stored == dict.fromkeys((phone(n) for n in numbers), 1), stored
    states = rows(dsn, "SELECT state, count(*) FROM outbound_sms GROUP BY 1")
    assert sum(c for _, c in states) == len(numbers)
    assert {s for s, _ in states} <= {"sent", "delivered"}, states
    assert rows(dsn, "SELECT count(*) FROM outbound_sms WHERE secret IS NOT NULL") == [(0,)]


def test_mos_arriving_with_the_bind_resp(smsc: Simulator, dsn: str, start_worker: Start,
                                        make_proxy: Callable[[tuple[str, int]], TcpProxy],
                                        make_worker_config: Callable[..., config.Config]) -> None:
    """An SMSC flushes its backlog as soon as bind_transceiver_resp is out; on a busy network the
    worker can read both in one recv(). Every MO must be taken, none ignored until redelivery."""
    link = make_proxy(smsc.address)
    link.hold()  # bind_transceiver_resp and the MOs after it reach the worker in one segment
    # A long bind timer, so a slow machine never gives up on the held bind_transceiver_resp.
    start_worker(make_worker_config(smsc_address=link.address, SMSREG_SMPP_RESPONSE_TIMEOUT_S="10"))
    handles = send(smsc, range(1, 11))
    assert wait_for(lambda: link.held_pdus() == 1 + len(handles)), link.held_pdus()
    link.release()
    assert all(h.wait_acked(WAIT_S) for h in handles), handles
    redelivered = [h for h in handles if len(h.attempts) > 1]
    assert not redelivered, f"{len(redelivered)} of 10 MOs ignored on their first delivery: {redelivered[:3]}"
    assert_answered_once(smsc, dsn, range(1, 11))


def test_throttled_submits_are_retried(smsc: Simulator, dsn: str, worker: RunningWorker) -> None:
    smsc.throttle(every=3)
    handles = send(smsc, range(1, 7))
    assert all(h.wait_acked(WAIT_S) for h in handles), handles
    assert_answered_once(smsc, dsn, range(1, 7))
    assert smsc.counters.throttled >= 2
    assert rows(dsn, "SELECT count(*) FROM outbound_sms WHERE attempts > 1")[0][0] >= 2


def test_dropped_link_loses_and_duplicates_nothing(smsc: Simulator, dsn: str, worker: RunningWorker) -> None:
    before = send(smsc, range(1, 4))
    assert all(h.wait_acked(WAIT_S) for h in before)
    wait_replied(smsc, [phone(n) for n in range(1, 4)])
    wait_settled(dsn)
    assert smsc.drop_links() == 1
    after = send(smsc, range(4, 7))  # queued by the simulator until the worker is back
    assert all(h.wait_acked(WAIT_S) for h in after), after
    assert_answered_once(smsc, dsn, range(1, 7))
    assert smsc.counters.binds == 2


def test_lost_submit_resp_is_the_one_tolerated_duplicate(smsc: Simulator, dsn: str,
                                                         worker: RunningWorker) -> None:
    smsc.lose_submit_resp(1)
    [handle] = send(smsc, range(1, 2))
    assert handle.wait_acked(WAIT_S)
    # The first submit_sm was accepted but its resp lost with the link: the worker cannot know,
    # and sends the reply again on the new link.
    assert wait_for(lambda: len(smsc.replies) >= 2), smsc.replies
    assert_answered_once(smsc, dsn, range(1, 2), duplicates=1)
    assert smsc.counters.lost_resps == 1 and smsc.counters.binds == 2
    [(attempts, ids)] = rows(dsn, "SELECT attempts, smsc_message_ids FROM outbound_sms")
    assert attempts == 2
    assert ids == [smsc.replies[1].message_id.lower()]


def test_smsc_unbind_then_rebind(smsc: Simulator, dsn: str, start_worker: Start,
                                 make_proxy: Callable[[tuple[str, int]], TcpProxy],
                                 make_worker_config: Callable[..., config.Config]) -> None:
    tap = make_proxy(smsc.address)
    start_worker(make_worker_config(smsc_address=tap.address))
    assert smsc.send_mo(reg_text(1), source=phone(1)).wait_acked(WAIT_S)
    wait_replied(smsc, [phone(1)])
    assert smsc.send_unbind() == 1
    assert wait_for(lambda: smsc.counters.binds >= 2), "the worker did not bind again"
    unbind_resps = [p for p in tap.pdus_sent() if p[0] == smsc_pdus.UNBIND | smsc_pdus.RESP_BIT]
    assert len(unbind_resps) == 1 and unbind_resps[0][1] == 0
    assert smsc.send_mo(reg_text(2), source=phone(2)).wait_acked(WAIT_S)
    assert_answered_once(smsc, dsn, range(1, 3))
    assert smsc.counters.binds == 2


def test_silent_smsc_link_rebuilt(smsc: Simulator, dsn: str, worker: RunningWorker) -> None:
    assert smsc.send_mo(reg_text(1), source=phone(1)).wait_acked(WAIT_S)
    wait_replied(smsc, [phone(1)])
    silence_s = 3 * worker.cfg.smpp.response_timeout_s + worker.cfg.smpp.enquire_link_s
    smsc.silence(silence_s)
    during = send(smsc, range(2, 5))
    assert all(h.wait_acked(WAIT_S + silence_s) for h in during), during
    assert_answered_once(smsc, dsn, range(1, 5))
    assert smsc.counters.binds >= 2, "the link should have been rebuilt after enquire_link went unanswered"
    assert smsc.counters.silenced >= 1


def test_database_outage_answered_with_temporary_error(
        smsc: Simulator, dsn: str, start_worker: Start,
        make_proxy: Callable[[tuple[str, int]], TcpProxy],
        make_worker_config: Callable[..., config.Config]) -> None:
    db_relay = make_proxy(pg_address(dsn))
    worker = start_worker(make_worker_config(database=db_relay.dsn_via(dsn)))
    assert smsc.send_mo(reg_text(1), source=phone(1)).wait_acked(WAIT_S)
    wait_replied(smsc, [phone(1)])

    db_relay.cut()
    during = send(smsc, range(2, 4))
    assert wait_for(lambda: all(TEMP_ERROR in h.statuses for h in during), WAIT_S), during
    assert not any(h.done for h in during)
    assert rows(dsn, "SELECT count(*) FROM inbound_sms") == [(1,)]  # nothing stored meanwhile
    status, body = http_get(f"http://127.0.0.1:{worker.metrics_port}/health")
    assert status == 503 and json.loads(body)["database"] is False, body
    db_relay.restore()

    assert all(h.wait_acked(WAIT_S) for h in during), during
    for handle in during:
        assert handle.statuses[-1] == 0 and set(handle.statuses[:-1]) == {TEMP_ERROR}, handle
        assert len(handle.attempts) >= 2  # redelivered by the SMSC
    assert_answered_once(smsc, dsn, range(1, 4))


def test_malformed_pdus(smsc: Simulator, dsn: str, start_worker: Start,
                        make_proxy: Callable[[tuple[str, int]], TcpProxy],
                        make_worker_config: Callable[..., config.Config]) -> None:
    tap = make_proxy(smsc.address)
    start_worker(make_worker_config(smsc_address=tap.address))
    assert smsc.send_mo(reg_text(1), source=phone(1)).wait_acked(WAIT_S)

    # An unknown command id: answered generic_nack ESME_RINVCMDID on the same link.
    unknown_seq = 0x7FFF0001
    assert smsc.send_raw(smsc_pdus.pack(0x00000999, unknown_seq)) == 1
    nack = (smsc_pdus.GENERIC_NACK, smsc_pdus.ESME_RINVCMDID, unknown_seq)
    assert wait_for(lambda: nack in tap.pdus_sent()), tap.pdus_sent()
    # A deliver_sm whose body is cut short (no addresses, no message): refused with an error
    # status (generic_nack or deliver_sm_resp), never accepted and stored as a message.
    truncated_seq = 0x7FFF0004
    assert smsc.send_raw(smsc_pdus.pack(smsc_pdus.DELIVER_SM, truncated_seq, b"\x00\x01")) == 1

    def answer() -> list[tuple[int, int, int]]:
        return [p for p in tap.pdus_sent() if p[2] == truncated_seq]
    assert wait_for(answer), tap.pdus_sent()
    [(command_id, status, _)] = answer()
    assert command_id in (smsc_pdus.GENERIC_NACK, smsc_pdus.DELIVER_SM | smsc_pdus.RESP_BIT)
    assert status != 0, "a deliver_sm without a body was acknowledged as delivered"
    # An enquire_link from the SMSC is answered.
    enquire_seq = 0x7FFF0005
    assert smsc.send_raw(smsc_pdus.pack(smsc_pdus.ENQUIRE_LINK, enquire_seq)) == 1
    resp = (smsc_pdus.ENQUIRE_LINK | smsc_pdus.RESP_BIT, 0, enquire_seq)
    assert wait_for(lambda: resp in tap.pdus_sent()), tap.pdus_sent()
    assert smsc.send_mo(reg_text(2), source=phone(2)).wait_acked(WAIT_S)
    assert smsc.counters.binds == 1

    # A command_length below the header size: the stream cannot be resynchronised, so the
    # worker drops the link and binds again.
    assert smsc.send_raw(struct.pack(">LLLL", 8, smsc_pdus.ENQUIRE_LINK, 0, 0x7FFF0002)) == 1
    assert wait_for(lambda: smsc.counters.binds == 2), "the worker did not rebuild the link"
    assert smsc.send_mo(reg_text(3), source=phone(3)).wait_acked(WAIT_S)
    assert_answered_once(smsc, dsn, range(1, 4))  # and nothing stored for the malformed PDUs


@pytest.mark.parametrize("length", [0xFFFFFFFF, 16 + 70_000])
def test_oversized_command_length_rebuilds_link(smsc: Simulator, dsn: str, worker: RunningWorker,
                                                length: int) -> None:
    assert smsc.send_raw(struct.pack(">LLLL", length, smsc_pdus.DELIVER_SM, 0, 0x7FFF0003)) == 1
    assert wait_for(lambda: smsc.counters.binds == 2), "the worker did not rebuild the link"
    assert smsc.send_mo(reg_text(1), source=phone(1)).wait_acked(WAIT_S)
    assert_answered_once(smsc, dsn, range(1, 2))


def test_lost_deliver_sm_resp_redelivery_answered_once(
        smsc: Simulator, dsn: str, start_worker: Start,
        make_proxy: Callable[[tuple[str, int]], TcpProxy],
        make_worker_config: Callable[..., config.Config]) -> None:
    link = make_proxy(smsc.address)
    start_worker(make_worker_config(smsc_address=link.address))
    link.hold(upstream=True)  # the worker's deliver_sm_resp (and reply) will never arrive
    [handle] = send(smsc, range(1, 2))
    assert wait_for(lambda: rows(dsn, "SELECT count(*) FROM inbound_sms") == [(1,)])
    assert wait_for(lambda: any(p[0] == smsc_pdus.DELIVER_SM | smsc_pdus.RESP_BIT for p in link.pdus_sent()))
    link.cut()
    link.restore()
    assert handle.wait_acked(WAIT_S), handle
    assert handle.statuses[0] is None and handle.statuses[-1] == 0, handle  # redelivered
    assert_answered_once(smsc, dsn, range(1, 2))


def test_long_reply_throttled_mid_message(smsc: Simulator, dsn: str, start_worker: Start,
                                          make_worker_config: Callable[..., config.Config]) -> None:
    """A two-segment reply whose second segment is throttled: the handset must end up with one
    whole message, not a stray first half from the first attempt."""
    long_text = "Loi. Tin nhan sai cu phap. " * 8  # ~216 GSM characters: 2 segments
    worker = start_worker(make_worker_config(SMSREG_REPLIES_SYNTAX_ERROR=long_text.strip()))
    smsc.throttle(every=2)  # segment 1 accepted, segment 2 throttled
    assert smsc.send_mo("TK,abc", source=phone(1)).wait_acked(WAIT_S)
    assert wait_for(lambda: smsc.counters.throttled >= 1)
    smsc.throttle(every=0)  # the worker pauses after a throttle, so the retry sees this
    wait_replied(smsc, [phone(1)])
    wait_settled(dsn)
    [reply] = smsc.replies
    assert reply.segments == 2 and reply.text == long_text.strip()
    assert smsc.counters.throttled >= 1
    accepted = [s for s in smsc.submits if s.destination == phone(1)]
    assert len(accepted) == 2, (f"{len(accepted)} segments reached the handset for a 2-segment reply "
                                f"(a first half from the throttled attempt is left over)")
    assert smsc.recorder.incomplete == 0
    assert worker.thread.is_alive()


def test_stop_during_a_slow_claim_keeps_sent_replies_sent(
        smsc: Simulator, dsn: str, start_worker: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM while the sender's claim query is slow (a loaded database): a reply that then goes
    out and is accepted by the SMSC must be recorded as sent, not put back in the queue for the
    next worker to send a second time."""
    first = start_worker()
    claiming = threading.Event()
    real_claim = outbox.claim_within

    def slow_claim(*args: Any, **kwargs: Any) -> list[outbox.Claimed]:
        claiming.set()
        time.sleep(SLOW_CLAIM_S)
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(outbox, "claim_within", slow_claim)
    [handle] = send(smsc, range(1, 2))
    assert handle.wait_acked(WAIT_S)
    assert claiming.wait(WAIT_S)
    assert first.shutdown() == 0
    monkeypatch.setattr(outbox, "claim_within", real_claim)
    accepted = [r.destination for r in smsc.replies]
    [(state,)] = rows(dsn, "SELECT state FROM outbound_sms")
    if accepted:  # the claim finished inside the grace period and the reply went out
        assert state in ("sent", "delivered"), f"reply accepted by the SMSC but left {state!r} in the database"
    start_worker()  # the next worker sends whatever is still queued
    assert_answered_once(smsc, dsn, range(1, 2))


def test_full_intake_queue_answers_queue_full(smsc: Simulator, dsn: str, start_worker: Start,
                                              make_worker_config: Callable[..., config.Config]) -> None:
    start_worker(make_worker_config(SMSREG_SMPP_QUEUE_SIZE="1", SMSREG_SMPP_WORKERS="1"))
    handles = send(smsc, range(1, 21))
    assert all(h.wait_acked(WAIT_S) for h in handles), handles
    assert any(QUEUE_FULL in h.statuses for h in handles), handles  # then redelivered
    assert {s for h in handles for s in h.statuses} <= {0, QUEUE_FULL}
    assert_answered_once(smsc, dsn, range(1, 21))
