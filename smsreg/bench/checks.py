"""The guarantees, checked after each scenario from the database and the simulator's records —
never from the worker's own word. Any failed check fails the benchmark.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import psycopg

from smsreg import passwords
from smsreg.bench.scenarios import VALID
from smsreg.smsc import MoHandle, Reply

EXPECTED_OUTCOME = {VALID: "ok"}
PASSWORD_SAMPLE = 20
_CREDENTIALS = re.compile(r"TK: ([0-9]+), MK: ([A-Za-z0-9]+) ")
DEFAULT_OUTCOME = "syntax_error"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def run(dsn: str, handles: list[MoHandle], replies: list[Reply], duplicates: int, kinds: dict[str, str],
        probe: tuple[int, list[str]], receipts_pending: int, exit_code: int,
        hasher: passwords.Hasher) -> list[Check]:
    """Every check, in a fixed order; see each helper for what it states."""
    acked = [h for h in handles if h.acked]
    with psycopg.connect(dsn, autocommit=True) as conn:
        inbound = {str(s): (int(n), str(o)) for s, n, o in conn.execute(
            "SELECT source_addr, count(*), min(outcome) FROM inbound_sms GROUP BY source_addr").fetchall()}
        accounts = _accounts(conn)
        outbox = _outbox(conn)
        passwords_ok = _passwords(conn, replies, hasher)
    checked, violations = probe
    return [
        Check("every MO acknowledged with 0", len(acked) == len(handles),
              f"{len(acked)} of {len(handles)} acked" + _sample(h.source for h in handles if not h.acked)),
        _one_inbound_row(acked, inbound),
        _one_reply(acked, replies, duplicates),
        _outcomes(acked, inbound, kinds),
        _unique_accounts(accounts, sum(1 for h in acked if kinds.get(h.source) == VALID)),
        passwords_ok,
        Check("outbox settled, plaintext erased", not any(outbox.values()),
              ", ".join(f"{k}: {v}" for k, v in outbox.items())),
        Check("committed before deliver_sm_resp (probe)", not violations and checked > 0,
              f"{checked} MOs probed at ack time, {len(violations)} not yet visible" + _sample(violations)),
        Check("every delivery receipt answered", receipts_pending == 0, f"{receipts_pending} unanswered"),
        Check("worker exited 0 on SIGTERM", exit_code == 0, f"exit code {exit_code}"),
    ]


def _sample(values: object) -> str:
    items = list(values)[:5]  # type: ignore[call-overload]
    return f" (e.g. {', '.join(map(str, items))})" if items else ""


def _one_inbound_row(acked: list[MoHandle], inbound: dict[str, tuple[int, str]]) -> Check:
    wrong = [h.source for h in acked if inbound.get(h.source, (0, ""))[0] != 1]
    strangers = set(inbound) - {h.source for h in acked}
    return Check("exactly one inbound row per acked MO", not wrong and not strangers,
                 f"{len(wrong)} acked MOs without exactly one row, {len(strangers)} rows of unknown MOs"
                 + _sample(wrong))


def _one_reply(acked: list[MoHandle], replies: list[Reply], duplicates: int) -> Check:
    counts = Counter(r.destination for r in replies)
    wrong = [h.source for h in acked if counts.get(h.source, 0) != 1]
    return Check("exactly one reply per acked MO", not wrong and duplicates == 0,
                 f"{len(wrong)} MOs without exactly one reply, {duplicates} duplicate replies" + _sample(wrong))


def _outcomes(acked: list[MoHandle], inbound: dict[str, tuple[int, str]], kinds: dict[str, str]) -> Check:
    wrong = [h.source for h in acked
             if inbound.get(h.source, (0, ""))[1] != EXPECTED_OUTCOME.get(kinds.get(h.source, ""), DEFAULT_OUTCOME)]
    return Check("each MO decided as expected", not wrong, f"{len(wrong)} unexpected outcomes" + _sample(wrong))


def _accounts(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, int]:
    row = conn.execute(
        "SELECT count(*), count(*) - count(DISTINCT id_number), count(*) - count(DISTINCT phone) FROM account"
    ).fetchone()
    assert row is not None
    return {"accounts": int(row[0]), "id_repeats": int(row[1]), "phone_repeats": int(row[2])}  # type: ignore[call-overload]


def _unique_accounts(accounts: dict[str, int], expected: int) -> Check:
    ok = accounts["id_repeats"] == 0 and accounts["phone_repeats"] == 0 and accounts["accounts"] == expected
    return Check("one account per valid ID and phone", ok,
                 f"{accounts['accounts']} accounts for {expected} valid registrations, "
                 f"{accounts['id_repeats']} repeated IDs, {accounts['phone_repeats']} repeated phones")


def _outbox(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, int]:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE state IN ('queued', 'sending')), count(*) FILTER (WHERE state = 'failed'),"
        "       count(*) FILTER (WHERE secret IS NOT NULL) FROM outbound_sms").fetchone()
    assert row is not None
    return {"unsent": int(row[0]), "failed": int(row[1]), "plaintext left": int(row[2])}  # type: ignore[call-overload]


def _passwords(conn: psycopg.Connection[tuple[object, ...]], replies: list[Reply],
               hasher: passwords.Hasher) -> Check:
    """The password a citizen received verifies against the hash stored for that user name."""
    sent = [m.groups() for m in (_CREDENTIALS.search(r.text or "") for r in replies) if m][:PASSWORD_SAMPLE]
    wrong = []
    for username, password in sent:
        row = conn.execute("SELECT password_hash FROM account WHERE id_number = %s", (username,)).fetchone()
        if row is None or not hasher.verify(str(row[0]), password):
            wrong.append(username)
    return Check("replied passwords verify against the stored hash", not wrong,
                 f"{len(sent)} checked, {len(wrong)} wrong" + _sample(wrong))
