"""The project's SMSC simulator: an SMPP 3.4 server for end-to-end tests, demos and benchmarks.

    with Simulator(retry_delay_s=0.2) as smsc:
        ... bind an ESME to smsc.address ...
        handle = smsc.send_mo("TK,Nguyen Van A,048090012345,01.01.1990")
        assert handle.wait_acked(5)
        [reply] = smsc.wait_replies(1, timeout=5)
"""

from __future__ import annotations

from smsreg.smsc.flood import FloodResult
from smsreg.smsc.mo import MoSpec
from smsreg.smsc.records import Attempt, Counters, MoHandle, ReceiptSent, Reply, Submit
from smsreg.smsc.server import Simulator

__all__ = [
    "Attempt",
    "Counters",
    "FloodResult",
    "MoHandle",
    "MoSpec",
    "ReceiptSent",
    "Reply",
    "Simulator",
    "Submit",
]
