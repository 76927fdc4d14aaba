"""An MO that waited in the worker's queue longer than smpp.response_timeout_s is answered with
the temporary status without being processed (the SMSC has given up on that copy and delivers
it again). Before, a backlog flushed at bind never drained: every ack came after the SMSC's
timer, every redelivery paid a password hash again (tests/faults/test_backlog.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

from smsreg import config, inbound, metrics, pdus, register

TEMP = 0x64


class _Pool:
    """Stands in for the connection pool: counts every request for a connection."""

    def __init__(self) -> None:
        self.asked = 0

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        self.asked += 1
        raise RuntimeError("no database in this test")


def _mo(sequence: int) -> pdus.Incoming:
    return pdus.Incoming(sequence=sequence, command="deliver_sm", source_addr="84901234567", source_ton=1,
                         dest_addr="8188", esm_class=0, data_coding=0, short_message=b"TK,abc",
                         message_payload=None, sar=None, receipted_message_id=None, message_state=None)


def _intake(pool: _Pool, acks: list[tuple[int, int]], done: threading.Event) -> inbound.Intake:
    cfg = config.load("/dev/null", {"SMSREG_SMPP_RESPONSE_TIMEOUT_S": "0.3", "SMSREG_SMPP_WORKERS": "1",
                                    "SMSREG_DATABASE_RETRY_BUDGET_S": "0",
                                    "SMSREG_PASSWORDS_TIME_COST": "1", "SMSREG_PASSWORDS_MEMORY_KIB": "64"})

    def ack(link: int, mo: pdus.Incoming, status: int) -> bool:
        acks.append((mo.sequence, status))
        done.set()
        return True

    return inbound.Intake(cfg, pool, register.Registrar(cfg), ack, metrics.Metrics(),  # type: ignore[arg-type]
                          lambda: None)


def test_an_mo_queued_past_the_response_timer_is_not_processed() -> None:
    pool, acks, done = _Pool(), [], threading.Event()
    intake = _intake(pool, acks, done)
    intake.offer(1, _mo(41))
    time.sleep(0.5)  # no worker thread yet: the MO waits in the queue past the 0.3 s timer
    intake.start()
    try:
        assert done.wait(5)
    finally:
        intake.close(2)
    assert acks == [(41, TEMP)]
    assert pool.asked == 0


def test_a_fresh_mo_is_processed() -> None:
    pool, acks, done = _Pool(), [], threading.Event()
    intake = _intake(pool, acks, done)
    intake.start()
    try:
        intake.offer(1, _mo(42))
        assert done.wait(5)
    finally:
        intake.close(2)
    assert pool.asked >= 1  # it went for the database (which this test does not have)
