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
    """Up to limit due rows, marked sending under a lease (committed); see claim_within."""
    with conn.transaction():
        return claim_within(conn, limit, worker, lease_s)


def claim_within(conn: Conn, limit: int, worker: str, lease_s: float) -> list[Claimed]:
    """claim() in the caller's transaction. Password SMS whose password has moved on since they
    were queued are failed here instead of claimed (supersede_stale_secrets)."""
    # The claim walks outbound_claim_idx in order, so that the entries of rows sent since the
    # last vacuum are marked dead as it passes them and skipped from then on. A bitmap scan
    # (the planner's pick with stale statistics) revisits every one of them on every claim.
    conn.execute("SET LOCAL enable_bitmapscan = off")
    rows = conn.execute(sql.Q["claim_outbound"],
                        {"limit": limit, "worker": worker, "lease_s": lease_s}).fetchall()
    with_secret = [r[0] for r in rows if r[6]]
    if with_secret:
        superseded = {r[0] for r in conn.execute(sql.Q["supersede_stale_secrets"], {"ids": with_secret})}
        rows = [r for r in rows if r[0] not in superseded]
    return [Claimed(int(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4],  # type: ignore[call-overload, arg-type]
                    tuple(r[5] or ()))  # type: ignore[arg-type]
            for r in rows]


def wake_senders(conn: Conn) -> None:
    """Ask every running sender to claim now (at the commit of the caller's transaction)
    rather than at its next poll: for rows queued outside a worker (expire, inject)."""
    conn.execute(sql.Q["wake_senders"])


def purge_early_receipts(conn: Conn) -> int:
    """Forget receipts held for more than a day (no reply of ours has their id); how many."""
    with conn.transaction():
        return conn.execute(sql.Q["purge_early_receipts"]).rowcount


def mark_submitted(conn: Conn, row_id: int, message_ids: list[str]) -> None:
    """mark_submitted_many for one row, committed."""
    with conn.transaction():
        mark_submitted_many(conn, [(row_id, message_ids)])


def mark_submitted_many(conn: Conn, rows: Sequence[tuple[int, Sequence[str]]]) -> None:
    """Mark every (row id, message ids) sent, in the caller's transaction; a receipt already held
    for one of the ids gives its row the final state at once."""
    ids, parts, message_ids = [], [], []
    for row_id, segment_ids in rows:
        for part, message_id in enumerate(segment_ids):
            ids.append(row_id)
            parts.append(part)
            message_ids.append(message_id)
    _lock_message_ids(conn, message_ids)
    conn.execute(sql.Q["mark_submitted_many"], {"ids": ids, "parts": parts, "message_ids": message_ids})


def _lock_message_ids(conn: Conn, message_ids: list[str]) -> None:
    """The rendezvous of a mark and a receipt about the same id: a receipt can arrive while its
    reply is being marked sent, each transaction blind to the other's uncommitted row. Both lock
    the ids first (lock_message_ids), so the later one waits for the earlier one's commit and
    then sees its row: the receipt finds the reply marked, or the mark finds the receipt held."""
    conn.execute(sql.Q["lock_message_ids"], {"message_ids": message_ids})


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
    """Apply one receipt (committed); the number of replies it matched now (0 for a stranger's,
    or for a reply not yet marked sent: the receipt is then applied when it is)."""
    with conn.transaction():
        return record_receipts(conn, [receipt])


def record_receipts(conn: Conn, found: Sequence[receipts.Receipt]) -> int:
    """Apply every receipt in one statement, in the caller's transaction; a reply two receipts are
    about ends in the state of the later one. A receipt about a reply not yet marked sent is held
    until it is. Returns the number of replies updated."""
    n, states, message_ids = [], [], []
    for i, receipt in enumerate(found):
        if receipt.message_id:
            for form in receipts.id_forms(receipt.message_id):
                n.append(i)
                states.append(receipt.row_state)
                message_ids.append(form)
    if not n:
        return 0
    _lock_message_ids(conn, message_ids)
    row = conn.execute(sql.Q["record_receipts"], {"n": n, "states": states, "message_ids": message_ids}).fetchone()
    assert row is not None and isinstance(row[0], int)
    return row[0]
