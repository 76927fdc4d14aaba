"""A citizen's SMS end to end: simulator → worker → PostgreSQL → reply, for every kind of MO."""

from __future__ import annotations

from typing import Any

import pytest

from smsreg import config, passwords, replies
from smsreg.replies import Outcome
from smsreg.smsc import Simulator
from smsreg.smsc import receipts as smsc_receipts
from tests.e2e.conftest import (
    PASSWORD_IN_REPLY,
    WAIT_S,
    RunningWorker,
    id_number,
    phone,
    reg_text,
    replies_to,
    reply_counts,
    rows,
    the_reply,
    wait_for,
    wait_replied,
    wait_settled,
)

pytestmark = pytest.mark.usefixtures("worker")
RECEIPT_SETTLE_S = 5.0


def expected(cfg: config.Config, outcome: Outcome) -> str:
    text = replies.render(cfg.replies, outcome)
    assert text is not None
    return text


def account(dsn: str, number: str) -> tuple[Any, ...] | None:
    found = rows(dsn, "SELECT full_name, name_as_typed, phone, password_hash, birth_date::text "
                      "FROM account WHERE id_number = %s", (number,))
    return found[0] if found else None


def test_registration_end_to_end(smsc: Simulator, dsn: str, worker: RunningWorker) -> None:
    smsc.settings.receipts = False  # keep the row at 'sent' (receipts have their own test)
    handle = smsc.send_mo(reg_text(1), source=phone(1))
    assert handle.wait_acked(WAIT_S), handle
    reply = the_reply(smsc, phone(1))
    assert reply.text is not None and reply.source == worker.cfg.smpp.source_addr
    match = PASSWORD_IN_REPLY.search(reply.text)
    assert match, reply.text
    username, password = match.groups()
    assert username == id_number(1)

    full_name, as_typed, stored_phone, password_hash, birth = account(dsn, username)  # type: ignore[misc]
    assert (full_name, as_typed, stored_phone, birth) == ("NGUYEN VAN AN", "Nguyen Van An", phone(1), "1990-02-01")
    hasher = passwords.Hasher(worker.cfg.passwords)
    assert hasher.verify(password_hash, password)
    assert not hasher.verify(password_hash, password + "x")
    assert password not in password_hash

    wait_settled(dsn)
    [(state, secret, body, ids, kind)] = rows(
        dsn, "SELECT state, secret, body, smsc_message_ids, kind FROM outbound_sms")
    assert (state, secret, kind) == ("sent", None, "ok")
    assert password not in body and "MK: " + "*" * len(password) in body
    assert set(ids) == {m.lower() for m in reply.message_ids}
    [(outcome, source)] = rows(dsn, "SELECT outcome, source_addr FROM inbound_sms")
    assert (outcome, source) == ("ok", phone(1))
    assert smsc.duplicates == []


def test_error_replies(smsc: Simulator, dsn: str, worker: RunningWorker) -> None:
    first = smsc.send_mo(reg_text(1), source=phone(1))
    assert first.wait_acked(WAIT_S)
    wait_replied(smsc, [phone(1)])
    handles = [
        smsc.send_mo("TK,abc", source=phone(2)),                                 # syntax_error
        smsc.send_mo(reg_text(1, "Tran Van Binh"), source=phone(3)),            # duplicate_id
        smsc.send_mo(reg_text(4, "Le Thi Cuc"), source=phone(1)),               # duplicate_phone
    ]
    assert all(h.wait_acked(WAIT_S) for h in handles), handles
    counts = wait_replied(smsc, [phone(2), phone(3)])
    # phone(1) now has its success reply and the duplicate_phone one.
    assert wait_for(lambda: reply_counts(smsc)[phone(1)] >= 2)
    wait_settled(dsn)
    counts = reply_counts(smsc)
    assert counts == {phone(1): 2, phone(2): 1, phone(3): 1}, counts
    cfg = worker.cfg
    assert replies_to(smsc, phone(2))[0].text == expected(cfg, Outcome.SYNTAX_ERROR)
    assert replies_to(smsc, phone(3))[0].text == expected(cfg, Outcome.DUPLICATE_ID)
    assert replies_to(smsc, phone(1))[1].text == expected(cfg, Outcome.DUPLICATE_PHONE)
    assert rows(dsn, "SELECT count(*) FROM account") == [(1,)]
    outcomes = rows(dsn, "SELECT source_addr, outcome FROM inbound_sms ORDER BY id")
    assert sorted(outcomes) == sorted([(phone(1), "ok"), (phone(2), "syntax_error"),
                                       (phone(3), "duplicate_id"), (phone(1), "duplicate_phone")])


def test_invalid_sender_is_acked_and_never_answered(smsc: Simulator, dsn: str) -> None:
    invalid = "19001234"  # a service number, not a Vietnamese mobile
    handle = smsc.send_mo(reg_text(1), source=invalid, source_ton=0)
    assert handle.wait_acked(WAIT_S), handle
    assert handle.statuses == [0]
    # A later MO from a citizen is answered; by then the first one has long been decided.
    assert smsc.send_mo(reg_text(2), source=phone(2)).wait_acked(WAIT_S)
    wait_replied(smsc, [phone(2)])
    wait_settled(dsn)
    assert replies_to(smsc, invalid) == []
    assert rows(dsn, "SELECT i.outcome, i.phone, count(o.id) FROM inbound_sms i "
                     "LEFT JOIN outbound_sms o ON o.inbound_id = i.id WHERE i.source_addr = %s "
                     "GROUP BY i.outcome, i.phone", (invalid,)) == [("invalid_sender", None, 0)]
    assert account(dsn, id_number(1)) is None


def test_ucs2_name_with_diacritics(smsc: Simulator, dsn: str) -> None:
    text = f"TK,Nguyễn Thị Ánh Tuyết,{id_number(7)},01.02.1990"
    handle = smsc.send_mo(text, source=phone(7), data_coding=8)
    assert handle.wait_acked(WAIT_S)
    reply = the_reply(smsc, phone(7))
    assert reply.text is not None and id_number(7) in reply.text
    full_name, as_typed, *_ = account(dsn, id_number(7))  # type: ignore[misc]
    assert as_typed == "Nguyễn Thị Ánh Tuyết"
    assert full_name == "NGUYEN THI ANH TUYET"
    assert rows(dsn, "SELECT data_coding, text FROM inbound_sms") == [(8, text)]


@pytest.mark.parametrize("via", ["udh", "sar"])
def test_concatenated_mo_gets_one_reply(smsc: Simulator, dsn: str, via: str) -> None:
    name = "Ton That Thuyet Hoang Minh"
    handle = smsc.send_mo(reg_text(11, name), source=phone(11), via=via, parts=3)  # type: ignore[arg-type]
    assert len(handle.parts) == 3
    assert handle.wait_acked(WAIT_S), handle
    wait_replied(smsc, [phone(11)])
    wait_settled(dsn)
    [reply] = replies_to(smsc, phone(11))
    assert reply.text is not None and f"TK: {id_number(11)}," in reply.text
    full_name, as_typed, *_ = account(dsn, id_number(11))  # type: ignore[misc]
    assert (full_name, as_typed) == (name.upper(), name)
    assert rows(dsn, "SELECT outcome, text FROM inbound_sms") == [("ok", reg_text(11, name))]
    assert rows(dsn, "SELECT count(*) FROM inbound_part WHERE completed_at IS NOT NULL") == [(3,)]


def test_incomplete_concatenated_mo_gets_wrong_syntax_reply(smsc: Simulator, dsn: str,
                                                            worker: RunningWorker) -> None:
    handle = smsc.send_mo(reg_text(12), source=phone(12), via="udh", parts=3, send_parts=[1, 3])
    assert handle.wait_acked(WAIT_S), handle  # each stored part is acknowledged
    # Answered only after smpp.concat_timeout_s (1 s here) by the maintenance tick.
    wait_replied(smsc, [phone(12)], timeout=WAIT_S + worker.cfg.smpp.concat_timeout_s)
    wait_settled(dsn)
    [reply] = replies_to(smsc, phone(12))
    assert reply.text == expected(worker.cfg, Outcome.SYNTAX_ERROR)
    assert account(dsn, id_number(12)) is None
    assert rows(dsn, "SELECT outcome, reason FROM inbound_sms") == [("syntax_error", "incomplete")]


@pytest.mark.parametrize("kind", ["message_payload", "data_sm"])
def test_message_payload_and_data_sm(smsc: Simulator, dsn: str, kind: str) -> None:
    if kind == "data_sm":
        handle = smsc.send_mo(reg_text(21), source=phone(21), as_data_sm=True)
    else:
        handle = smsc.send_mo(reg_text(21), source=phone(21), via="message_payload")
    assert handle.wait_acked(WAIT_S), handle
    wait_replied(smsc, [phone(21)])
    wait_settled(dsn)
    [reply] = replies_to(smsc, phone(21))
    assert reply.text is not None and f"TK: {id_number(21)}," in reply.text
    assert account(dsn, id_number(21)) is not None


def test_delivery_receipts_settle_the_replies(smsc: Simulator, dsn: str) -> None:
    """Receipts (DELIVRD for even n, UNDELIV for odd n) come straight after each submit_sm_resp,
    as fast SMSCs send them: every reply row must end delivered or undeliverable."""
    numbers = range(31, 41)
    want = {phone(n): "delivered" if n % 2 == 0 else "undeliverable" for n in numbers}
    for n in numbers:
        if n % 2:
            smsc.set_receipt_state(phone(n), smsc_receipts.UNDELIVERABLE)
    handles = [smsc.send_mo(reg_text(n), source=phone(n)) for n in numbers]
    assert all(h.wait_acked(WAIT_S) for h in handles), handles
    counts = wait_replied(smsc, want)
    assert set(counts.values()) == {1}, counts
    ids = {r.destination: {m.lower() for m in r.message_ids} for r in smsc.replies}
    assert wait_for(lambda: len(smsc.receipts_sent) >= len(want) and all(
        r.delivery.done for r in smsc.receipts_sent))
    # The simulator saw every receipt accepted (deliver_sm_resp 0) ...
    assert {(r.destination, r.delivery.final_status) for r in smsc.receipts_sent} == {(p, 0) for p in want}
    assert all(r.message_id.lower() in ids[r.destination] for r in smsc.receipts_sent)

    def states() -> dict[str, str]:
        return dict(rows(dsn, "SELECT destination, state FROM outbound_sms"))
    # ... so the database must know what became of every reply (a few ms after each ack).
    wait_for(lambda: states() == want, RECEIPT_SETTLE_S)
    stuck = {p: s for p, s in states().items() if s != want[p]}
    assert not stuck, f"receipts acknowledged but not recorded: {stuck}"
    assert rows(dsn, "SELECT count(*) FROM outbound_sms WHERE final_at IS NULL") == [(0,)]


def test_redelivered_mo_is_answered_once(smsc: Simulator, dsn: str) -> None:
    # The identical bytes twice in quick succession: the SMSC re-sending an MO whose
    # deliver_sm_resp it did not see (or two SMSC nodes delivering the same message).
    first = smsc.send_mo(reg_text(41), source=phone(41))
    second = smsc.send_mo(reg_text(41), source=phone(41))
    assert first.wait_acked(WAIT_S) and second.wait_acked(WAIT_S)
    wait_replied(smsc, [phone(41)])
    # ...and once more after the reply went out, within registration.redelivery_window_s.
    third = smsc.send_mo(reg_text(41), source=phone(41))
    assert third.wait_acked(WAIT_S)
    wait_settled(dsn)
    assert rows(dsn, "SELECT count(*) FROM inbound_sms") == [(1,)]
    assert rows(dsn, "SELECT count(*) FROM outbound_sms") == [(1,)]
    wait_for(lambda: len(replies_to(smsc, phone(41))) > 1, 1.0)  # give a wrong second reply time to show
    [reply] = replies_to(smsc, phone(41))
    assert reply.text is not None and f"TK: {id_number(41)}," in reply.text
    assert smsc.duplicates == []


def test_late_part_after_incomplete_answer_is_not_answered_again(smsc: Simulator, dsn: str,
                                                                 worker: RunningWorker) -> None:
    """Part 2 turns up after the group was answered as incomplete: still one reply per message."""
    first = smsc.send_mo(reg_text(13), source=phone(13), via="udh", parts=2, send_parts=[1], reference=99)
    assert first.wait_acked(WAIT_S)
    wait_replied(smsc, [phone(13)], timeout=WAIT_S + worker.cfg.smpp.concat_timeout_s)
    late = smsc.send_mo(reg_text(13), source=phone(13), via="udh", parts=2, send_parts=[2], reference=99)
    assert late.wait_acked(WAIT_S)
    # Longer than concat_timeout_s plus a few maintenance ticks: a second answer would be out.
    wait_for(lambda: len(replies_to(smsc, phone(13))) > 1, 3 * worker.cfg.smpp.concat_timeout_s + 1)
    wait_settled(dsn)
    assert len(replies_to(smsc, phone(13))) == 1, [r.text for r in replies_to(smsc, phone(13))]


def test_concatenated_mo_redelivered_is_answered_once(smsc: Simulator, dsn: str) -> None:
    for _ in range(2):
        handle = smsc.send_mo(reg_text(14), source=phone(14), via="udh", parts=2, reference=42, ref16=True)
        assert handle.wait_acked(WAIT_S)
        wait_replied(smsc, [phone(14)])
    wait_settled(dsn)
    wait_for(lambda: len(replies_to(smsc, phone(14))) > 1, 1.0)
    assert len(replies_to(smsc, phone(14))) == 1
    assert rows(dsn, "SELECT count(*) FROM inbound_sms") == [(1,)]
