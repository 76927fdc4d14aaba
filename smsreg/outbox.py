"""The outbound queue in SQL: claim with SKIP LOCKED and a lease, then settle each claimed row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from smsreg import receipts, sql

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    destination: str
    body: str
    attempts: int
    mo_received_at: dt.datetime | None
    accepted_ids: tuple[str, ...] = ()  # per segment, '' where not yet accepted (see release_partly_sent)


def claim(conn: Conn, limit: int, worker: str, lease_s: float) -> list[Claimed]:
    with conn.transaction():
        conn.execute(sql.Q["supersede_stale_secrets"])
        rows = conn.execute(sql.Q["claim_outbound"], {"limit": limit, "worker": worker, "lease_s": lease_s})
        return [Claimed(int(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4],  # type: ignore[call-overload, arg-type]
                        tuple(r[5] or ()))  # type: ignore[arg-type]
                for r in rows.fetchall()]


def purge_early_receipts(conn: Conn) -> int:
    with conn.transaction():
        return conn.execute(sql.Q["purge_early_receipts"]).rowcount


def mark_submitted(conn: Conn, row_id: int, message_ids: list[str]) -> None:
    with conn.transaction():
        conn.execute(sql.Q["mark_submitted"], {"id": row_id, "message_ids": message_ids})


def mark_submitted_many(conn: Conn, rows: Sequence[tuple[int, Sequence[str]]]) -> None:
    """mark_submitted for every (row id, message ids) in one statement, in the caller's transaction."""
    ids, parts, message_ids = [], [], []
    for row_id, segment_ids in rows:
        for part, message_id in enumerate(segment_ids):
            ids.append(row_id)
            parts.append(part)
            message_ids.append(message_id)
    conn.execute(sql.Q["claim_receipt_keys"], {"message_ids": message_ids})
    conn.execute(sql.Q["mark_submitted_many"], {"ids": ids, "parts": parts, "message_ids": message_ids})


def release(conn: Conn, row_ids: list[int], delay_s: float, error: str) -> None:
    with conn.transaction():
        conn.execute(sql.Q["release_outbound"], {"ids": row_ids, "delay_s": delay_s, "error": error})


def release_partly_sent(conn: Conn, row_id: int, delay_s: float, error: str, accepted_ids: list[str]) -> None:
    """release() for a concatenated reply, remembering which segments were accepted."""
    with conn.transaction():
        conn.execute(sql.Q["release_partly_sent"], {"id": row_id, "delay_s": delay_s, "error": error,
                                                    "message_ids": accepted_ids})


def fail(conn: Conn, row_id: int, error: str) -> None:
    with conn.transaction():
        conn.execute(sql.Q["fail_outbound"], {"id": row_id, "error": error})


def record_receipt(conn: Conn, receipt: receipts.Receipt) -> int:
    """Mark the reply a receipt is about; the number of rows it matched now (0 for a stranger's,
    or for a reply not yet marked sent: the receipt is then applied when it is)."""
    if not receipt.message_id:
        return 0
    forms = receipts.id_forms(receipt.message_id)
    with conn.transaction():
        conn.execute(sql.Q["hold_receipts"], {"n": [0] * len(forms), "states": [receipt.row_state] * len(forms),
                                              "message_ids": forms})
        return conn.execute(sql.Q["record_receipt"], {"state": receipt.row_state, "message_ids": forms}).rowcount


def record_receipts(conn: Conn, found: Sequence[receipts.Receipt]) -> None:
    """record_receipt for every receipt in one statement, in the caller's transaction; a reply
    two receipts are about ends in the state of the later one."""
    n, states, message_ids = [], [], []
    for i, receipt in enumerate(found):
        if receipt.message_id:
            for form in receipts.id_forms(receipt.message_id):
                n.append(i)
                states.append(receipt.row_state)
                message_ids.append(form)
    if n:
        conn.execute(sql.Q["hold_receipts"], {"n": n, "states": states, "message_ids": message_ids})
        # One index probe per id is estimated dear enough to trigger JIT compilation (~20 ms, ten
        # times the statement itself): off for the rest of this transaction.
        conn.execute("SET LOCAL jit = off")
        conn.execute(sql.Q["record_receipts"], {"n": n, "states": states, "message_ids": message_ids})
