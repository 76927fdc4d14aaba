"""Protocol fuzzing: malformed and unusual PDUs written onto the link (Simulator.send_raw) while
a stream of MOs flows. The worker must answer what SMPP 3.4 says (generic_nack for an unknown
command id, an error status or generic_nack for a body that does not decode, nothing for a
response or an alert_notification), keep the link when the stream is still in step, drop and
rebuild it only when it is not, and lose nothing of the stream."""

from __future__ import annotations

import datetime as dt
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from smsreg import register
from smsreg.smsc import pdus as sp
from tests.faults import stream, workers
from tests.faults.harness import Harness
from tests.faults.stream import RecordingSimulator

pytestmark = pytest.mark.slow

ANSWER_WAIT_S = 5.0
SILENT_WAIT_S = 1.0
SEQ_BASE = 0x70000000
DELIVER_SM_RESP = sp.DELIVER_SM | sp.RESP_BIT
DATA_SM_RESP = sp.DATA_SM | sp.RESP_BIT
ESME_RINVCMDID = sp.ESME_RINVCMDID


class Tap:
    """Every PDU the ESMEs send the simulator: (command_id, status, sequence, link)."""

    def __init__(self, smsc: RecordingSimulator) -> None:
        self.seen: list[tuple[int, int, int, int]] = []
        protocol = smsc._protocol  # the object every link hands its frames to
        original = protocol.on_frame

        def on_frame(link: Any, frame: bytes) -> None:
            _, command_id, status, sequence = sp.header(frame)
            self.seen.append((command_id, status, sequence, link.link_id))
            original(link, frame)

        protocol.on_frame = on_frame  # type: ignore[method-assign]

    def answer(self, sequence: int, timeout: float) -> tuple[int, int] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for command_id, status, seq, _ in list(self.seen):
                if seq == sequence:
                    return command_id, status
            time.sleep(0.02)
        return None


@dataclass(frozen=True)
class Case:
    name: str
    pdu: Callable[[int], bytes]
    # "error": an error response or generic_nack; "stored": deliver_sm_resp 0 and the MO stored;
    # "nack_cmdid": generic_nack ESME_RINVCMDID; "silent": no answer; "resp0": a response, status 0
    expect: str
    key: bytes | None = None


def _mo_body(text: bytes, *, source: str, coding: int = 0, tlvs: bytes = b"") -> bytes:
    return sp.deliver_sm_body(sp.SmFields(source=source, destination="8188", data_coding=coding,
                                          short_message=text)) + tlvs


def _key(source: str, coding: int, payload: bytes) -> bytes:
    return register.redelivery_key(register.Mo(source, "8188", coding, payload, dt.datetime.now(dt.UTC)))


def _with_sm_length(body: bytes, text: bytes, value: int) -> bytes:
    at = body.index(text) - 1
    return body[:at] + bytes((value,)) + body[at + 1:]


def cases() -> list[Case]:
    reg = stream.reg_text(900_001).encode()
    src_tlv, src_dc, src_big = stream.phone(900_001), stream.phone(900_002), stream.phone(900_003)
    big = b"TK,abc " + b"x" * 248
    vendor_tlvs = struct.pack(">HH", 0x1401, 4) + b"abcd" + struct.pack(">HH", 0x7777, 2) + b"xy"
    ok_body = _mo_body(b"TK,abc", source=stream.phone(900_004))
    return [
        Case("unknown_command", lambda s: sp.pack(0x00000999, s), "nack_cmdid"),
        Case("unknown_response", lambda s: sp.pack(0x80000999, s), "silent"),
        Case("generic_nack_from_smsc", lambda s: sp.pack(sp.GENERIC_NACK, s, status=3), "silent"),
        Case("alert_notification", lambda s: sp.pack(0x00000102, s, b"\x01\x01849\x00\x01\x01123\x00"), "silent"),
        Case("enquire_link", lambda s: sp.pack(sp.ENQUIRE_LINK, s), "resp0"),
        Case("submit_sm_to_esme", lambda s: sp.pack(sp.SUBMIT_SM, s, ok_body), "error"),
        Case("bind_to_esme", lambda s: sp.pack(sp.BIND_TRANSCEIVER, s, b"x\x00y\x00\x00\x34\x00\x00\x00"), "error"),
        Case("deliver_sm_empty_body", lambda s: sp.pack(sp.DELIVER_SM, s), "error"),
        Case("deliver_sm_truncated", lambda s: sp.pack(sp.DELIVER_SM, s, ok_body[:7]), "error"),
        Case("deliver_sm_unterminated_address", lambda s: sp.pack(sp.DELIVER_SM, s, b"\x00\x01\x01" + b"8490" * 5),
             "error"),
        Case("deliver_sm_sm_length_overrun", lambda s: sp.pack(sp.DELIVER_SM, s,
                                                               _with_sm_length(ok_body, b"TK,abc", 200)), "error"),
        Case("deliver_sm_tlv_overrun", lambda s: sp.pack(sp.DELIVER_SM, s,
                                                         ok_body + struct.pack(">HH", 0x0424, 50) + b"abc"), "error"),
        Case("deliver_sm_tlv_header_cut", lambda s: sp.pack(sp.DELIVER_SM, s, ok_body + b"\x04\x24\x00"), "error"),
        Case("data_sm_truncated", lambda s: sp.pack(sp.DATA_SM, s, b"\x00\x01"), "error"),
        Case("deliver_sm_unknown_tlvs", lambda s: sp.pack(sp.DELIVER_SM, s, _mo_body(reg, source=src_tlv,
                                                                                     tlvs=vendor_tlvs)),
             "stored", _key(src_tlv, 0, reg)),
        Case("deliver_sm_invalid_data_coding", lambda s: sp.pack(sp.DELIVER_SM, s, _mo_body(reg, source=src_dc,
                                                                                            coding=0xF7)),
             "stored", _key(src_dc, 0xF7, reg)),
        Case("deliver_sm_short_message_255", lambda s: sp.pack(sp.DELIVER_SM, s, _mo_body(big, source=src_big)),
             "stored", _key(src_big, 0, big)),
    ]


LINK_KILLERS = (
    ("command_length_8", struct.pack(">LLLL", 8, sp.ENQUIRE_LINK, 0, SEQ_BASE + 900)),
    ("command_length_huge", struct.pack(">LLLL", 0xFFFFFFFF, sp.DELIVER_SM, 0, SEQ_BASE + 901)),
    ("command_length_lies", struct.pack(">LLLL", 4000, sp.DELIVER_SM, 0, SEQ_BASE + 902) + b"\x00" * 20),
)


def _verdict(case: Case, answer: tuple[int, int] | None) -> str | None:
    """None when the answer is what SMPP says for this case, else what went wrong."""
    if case.expect == "silent":
        return None if answer is None else f"answered {answer} to a PDU that has no response"
    if answer is None:
        return "no answer"
    command_id, status = answer
    if case.expect == "nack_cmdid":
        return None if answer == (sp.GENERIC_NACK, ESME_RINVCMDID) else f"answered {answer}"
    if case.expect == "resp0":
        return None if command_id & sp.RESP_BIT and status == 0 else f"answered {answer}"
    if case.expect == "stored":
        return None if answer == (DELIVER_SM_RESP, 0) else f"answered {answer}"
    error = command_id == sp.GENERIC_NACK or (command_id & sp.RESP_BIT and status != 0)
    return None if error else f"answered {answer}: accepted a PDU that does not decode"


def test_malformed_pdus_answered_and_nothing_lost(smsc: RecordingSimulator, dsn: str,
                                                  workers_of: Callable[[str], workers.Workers],
                                                  result_line: list[str]) -> None:
    tap = Tap(smsc)
    h = Harness("protocol_fuzz", smsc, dsn, workers_of(dsn), result_line)
    worker = h.workers.spawn("a")
    assert smsc.wait_bound(1, 20), worker.tail()
    feeder = h.feed(stream.mixed_stream(300, seed=23), 40.0)
    wrong: list[str] = []
    stored: list[bytes] = []
    for n, case in enumerate(cases()):
        binds = smsc.counters.binds
        seq = SEQ_BASE + n
        assert smsc.send_raw(case.pdu(seq)) >= 1, "no link to write to"
        answer = tap.answer(seq, SILENT_WAIT_S if case.expect == "silent" else ANSWER_WAIT_S)
        problem = _verdict(case, answer)
        if problem:
            wrong.append(f"{case.name}: {problem}")
        if smsc.counters.binds != binds:
            wrong.append(f"{case.name}: the link was rebuilt although the stream was still in step")
        if case.key is not None:
            stored.append(case.key)
    rebinds = 0
    for name, raw in LINK_KILLERS:
        binds = smsc.counters.binds
        assert smsc.send_raw(raw) >= 1
        if not workers.wait_for(lambda b=binds: smsc.counters.binds > b and smsc.bound_count >= 1, 15):
            wrong.append(f"{name}: the link was not rebuilt")
        rebinds += 1
    h.extra.update(cases=len(cases()), wrong=len(wrong), rebinds=rebinds)
    h.problems.extend(wrong)
    h.finish(feeder, expected_extra=stored)
