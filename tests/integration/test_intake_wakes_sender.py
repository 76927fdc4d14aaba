"""The intake wakes this worker's sender itself after each commit that queued replies: since
migration 0009 no trigger NOTIFYs (a NOTIFY serialises commits cluster-wide), so without this
call a reply would wait for the sender's once-a-second poll."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from smsreg import codec, config, db, inbound, metrics, pdus, register


def _mo(sequence: int, text: str, source: str) -> pdus.Incoming:
    return pdus.Incoming(sequence=sequence, command="deliver_sm", source_addr=source, source_ton=1,
                         dest_addr="8188", esm_class=0, data_coding=0, short_message=codec.encode_text(text, 0),
                         message_payload=None, sar=None, receipted_message_id=None, message_state=None)


def test_each_commit_of_mos_wakes_the_sender(cfg: config.Config, conn: psycopg.Connection[Any]) -> None:
    acks: list[tuple[int, int]] = []
    wakes: list[int] = []
    all_acked = threading.Event()

    def ack(link: int, mo: pdus.Incoming, status: int) -> bool:
        acks.append((mo.sequence, status))
        if len(acks) == 3:
            all_acked.set()
        return True

    def wake() -> None:
        wakes.append(len(acks))  # acks so far: the wake-up comes before the MOs' acks

    pool = db.make_pool(cfg.database, "test-intake", min_size=1, max_size=2)
    intake = inbound.Intake(cfg, pool, register.Registrar(cfg), ack, metrics.Metrics(), wake)
    intake.start()
    try:
        intake.offer(1, _mo(1, "nonsense", "84905000001"))
        intake.offer(1, _mo(2, "TK,Nguyen Van An,048090012345,01.02.1990", "84905000002"))
        intake.offer(1, _mo(3, "more nonsense", "84905000003"))
        assert all_acked.wait(30)
    finally:
        intake.close(5)
        pool.close()
    assert sorted(acks) == [(1, 0), (2, 0), (3, 0)]
    assert wakes and wakes[0] == 0  # woken after the first commit, before its MOs were acknowledged
    assert conn.execute("SELECT count(*) FROM outbound_sms WHERE state = 'queued'").fetchone() == (3,)
