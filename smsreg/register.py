"""One MO → one outcome: decode and parse (no I/O), then ONE transaction that stores the
message, creates the account or records the duplicate, and queues exactly one reply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
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
        self._fixed_replies: dict[Outcome, tuple[str | None, int]] = {}  # a benign race: same value

    def prepare(self, mo: Mo, failure: parse.SyntaxFailure | None = None,
                credentials: Callable[[], tuple[str, str]] | None = None) -> Prepared:
        """Decode, parse, normalise the sender and, for a valid request, make and hash the password
        (or take a (password, hash) pair made ahead from credentials())."""
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
        if credentials is not None:
            password, password_hash = credentials()
            return Prepared(mo, phone, text, parsed, password, password_hash)
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
        result, params = self._rows(prep, key, outcome, account_id)
        row = conn.execute(sql.Q["insert_inbound_and_reply"], params).fetchone()
        assert row is not None
        return dataclasses.replace(result, inbound_id=_int(row[0]), outbound_id=_int(row[1]))

    def _rows(self, prep: Prepared, key: bytes, outcome: Outcome,
              account_id: int | None) -> tuple[Result, dict[str, object]]:
        """The Result (without row ids) and the parameters of insert_inbound_and_reply."""
        mo = prep.mo
        username = prep.parsed.id_number if outcome is Outcome.OK else None  # type: ignore[union-attr]
        body, segments = self._reply(outcome, username, prep.password) if prep.phone is not None else (None, 0)
        params: dict[str, object] = {
            "received_at": mo.received_at, "source_addr": mo.source_addr, "source_ton": mo.source_ton,
            "phone": prep.phone, "dest_addr": mo.dest_addr, "data_coding": mo.data_coding,
            "payload": mo.payload, "text": _storable(prep.text), "key": key, "outcome": str(outcome),
            "reason": _reason(prep), "account_id": account_id, "body": body,
            "secret": prep.password if outcome is Outcome.OK else None, "segments": segments,
        }
        return Result(outcome, account_id=account_id, username=username, reply=body, segments=segments,
                      reason=_reason(prep)), params

    def _reply(self, outcome: Outcome, username: str | None, password: str | None) -> tuple[str | None, int]:
        """Reply text and its segment count; the texts that name no account are made once."""
        if outcome is Outcome.OK:
            body = replies.render(self._cfg.replies, outcome, username or "", password or "")
            return body, codec.segment_count(body) if body else 0
        fixed = self._fixed_replies.get(outcome)
        if fixed is None:
            body = replies.render(self._cfg.replies, outcome)
            fixed = self._fixed_replies[outcome] = (body, codec.segment_count(body) if body else 0)
        return fixed

    def commit_many(self, conn: psycopg.Connection[tuple[object, ...]], preps: Sequence[Prepared]) -> list[Result]:
        """record_many() in one transaction, committed (a group commit of MOs that queued up together)."""
        with conn.transaction():
            return self.record_many(conn, preps)

    def record_many(self, conn: psycopg.Connection[tuple[object, ...]], preps: Sequence[Prepared]) -> list[Result]:
        """The statements of commit() for several MOs in the caller's transaction, the inbound and
        reply rows in one statement. Each MO is decided as if the MOs had been committed one by one, in order:
        an identical MO earlier in the group is its redelivery, an earlier valid request its
        duplicate. psycopg errors propagate; one failing MO fails them all (retry them singly)."""
        if not preps:
            return []
        keys = [redelivery_key(p.mo) for p in preps]
        stored = self._recent(conn, preps, keys)
        decided: list[tuple[Outcome, int | None] | int] = []  # an int: redelivery of that group index
        first: dict[bytes, int] = {}
        window = self._cfg.registration.redelivery_window_s
        pending = []
        for i, (prep, key) in enumerate(zip(preps, keys, strict=True)):
            earlier = stored.get(key)
            if earlier is not None and earlier[0] > prep.mo.received_at - dt.timedelta(seconds=window):
                decided.append((Outcome.REDELIVERY, earlier[1]))
            elif window > 0 and key in first and \
                    preps[first[key]].mo.received_at > prep.mo.received_at - dt.timedelta(seconds=window):
                decided.append(first[key])
            else:
                first.setdefault(key, i)
                decided.append((Outcome.OK, None))  # placeholder until the accounts are inserted
                pending.append(i)
        for i in pending:  # in order: each sees the accounts the earlier ones created
            decided[i] = self._decide(conn, preps[i])
        return self._store_many(conn, preps, keys, decided)

    def _recent(self, conn: psycopg.Connection[tuple[object, ...]], preps: Sequence[Prepared],
                keys: list[bytes]) -> dict[bytes, tuple[dt.datetime, int]]:
        """Lock every key (sorted), then the latest stored MO per key that could make one a redelivery."""
        window = self._cfg.registration.redelivery_window_s
        if window <= 0:
            return {}
        unique = sorted(set(keys))
        conn.execute(sql.Q["lock_redelivery_keys"], {"keys": unique})
        since = min(p.mo.received_at for p in preps) - dt.timedelta(seconds=window)
        rows = conn.execute(sql.Q["find_redeliveries"], {"keys": unique, "since": since}).fetchall()
        return {bytes(k): (at, int(i)) for k, at, i in rows}  # type: ignore[call-overload, misc]

    def _store_many(self, conn: psycopg.Connection[tuple[object, ...]], preps: Sequence[Prepared], keys: list[bytes],
                    decided: list[tuple[Outcome, int | None] | int]) -> list[Result]:
        """Insert the inbound and reply rows of every MO that is not a redelivery, in one
        statement; the Results in order."""
        results: list[Result | None] = [None] * len(preps)
        stored: list[int] = []
        rows: list[dict[str, object]] = []
        for i, decision in enumerate(decided):
            if isinstance(decision, int):
                continue
            outcome, ref = decision
            if outcome is Outcome.REDELIVERY:
                results[i] = Result(Outcome.REDELIVERY, inbound_id=ref)
                continue
            results[i], params = self._rows(preps[i], keys[i], outcome, ref)
            stored.append(i)
            rows.append(_json_row(params))
        if stored:
            document = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
            ids = conn.execute(sql.Q["insert_inbound_and_replies"], {"rows": document}).fetchall()
            for i, (inbound_id, outbound_id) in zip(stored, ids, strict=True):
                results[i] = dataclasses.replace(results[i], inbound_id=_int(inbound_id),  # type: ignore[type-var]
                                                 outbound_id=_int(outbound_id))
        for i, decision in enumerate(decided):
            if isinstance(decision, int):
                results[i] = Result(Outcome.REDELIVERY, inbound_id=results[decision].inbound_id)  # type: ignore[union-attr]
        return [r for r in results if r is not None]

    def _decide(self, conn: psycopg.Connection[tuple[object, ...]], prep: Prepared) -> tuple[Outcome, int | None]:
        """Precedence (domain.md §1): sender, syntax, then the constraints decide ID before phone."""
        params = self._account_params(prep)
        if params is None:
            return (Outcome.INVALID_SENDER if prep.phone is None else Outcome.SYNTAX_ERROR), None
        row = conn.execute(sql.Q["insert_account"], params).fetchone()
        if row is not None:
            return Outcome.OK, _int(row[0])
        taken = conn.execute(sql.Q["classify_conflict"], params).fetchone()
        return (Outcome.DUPLICATE_ID if taken and taken[0] else Outcome.DUPLICATE_PHONE), None

    @staticmethod
    def _account_params(prep: Prepared) -> dict[str, object] | None:
        """insert_account's parameters; None when no account is to be tried (bad sender or syntax)."""
        reg = prep.parsed
        if prep.phone is None or not isinstance(reg, parse.Registration):
            return None
        return {"id_number": reg.id_number, "phone": prep.phone, "full_name": reg.name,
                "name_as_typed": reg.name_as_typed, "birth_date": reg.birth_date,
                "password_hash": prep.password_hash, "received_at": prep.mo.received_at}


def redelivery_key(mo: Mo) -> bytes:
    """Same sender, destination, coding and bytes: what an SMSC redelivery has in common."""
    digest = hashlib.sha256()
    for part in (mo.source_addr.encode(), mo.dest_addr.encode(), str(mo.data_coding).encode(), mo.payload):
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


def _json_row(params: dict[str, object]) -> dict[str, object]:
    """insert_inbound_and_reply's parameters as a JSON object of insert_inbound_and_replies."""
    row = dict(params)
    row["received_at"] = params["received_at"].isoformat()  # type: ignore[attr-defined]
    row["payload"] = params["payload"].hex()  # type: ignore[attr-defined]
    row["key"] = params["key"].hex()  # type: ignore[attr-defined]
    return row


def _reason(prep: Prepared) -> str | None:
    return prep.parsed.reason if isinstance(prep.parsed, parse.SyntaxFailure) else None


def _storable(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; the raw bytes are kept in payload anyway.
    return None if text is None else text.replace("\x00", "\ufffd")


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
