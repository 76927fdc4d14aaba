"""One MO → one outcome: decode and parse (no I/O), then ONE transaction that stores the
message, creates the account or records the duplicate, and queues exactly one reply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

import psycopg

from smsreg import codec, config, msisdn, parse, passwords, replies, sql
from smsreg.replies import Outcome

logger = logging.getLogger(__name__)

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")  # no daylight saving since 1975


@dataclass(frozen=True, slots=True)
class Mo:
    """A mobile-originated message as it came off the link (UDH removed, parts joined)."""

    source_addr: str
    dest_addr: str
    data_coding: int
    payload: bytes
    received_at: dt.datetime  # timezone-aware
    source_ton: int | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about an MO that needs no database: the slow hash is done here, outside the transaction."""

    mo: Mo
    phone: str | None
    text: str | None
    parsed: parse.Registration | parse.SyntaxFailure
    password: str | None = None
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    inbound_id: int | None = None
    outbound_id: int | None = None
    account_id: int | None = None
    username: str | None = None
    reply: str | None = None
    segments: int = 0
    reason: str | None = None


def vietnam_date(moment: dt.datetime) -> dt.date:
    """'Today' for age checks: the calendar date in Vietnam when the MO arrived (domain.md §2)."""
    return moment.astimezone(VIETNAM).date()


def rules(cfg: config.RegistrationConfig) -> parse.Rules:
    return parse.Rules(accept_cmnd9=cfg.accept_cmnd9, min_age=cfg.min_age,
                       strict_id_check=cfg.strict_id_check,
                       extra_id_prefixes=cfg.extra_id_prefixes,
                       blocked_id_numbers=cfg.blocked_id_numbers)


class Registrar:
    """Turns MOs into stored outcomes; thread-safe, holds no connection of its own."""

    def __init__(self, cfg: config.Config, hasher: passwords.Hasher | None = None) -> None:
        self._cfg = cfg
        self._rules = rules(cfg.registration)
        self._hasher = hasher or passwords.Hasher(cfg.passwords)

    def prepare(self, mo: Mo, failure: parse.SyntaxFailure | None = None) -> Prepared:
        """Decode, parse, normalise the sender and, for a valid request, make and hash the password."""
        smpp = self._cfg.smpp
        phone = msisdn.normalize(mo.source_addr, mo.source_ton)
        text = codec.decode_mo(mo.payload, mo.data_coding, default_alphabet=smpp.mo_default_alphabet,
                               latin1_codec=smpp.latin1_codec)
        parsed: parse.Registration | parse.SyntaxFailure
        if failure is not None:
            parsed = failure  # e.g. an incomplete concatenated message
        elif text is None:
            parsed = parse.SyntaxFailure("undecodable")
        else:
            parsed = parse.parse_registration(text, vietnam_date(mo.received_at), self._rules)
        if phone is None or not isinstance(parsed, parse.Registration):
            return Prepared(mo, phone, text, parsed)
        password = passwords.generate()
        return Prepared(mo, phone, text, parsed, password, self._hasher.hash(password))

    def commit(self, conn: psycopg.Connection[tuple[object, ...]], prep: Prepared) -> Result:
        """Run the MO's transaction on conn and commit it. psycopg errors propagate (wrap them)."""
        with conn.transaction():
            return self.record(conn, prep)

    def record(self, conn: psycopg.Connection[tuple[object, ...]], prep: Prepared) -> Result:
        """The statements of commit() inside the caller's transaction (used by reassembly)."""
        mo = prep.mo
        key = redelivery_key(mo)
        window = self._cfg.registration.redelivery_window_s
        if window > 0:
            conn.execute(sql.Q["lock_redelivery_key"], {"key": key})
            seen = conn.execute(sql.Q["find_redelivery"], {
                "key": key, "received_at": mo.received_at, "window_s": window}).fetchone()
            if seen:
                return Result(Outcome.REDELIVERY, inbound_id=int(seen[0]))  # type: ignore[call-overload]
        outcome, account_id = self._decide(conn, prep)
        username = prep.parsed.id_number if outcome is Outcome.OK else None  # type: ignore[union-attr]
        body = None
        if prep.phone is not None:
            body = replies.render(self._cfg.replies, outcome, username or "", prep.password or "")
        segments = codec.segment_count(body) if body else 0
        row = conn.execute(sql.Q["insert_inbound_and_reply"], {
            "received_at": mo.received_at, "source_addr": mo.source_addr, "source_ton": mo.source_ton,
            "phone": prep.phone, "dest_addr": mo.dest_addr, "data_coding": mo.data_coding,
            "payload": mo.payload, "text": _storable(prep.text), "key": key, "outcome": str(outcome),
            "reason": _reason(prep), "account_id": account_id, "body": body,
            "secret": prep.password if outcome is Outcome.OK else None, "segments": segments,
        }).fetchone()
        assert row is not None
        return Result(outcome, inbound_id=_int(row[0]), outbound_id=_int(row[1]), account_id=account_id,
                      username=username, reply=body, segments=segments, reason=_reason(prep))

    def _decide(self, conn: psycopg.Connection[tuple[object, ...]], prep: Prepared) -> tuple[Outcome, int | None]:
        """Precedence (domain.md §1): sender, syntax, then the constraints decide ID before phone."""
        if prep.phone is None:
            return Outcome.INVALID_SENDER, None
        reg = prep.parsed
        if not isinstance(reg, parse.Registration):
            return Outcome.SYNTAX_ERROR, None
        params = {"id_number": reg.id_number, "phone": prep.phone, "full_name": reg.name,
                  "name_as_typed": reg.name_as_typed, "birth_date": reg.birth_date,
                  "password_hash": prep.password_hash, "received_at": prep.mo.received_at}
        row = conn.execute(sql.Q["insert_account"], params).fetchone()
        if row is not None:
            return Outcome.OK, _int(row[0])
        taken = conn.execute(sql.Q["classify_conflict"], params).fetchone()
        return (Outcome.DUPLICATE_ID if taken and taken[0] else Outcome.DUPLICATE_PHONE), None


def redelivery_key(mo: Mo) -> bytes:
    """Same sender, destination, coding and bytes: what an SMSC redelivery has in common."""
    digest = hashlib.sha256()
    for part in (mo.source_addr.encode(), mo.dest_addr.encode(), str(mo.data_coding).encode(), mo.payload):
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


def _reason(prep: Prepared) -> str | None:
    return prep.parsed.reason if isinstance(prep.parsed, parse.SyntaxFailure) else None


def _storable(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; the raw bytes are kept in payload anyway.
    return None if text is None else text.replace("\x00", "\ufffd")


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
