"""The sender's and the intake's group statements do what the one-row statements do:
mark_submitted_many as mark_submitted for each row, record_receipts as record_receipt for each
receipt in order (the later receipt about a reply wins)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from smsreg import codec, config, outbox, receipts, register

NOW = dt.datetime.now(dt.UTC)


def replies(cfg: config.Config, conn: psycopg.Connection[Any], n: int, text: str = "nonsense") -> list[int]:
    registrar = register.Registrar(cfg)
    for i in range(n):
        body = text.format(i)
        mo = register.Mo(f"8490500{i:04d}", "8188", 0, codec.encode_text(body, 0), NOW)
        registrar.commit(conn, registrar.prepare(mo))
    return [row.id for row in outbox.claim(conn, 100, "s", lease_s=30)]


def table(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT id, state, smsc_message_ids, body, secret, sent_at IS NOT NULL, "
                        "final_at IS NOT NULL, claimed_by FROM outbound_sms ORDER BY id").fetchall()


def test_mark_submitted_many_is_mark_submitted_for_each(cfg: config.Config, conn: psycopg.Connection[Any]) -> None:
    ids = replies(cfg, conn, 4, "TK,Nguyen Van An,0480900{0:05d},01.02.1990")  # with passwords
    sent = {ids[0]: ["a1"], ids[1]: ["b1", "b2", "b3"], ids[2]: ["c1"]}
    with conn.transaction():
        outbox.mark_submitted_many(conn, list(sent.items()))
    rows = {r[0]: r for r in table(conn)}
    for row_id, message_ids in sent.items():  # what mark_submitted(row_id, message_ids) leaves
        assert rows[row_id][1:3] == ("sent", message_ids) and rows[row_id][5]
        assert rows[row_id][4] is None and "MK: ********" in rows[row_id][3] and rows[row_id][7] is None
    assert rows[ids[3]][1] == "sending" and rows[ids[3]][4] is not None  # not in the group: untouched


def test_record_receipts_is_record_receipt_in_order(cfg: config.Config, conn: psycopg.Connection[Any]) -> None:
    ids = replies(cfg, conn, 4)
    for row_id, message_ids in zip(ids, (["1a2b3c"], ["aa01", "aa02"], ["0c0c"], ["dd"]), strict=True):
        outbox.mark_submitted(conn, row_id, message_ids)
    found = [receipts.Receipt(str(0x1A2B3C), "delivered"),   # decimal form of a hex id
             receipts.Receipt("aa01", "delivered"), receipts.Receipt("AA02", "undeliverable"),  # later wins
             receipts.Receipt("ffff", "delivered"),           # a stranger's
             receipts.Receipt(None, "delivered"),
             receipts.Receipt("0c0c", "expired")]
    with conn.transaction():
        outbox.record_receipts(conn, found)
    grouped = table(conn)
    conn.execute("UPDATE outbound_sms SET state = 'sent', final_at = NULL")
    for receipt in found:
        outbox.record_receipt(conn, receipt)
    assert [r[:3] for r in grouped] == [r[:3] for r in table(conn)]
    assert [r[1] for r in grouped] == ["delivered", "undeliverable", "undeliverable", "sent"]
