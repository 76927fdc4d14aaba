"""Delivery receipts: the deliver_sm an SMSC sends back when a submit_sm asked for one."""

from __future__ import annotations

import datetime

from smsreg.smsc import fastpath, pdus
from smsreg.smsc.records import Delivery, Submit

ENROUTE = 1
DELIVERED = 2
EXPIRED = 3
DELETED = 4
UNDELIVERABLE = 5
ACCEPTED = 6
UNKNOWN = 7
REJECTED = 8

# message_state (SMPP 3.4 §5.2.28) → the stat: word of the receipt text (§Appendix B).
STAT_WORDS = {
    ENROUTE: "ENROUTE", DELIVERED: "DELIVRD", EXPIRED: "EXPIRED", DELETED: "DELETED",
    UNDELIVERABLE: "UNDELIV", ACCEPTED: "ACCEPTD", UNKNOWN: "UNKNOWN", REJECTED: "REJECTD",
}  # fmt: skip
_RECEIPT_TEXT_CHARS = 20


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%y%m%d%H%M")


def receipt_text(message_id: str, state: int, submitted: datetime.datetime,
                 done: datetime.datetime, text: str) -> str:  # fmt: skip
    """The de-facto standard receipt body (SMPP 3.4 Appendix B)."""
    return _text(message_id, state, _stamp(submitted), _stamp(done), text)


def _text(message_id: str, state: int, submitted: str, done: str, text: str) -> str:
    delivered = state == DELIVERED
    return (
        f"id:{message_id} sub:001 dlvrd:{'001' if delivered else '000'}"
        f" submit date:{submitted} done date:{done}"
        f" stat:{STAT_WORDS.get(state, 'UNKNOWN')} err:{'000' if delivered else '001'}"
        f" text:{text[:_RECEIPT_TEXT_CHARS]}"
    )


def build_receipt(submit: Submit, text: str | None, state: int,
                  submitted: datetime.datetime) -> Delivery:  # fmt: skip
    """The deliver_sm (esm_class 0x04) reporting state for one accepted submit."""
    body_text = receipt_text(submit.message_id, state, submitted, datetime.datetime.now(), text or "")
    fields = pdus.SmFields(
        source=submit.destination,
        destination=submit.source,
        esm_class=pdus.ESM_RECEIPT,
        data_coding=0,
        # Receipt text is ASCII by convention; anything else in the quoted text becomes "?".
        short_message=body_text.encode("ascii", "replace"),
        tlvs={"receipted_message_id": submit.message_id, "message_state": state},
    )
    return Delivery(pdus.DELIVER_SM, pdus.deliver_sm_body(fields), kind="receipt")


def build_receipt_now(submit: Submit, text: str | None, state: int, stamp: str) -> Delivery:
    """build_receipt submitted and done at stamp (YYMMDDhhmm, see fastpath.MinuteStamp), for
    flood mode: the body is packed by fastpath.receipt_body, which the tests hold to be the
    same bytes as build_receipt's."""
    body_text = _text(submit.message_id, state, stamp, stamp, text or "")
    short_message = body_text.encode("ascii", "replace")
    body = fastpath.receipt_body(submit.destination, submit.source, short_message, submit.message_id, state)
    return Delivery(pdus.DELIVER_SM, body, kind="receipt")
