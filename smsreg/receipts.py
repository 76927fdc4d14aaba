"""Delivery receipts (pure): which reply they are about and what became of it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from smsreg import pdus

# SMPP 3.4 §5.2.28 message_state values.
_STATE_BY_CODE = {2: "delivered", 3: "expired", 4: "deleted", 5: "undeliverable", 8: "rejected"}
_STATE_BY_TEXT = {"DELIVRD": "delivered", "EXPIRED": "expired", "DELETED": "deleted",
                  "UNDELIV": "undeliverable", "REJECTD": "rejected"}
_FIELD = re.compile(rb"(?i)\b(id|stat):\s*([A-Za-z0-9_-]+)")
FINAL_STATES = ("delivered", "expired", "deleted", "undeliverable", "rejected", "unknown")


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str | None
    state: str              # one of FINAL_STATES

    @property
    def row_state(self) -> str:
        """outbound_sms.state: delivered, or undeliverable for every other final state."""
        return "delivered" if self.state == "delivered" else "undeliverable"


def parse(mo: pdus.Incoming) -> Receipt:
    """TLVs first (receipted_message_id, message_state), the `id:… stat:…` text as fallback."""
    fields = {k.decode("ascii").lower(): v.decode("ascii") for k, v in _FIELD.findall(mo.user_data)}
    message_id = mo.receipted_message_id or fields.get("id")
    state = _STATE_BY_CODE.get(mo.message_state or -1) or _STATE_BY_TEXT.get(fields.get("stat", "").upper())
    return Receipt(message_id.strip() if message_id else None, state or "unknown")


def id_forms(message_id: str) -> list[str]:
    """The forms an SMSC may use for one id: as given, lowercase, hex↔decimal (SMPP 3.4 receipts
    often carry the decimal form of a hex submit_sm_resp id, or the reverse)."""
    forms = {message_id, message_id.lower()}
    if re.fullmatch(r"[0-9]{1,20}", message_id):
        forms.add(format(int(message_id), "x"))
    if re.fullmatch(r"[0-9A-Fa-f]{1,16}", message_id):
        forms.add(str(int(message_id, 16)))
    return sorted(forms)
