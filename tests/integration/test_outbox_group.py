"""The group statements do what the one-row statements do: record_receipts as record_receipt
for each receipt in order (the later receipt about a reply wins)."""

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
