"""MO delivery: acknowledgement, redelivery, round robin, concatenation, data_sm."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from smsreg import codec
from smsreg.smsc import Simulator, pdus
from smsreg.smsc.records import ANSWERED, LINK_LOST, TIMEOUT
from tests.smsc.conftest import WAIT_S
from tests.smsc.esme import Esme

REGISTRATION = "TK,Hòa Nguyen,048090012345,01.01.1990"  # "ò" is in the GSM basic table


def statuses(*values: int | None) -> Callable[[Any], int | None]:
    """A status_for answering with values in turn, then 0 for ever."""
    answers: Iterator[int | None] = itertools.chain(values, itertools.repeat(0))
    return lambda _pdu: next(answers)


def test_mo_is_delivered_and_acked(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo(REGISTRATION, source="84905123456")
    assert handle.wait_acked(WAIT_S)
    [pdu] = esme.received
    assert (pdu.source_addr, pdu.destination_addr, pdu.source_addr_ton) == (b"84905123456", b"8188", 1)
    assert pdu.data_coding == 0
    assert codec.decode_mo(pdu.short_message, 0) == REGISTRATION
    assert handle.statuses == [0] and handle.sequences == [pdu.sequence]
    assert smsc.mo_log == [handle] and handle.final_status == 0


def test_mo_sent_before_any_bind_waits_for_one(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    handle = smsc.send_mo("TK,A")
    assert not handle.wait_done(0.3)
    connect()
    assert handle.wait_acked(WAIT_S)


def test_temporary_error_is_redelivered(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    esme = connect(status_for=statuses(pdus.ESME_RX_T_APPN))
    handle = smsc.send_mo("TK,A")
    assert handle.wait_acked(WAIT_S)
    assert handle.statuses == [pdus.ESME_RX_T_APPN, 0]
    first, second = esme.received
    assert first.sequence != second.sequence and first.short_message == second.short_message
    assert smsc.counters.mo_retries == 1


def test_missing_response_is_redelivered(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    connect(status_for=statuses(None))
    handle = smsc.send_mo("TK,A")
    assert handle.wait_acked(WAIT_S)
    assert [a.outcome for a in handle.attempts] == [TIMEOUT, ANSWERED]
    assert handle.statuses == [None, 0]


def test_retries_are_bounded(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    connect(status_for=lambda _pdu: pdus.ESME_RX_T_APPN)
    handle = smsc.send_mo("TK,A")
    assert handle.wait_done(WAIT_S)
    assert not handle.acked
    assert handle.final_status == pdus.ESME_RX_T_APPN
    assert len(handle.attempts) == 1 + 3  # the fixture's max_retries
    assert smsc.counters.mo_failed == 1


def test_mo_in_flight_on_a_dropped_link_goes_to_the_next_bind(smsc: Simulator,
                                                             connect: Callable[..., Esme]) -> None:  # fmt: skip
    first = connect(status_for=lambda _pdu: None)  # reads, never answers
    handle = smsc.send_mo("TK,A")
    first.wait_received(1, WAIT_S)
    assert smsc.drop_links() == 1
    assert first.disconnected.wait(WAIT_S)
    second = connect()
    assert handle.wait_acked(WAIT_S)
    assert [a.outcome for a in handle.attempts] == [LINK_LOST, ANSWERED]
    assert len(second.received) == 1


def test_mos_are_shared_round_robin(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    one, two = connect(), connect()
    assert smsc.wait_bound(2, WAIT_S)  # both counted before the first MO picks a link
    handles = [smsc.send_mo(f"TK,{n}", source=f"8490500000{n}") for n in range(4)]
    assert all(h.wait_acked(WAIT_S) for h in handles)
    assert len(one.received) == len(two.received) == 2


def _ucs2_text() -> str:
    return "TK,Công Tằng Tôn Nữ Thị Bích Ngọc,046197056786,09.09.1997 " * 2


def test_concatenated_mo_with_udh(smsc: Simulator, esme: Esme) -> None:
    text = _ucs2_text()
    handle = smsc.send_mo(text, data_coding=8, via="udh")
    assert handle.wait_acked(WAIT_S)
    parts = [codec.split_udh(p.short_message) for p in esme.received]
    assert len(parts) == 2 and all(p.esm_class & pdus.ESM_UDHI for p in esme.received)
    assert [(c.total, c.seq) for c, _ in parts if c] == [(2, 1), (2, 2)]
    assert codec.decode_mo(b"".join(data for _, data in parts), 8) == text


def test_concatenated_mo_with_16_bit_reference(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo("TK,A,048090012345,01.01.1990", via="udh", parts=3, reference=0x1234, ref16=True)
    assert handle.wait_acked(WAIT_S)
    concats = [codec.split_udh(p.short_message)[0] for p in esme.received]
    assert [(c.reference, c.total, c.seq) for c in concats if c] == [(0x1234, 3, n) for n in (1, 2, 3)]


def test_concatenated_mo_with_sar_tlvs(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo("TK,A,048090012345,01.01.1990", via="sar", parts=2, reference=300)
    assert handle.wait_acked(WAIT_S)
    sar = [(p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in esme.received]
    assert sar == [(300, 2, 1), (300, 2, 2)]
    assert b"".join(p.short_message for p in esme.received) == b"TK,A,048090012345,01.01.1990"


def test_only_some_parts_can_be_sent(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo("TK,A,048090012345,01.01.1990", via="udh", parts=2, send_parts=[2])
    assert handle.wait_acked(WAIT_S)
    [pdu] = esme.received
    concat, _ = codec.split_udh(pdu.short_message)
    assert concat is not None and (concat.total, concat.seq) == (2, 2)


def test_message_payload_tlv(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo("TK,A", via="message_payload")
    assert handle.wait_acked(WAIT_S)
    [pdu] = esme.received
    assert pdu.message_payload == b"TK,A" and not pdu.short_message


def test_data_sm_mode(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo("TK,A", as_data_sm=True)
    assert handle.wait_acked(WAIT_S)
    [pdu] = esme.received
    assert pdu.command == "data_sm" and pdu.message_payload == b"TK,A"


def test_raw_payload_is_sent_as_is(smsc: Simulator, esme: Esme) -> None:
    handle = smsc.send_mo(payload=b"\x00\xff\x1b", data_coding=4)
    assert handle.wait_acked(WAIT_S)
    assert esme.received[0].short_message == b"\x00\xff\x1b" and esme.received[0].data_coding == 4


def test_a_lowered_response_timeout_fires_before_earlier_longer_ones() -> None:
    # Response timers are kept in sending order; a shorter timeout than the last one's must
    # still fire on time (it goes to the heap instead).
    with Simulator(response_timeout_s=30, retry_delay_s=0.2, max_retries=0) as smsc:
        esme = Esme(smsc.address, status_for=lambda _pdu: None).bind()
        try:
            slow = smsc.send_mo("TK,slow", source="84900000001")
            esme.wait_received(1, WAIT_S)
            smsc._dispatcher.response_timeout_s = 0.3
            fast = smsc.send_mo("TK,fast", source="84900000002")
            assert fast.wait_done(WAIT_S)
            assert [a.outcome for a in fast.attempts] == [TIMEOUT] and fast.final_status is None
            assert not slow.done
        finally:
            esme.close()
