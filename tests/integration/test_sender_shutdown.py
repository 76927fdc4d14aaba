"""Sender.close() while a claim is under way: the rows of that claim are sent and their
responses awaited, not released (before, close() saw no row in flight, stopped the thread, and
the thread released the row it had just submitted: the next worker sent the reply again)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import psycopg
import pytest

from smsreg import codec, config, db, metrics, outbox, register, sender, session

SUBMIT_SEQ = 7


class _Handler:
    def on_incoming(self, link: int, mo: object) -> None: ...
    def on_submit_resp(self, link: int, sequence: int, status: int | None, message_id: str | None) -> None: ...
    def on_link_down(self, link: int) -> None: ...


def test_close_waits_for_a_claim_under_way(cfg: config.Config, conn: psycopg.Connection[Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    registrar = register.Registrar(cfg)
    mo = register.Mo("84905000001", "8188", 0, codec.encode_text("not a registration", 0),
                     dt.datetime.now(dt.UTC))
    registrar.commit(conn, registrar.prepare(mo))
    conn.commit()

    claimed, proceed, submitted = threading.Event(), threading.Event(), threading.Event()
    original_claim = outbox.claim_within

    def slow_claim(*args: Any, **kwargs: Any) -> list[outbox.Claimed]:
        rows = original_claim(*args, **kwargs)
        if rows:
            claimed.set()
            proceed.wait(5)  # close() is called while this claim is under way
        return rows

    monkeypatch.setattr(outbox, "claim_within", slow_claim)
    link = session.Session(cfg.smpp, _Handler(), metrics.Metrics(), threading.Event())
    link.bound.set()

    def submit(**fields: object) -> tuple[int, int]:
        submitted.set()
        return 1, SUBMIT_SEQ

    monkeypatch.setattr(link, "submit", submit)
    pool = db.make_pool(cfg.database, "test-sender", min_size=1, max_size=3)
    try:
        out = sender.Sender(cfg, pool, link, metrics.Metrics(), "test")
        out.start()
        assert claimed.wait(10)
        closing = threading.Thread(target=out.close, args=(5.0,))
        closing.start()
        threading.Event().wait(0.3)
        proceed.set()
        assert submitted.wait(5)
        threading.Event().wait(0.3)
        out.on_submit_resp(1, SUBMIT_SEQ, 0, "0a1b2c")  # the SMSC accepted it
        closing.join(10)
        assert not closing.is_alive()
    finally:
        pool.close()
    [(state, ids)] = conn.execute("SELECT state, smsc_message_ids FROM outbound_sms").fetchall()
    assert (state, ids) == ("sent", ["0a1b2c"])


def test_a_settlement_that_waited_past_the_lease_is_not_claimed_again(
        cfg: config.Config, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply accepted by the SMSC whose settlement waited longer than the lease (a database
    outage): settling and claiming share one transaction, and the settlement must come first,
    or the claim takes the still-'sending' row and the citizen gets the reply twice."""
    registrar = register.Registrar(cfg)
    mo = register.Mo("84905000002", "8188", 0, codec.encode_text("not a registration", 0),
                     dt.datetime.now(dt.UTC))
    registrar.commit(conn, registrar.prepare(mo))
    [row] = outbox.claim(conn, 10, "test", lease_s=30)
    conn.execute("UPDATE outbound_sms SET claimed_at = now() - interval '1 hour'")  # lease long gone
    conn.commit()

    link = session.Session(cfg.smpp, _Handler(), metrics.Metrics(), threading.Event())
    link.bound.set()
    submitted: list[object] = []
    monkeypatch.setattr(link, "submit", lambda **fields: submitted.append(fields) or (1, len(submitted)))
    pool = db.make_pool(cfg.database, "test-sender", min_size=1, max_size=2)
    try:
        out = sender.Sender(cfg, pool, link, metrics.Metrics(), "test")
        out._done.append(sender._Row(row, parts=1, message_ids={0: "0a1b2c"}))  # accepted, not settled
        out._claim_and_send()
    finally:
        pool.close()
    assert submitted == []
    assert conn.execute("SELECT state, smsc_message_ids FROM outbound_sms").fetchall() == [("sent", ["0a1b2c"])]
