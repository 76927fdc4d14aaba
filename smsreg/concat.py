"""Concatenated MOs: each part is stored (and only then acknowledged); the part that
completes a group registers the joined message in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from smsreg import parse, register, sql

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Part:
    source_addr: str
    dest_addr: str
    reference: int
    total: int
    seq: int
    data_coding: int
    payload: bytes          # this part's user data, UDH removed
    received_at: dt.datetime
    source_ton: int | None = None

    def group(self) -> dict[str, object]:
        return {"source_addr": self.source_addr, "dest_addr": self.dest_addr,
                "reference": self.reference, "total": self.total}


class Reassembler:
    def __init__(self, registrar: register.Registrar) -> None:
        self._registrar = registrar

    def add(self, conn: Conn, part: Part) -> register.Result | None:
        """Store one part and commit; the joined message's Result when this part completed it."""
        with conn.transaction():
            conn.execute(sql.Q["lock_part_group"], part.group())
            stored = conn.execute(sql.Q["insert_part"], {
                **part.group(), "seq": part.seq, "source_ton": part.source_ton,
                "data_coding": part.data_coding, "payload": part.payload,
                "received_at": part.received_at}).fetchone()
            if stored is None or stored[0]:
                return None  # a redelivered part, or a late one of a group already answered
            rows = conn.execute(sql.Q["open_group_parts"], part.group()).fetchall()
            if len(rows) < part.total:
                return None
            return self._complete(conn, part.group(), rows, None)

    def expire(self, conn: Conn, timeout_s: float) -> list[register.Result]:
        """Answer every group still incomplete after timeout_s with the wrong-syntax reply."""
        results = []
        for source_addr, dest_addr, reference, total in conn.execute(
                sql.Q["expired_groups"], {"timeout_s": timeout_s}).fetchall():
            group = {"source_addr": source_addr, "dest_addr": dest_addr, "reference": reference, "total": total}
            with conn.transaction():
                conn.execute(sql.Q["lock_part_group"], group)
                rows = conn.execute(sql.Q["open_group_parts"], group).fetchall()
                if rows:
                    results.append(self._complete(conn, group, rows, parse.SyntaxFailure("incomplete")))
        return results

    def purge(self, conn: Conn, keep_s: float) -> int:
        with conn.transaction():
            return conn.execute(sql.Q["purge_parts"], {"keep_s": keep_s}).rowcount

    def _complete(self, conn: Conn, group: dict[str, object], rows: list[tuple[object, ...]],
                  failure: parse.SyntaxFailure | None) -> register.Result:
        # Hashing inside this transaction holds the group lock ~20 ms; concatenated
        # registrations are rare enough for that to be the simpler trade.
        first = rows[0]
        mo = register.Mo(source_addr=str(group["source_addr"]), dest_addr=str(group["dest_addr"]),
                         data_coding=int(first[2]),  # type: ignore[call-overload]
                         payload=b"".join(bytes(r[1]) for r in rows),  # type: ignore[call-overload]
                         received_at=first[4],  # type: ignore[arg-type]
                         source_ton=None if first[3] is None else int(first[3]))  # type: ignore[call-overload]
        conn.execute(sql.Q["complete_group"], group)
        return self._registrar.record(conn, self._registrar.prepare(mo, failure))
