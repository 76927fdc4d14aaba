"""The promise the fault scenarios check, from the database and the simulator's records only:

* every MO the simulator saw acknowledged (status 0) has exactly one inbound row and one outcome,
  and, when it has a valid sender, exactly one outbound row whose reply reached the simulator;
* a reply that reached the simulator more than once is tolerated only when the extra copy's
  submit_sm was accepted on a link that died right after (its response was lost): each such
  copy is counted, every other extra copy is a defect;
* no ID number or phone holds two accounts; no account exists without its 'ok' MO; every
  account's password (from the last reply the simulator received for it) verifies against the
  stored hash; no plaintext password is stored once its reply was accepted, nor written to a log;
* once the faults are over, the worker answers again (every MO ends acknowledged).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from smsreg import config, passwords
from smsreg.smsc import Reply, Simulator
from tests.faults.stream import DUP_ID, DUP_PHONE, INVALID_SENDER, OK, REGISTRATION, SYNTAX, RecordingSimulator, Sent

# A copy whose submit_sm was accepted on a link that closed within this long after it can have
# lost its response with the link (the worker's response timer is 1 s in these tests).
LOST_RESP_WINDOW_S = 2.5
PASSWORD_IN_TEXT = re.compile(r"\bMK(?: moi)?: ([" + passwords.ALPHABET + r"]{" + str(passwords.LENGTH) + r"})\b")
USERNAME_IN_TEXT = re.compile(r"\bTK: ([0-9]+),")


# ---- reading the database ---------------------------------------------------------------------

def rows(dsn: str, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(query, params).fetchall()


def settled(dsn: str) -> bool:
    """Nothing waiting or in flight in the outbox, and no concatenated group still open."""
    return not rows(dsn, "SELECT 1 FROM outbound_sms WHERE state IN ('queued', 'sending') "
                         "UNION ALL SELECT 1 FROM inbound_part WHERE completed_at IS NULL LIMIT 1")


def wait_quiet(smsc: Simulator, dsn: str, timeout: float, still_s: float = 1.0) -> bool:
    """Wait until the outbox is settled and no reply arrived for still_s."""
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = smsc.counters.submits
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        elif time.monotonic() - last_change >= still_s and settled(dsn):
            return True
        time.sleep(0.1)
    return False


# ---- the check ---------------------------------------------------------------------------------

@dataclass
class Report:
    scenario: str
    mos: int = 0
    acked: int = 0
    replies: int = 0
    dup_tolerated: int = 0
    dup_bad: int = 0
    accounts: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(text)

    def line(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (f"[{self.scenario}] mos={self.mos} acked={self.acked} replies={self.replies} "
                f"dup_tolerated={self.dup_tolerated} dup_bad={self.dup_bad} accounts={self.accounts}{extra}"
                + (f" PROBLEMS={len(self.problems)}" if self.problems else ""))


@dataclass(frozen=True, slots=True)
class _Out:
    id: int
    inbound_id: int | None
    account_id: int | None
    kind: str
    destination: str
    body: str
    secret: str | None
    state: str
    message_ids: tuple[str, ...]
    error: str | None


def superseded(o: _Out) -> bool:
    """A password SMS the outbox dropped because a newer password replaced it before it went
    out (the newer one is sent instead)."""
    return o.state == "failed" and o.kind in (OK, "reminder") and (o.error or "").startswith("superseded")


def mask(text: str) -> str:
    """A reply text as its stored body looks once sent: the password replaced by stars."""
    match = PASSWORD_IN_TEXT.search(text)
    return text if match is None else text.replace(match[1], "*" * len(match[1]))


def check(scenario: str, smsc: RecordingSimulator, dsn: str, sent: Sequence[Sent],
          cfg: config.Config, logs: str = "", expected_extra: Sequence[bytes] = ()) -> Report:
    """Every invariant of the module docstring; problems are listed in the report.
    expected_extra: redelivery keys of MOs sent outside the stream (raw PDUs) that must be stored."""
    report = Report(scenario, mos=len(sent), replies=len(smsc.replies))
    acked = [s for s in sent if s.handle.acked]
    report.acked = len(acked)
    for s in sent:
        if not s.handle.acked:
            report.problem(f"MO {s.handle.id} ({s.planned.kind}) not acknowledged: {s.handle.statuses[-6:]}")
    inbound_rows = rows(dsn, "SELECT id, redelivery_key, phone, outcome, account_id, payload FROM inbound_sms")
    outs = [_Out(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(r[8]), r[9]) for r in rows(
        dsn, "SELECT id, inbound_id, account_id, kind, destination, body, secret, state, smsc_message_ids, "
             "error FROM outbound_sms ORDER BY id")]
    accounts = {r[0]: r for r in rows(
        dsn, "SELECT id, id_number, phone, password_hash, password_state FROM account")}
    report.accounts = len(accounts)
    by_key: dict[bytes, list[tuple[Any, ...]]] = defaultdict(list)
    for r in inbound_rows:
        by_key[bytes(r[1])].append(r)
    out_by_inbound = defaultdict(list)
    for o in outs:
        if o.inbound_id is not None:
            out_by_inbound[o.inbound_id].append(o)
    _check_mos(report, acked, by_key, accounts)
    for key in expected_extra:
        if len(by_key.get(key, [])) != 1:
            report.problem(f"a raw MO acknowledged with 0 has {len(by_key.get(key, []))} inbound rows")
    known = {s.planned.key for s in sent} | set(expected_extra)
    _check_inbound(report, inbound_rows, out_by_inbound, set(by_key) - known)
    texts = _check_replies(report, smsc, outs)
    _check_accounts(report, accounts, inbound_rows, outs, texts, cfg)
    _check_plaintext(report, outs, texts, logs)
    report.extra["receipts_unapplied"] = unapplied = _unapplied_receipts(smsc, outs)
    if unapplied:  # acknowledged with 0 and not recorded: lost (architecture.md rule 1)
        report.problem(f"{unapplied} delivery receipts acknowledged but not applied to their reply")
    return report


def _unapplied_receipts(smsc: RecordingSimulator, outs: Sequence[_Out]) -> int:
    """Delivery receipts the worker acknowledged with 0 whose reply row still says 'sent'."""
    state_by_id = {m: o.state for o in outs for m in o.message_ids}
    return sum(1 for r in smsc.receipts_sent
               if r.delivery.final_status == 0 and state_by_id.get(r.message_id.lower()) == "sent")


def _check_mos(report: Report, acked: Sequence[Sent], by_key: dict[bytes, list[tuple[Any, ...]]],
               accounts: dict[int, tuple[Any, ...]]) -> None:
    """Each acknowledged MO (identical resends share one): one inbound row, an allowed outcome
    that agrees with the accounts."""
    by_number = {a[1]: a for a in accounts.values()}
    by_phone = {a[2]: a for a in accounts.values()}
    groups: dict[bytes, list[Sent]] = defaultdict(list)
    for s in acked:
        groups[s.planned.key].append(s)
    for key, group in groups.items():
        found = by_key.get(key, [])
        first = group[0].planned
        if len(found) != 1:
            report.problem(f"MO {group[0].handle.id} ({first.kind}) acknowledged but has {len(found)} inbound rows")
            continue
        row = found[0]
        outcome, account_id = row[3], row[4]
        allowed = set().union(*(s.planned.allowed for s in group)) or REGISTRATION | {SYNTAX, INVALID_SENDER}
        if outcome not in allowed:
            report.problem(f"MO {group[0].handle.id} ({first.kind}): outcome {outcome}, expected {sorted(allowed)}")
        number = next((s.planned.id_number for s in group if s.planned.id_number), None)
        if outcome == OK:
            acct = accounts.get(account_id)
            if acct is None or acct[1] != number or acct[2] != row[2]:
                report.problem(f"MO {group[0].handle.id}: ok but account {acct and acct[1:3]} != {number}, {row[2]}")
        elif outcome == DUP_ID and number not in by_number:
            report.problem(f"MO {group[0].handle.id}: duplicate_id but no account holds {number}")
        elif outcome == DUP_PHONE and (row[2] not in by_phone or by_phone[row[2]][1] == number):
            report.problem(f"MO {group[0].handle.id}: duplicate_phone but the phone's account is not another ID's")


def _check_inbound(report: Report, inbound_rows: Sequence[tuple[Any, ...]],
                   out_by_inbound: dict[int, list[_Out]], stray_keys: set[bytes]) -> None:
    """Each stored MO: one reply row when its sender is valid, none otherwise; a final state."""
    for r in inbound_rows:
        replies = out_by_inbound.get(r[0], [])
        want = 0 if r[2] is None else 1
        if len(replies) != want:
            report.problem(f"inbound {r[0]} ({r[3]}): {len(replies)} reply rows, expected {want}")
        for o in replies:
            if o.state not in ("sent", "delivered", "undeliverable") and not superseded(o):
                report.problem(f"reply row {o.id} ended {o.state}")
    if stray_keys:
        report.problem(f"{len(stray_keys)} inbound rows match no MO the simulator sent")


def _check_replies(report: Report, smsc: RecordingSimulator, outs: Sequence[_Out]) -> dict[int, str]:
    """Map the simulator's replies onto reply rows; classify every extra copy. Returns the text
    each row's acknowledged copy carried (row id → text)."""
    submit_by_id = {s.message_id.lower(): s for s in smsc.submits}
    row_by_msgid = {m: o for o in outs for m in o.message_ids}
    texts: dict[int, str] = {}
    extra: list[Reply] = []
    for reply in smsc.replies:
        owners = {row_by_msgid[m.lower()].id for m in reply.message_ids if m.lower() in row_by_msgid}
        if owners:
            texts[owners.pop()] = reply.text or ""
        else:
            extra.append(reply)
    for o in outs:
        if o.state in ("sent", "delivered", "undeliverable") and o.id not in texts:
            missing = [m for m in o.message_ids if m not in submit_by_id]
            report.problem(f"reply row {o.id} ({o.kind}) marked {o.state} but the SMSC has no such "
                           f"submit {missing or o.message_ids}")
    by_dest_body: dict[tuple[str, str], list[_Out]] = defaultdict(list)
    for o in outs:
        by_dest_body[(o.destination, o.body)].append(o)
    for reply in extra:
        text = reply.text or ""
        matches = by_dest_body.get((reply.destination, mask(text)), [])
        if not matches:
            report.dup_bad += 1
            report.problem(f"reply to {reply.destination} matches no reply row: {mask(text)[:60]!r}")
            continue
        if any(_lost_with_link(smsc, p.link_id, p.received_at) for p in reply.parts):
            report.dup_tolerated += 1
        else:
            report.dup_bad += 1
            report.problem(f"reply row {matches[0].id} ({matches[0].kind}) sent again although its first "
                           f"submit_sm was answered on a link that stayed up (link {reply.parts[0].link_id})")
    return texts


def _lost_with_link(smsc: RecordingSimulator, link_id: int, received_at: float) -> bool:
    closed = smsc.link_closed_at.get(link_id)
    return closed is not None and 0 <= closed - received_at <= LOST_RESP_WINDOW_S


def _check_accounts(report: Report, accounts: dict[int, tuple[Any, ...]], inbound_rows: Sequence[tuple[Any, ...]],
                    outs: Sequence[_Out], texts: dict[int, str], cfg: config.Config) -> None:
    for column, name in ((1, "ID number"), (2, "phone")):
        for value, n in Counter(a[column] for a in accounts.values()).items():
            if n > 1:
                report.problem(f"{name} {value} holds {n} accounts")
    ok_rows = Counter(r[4] for r in inbound_rows if r[3] == OK)
    hasher = passwords.Hasher(cfg.passwords)
    latest: dict[int, _Out] = {}
    for o in outs:
        if o.account_id is not None and o.kind in (OK, "reminder"):
            latest[o.account_id] = o
    for account_id, (_, number, _, password_hash, state) in accounts.items():
        if ok_rows.get(account_id) != 1:
            report.problem(f"account {number} has {ok_rows.get(account_id, 0)} 'ok' MOs (a partial account)")
        row = latest.get(account_id)
        if row is None:
            report.problem(f"account {number} has no reply row carrying its password")
            continue
        text = texts.get(row.id)
        if text is None:
            continue  # already reported as a reply that never reached the SMSC
        user = USERNAME_IN_TEXT.search(text)
        password = PASSWORD_IN_TEXT.search(text)
        if user is None or user[1] != number or password is None:
            report.problem(f"reply row {row.id} for account {number} reads {mask(text)[:60]!r}")
        elif state != "disabled" and not hasher.verify(password_hash, password[1]):
            report.problem(f"account {number}: the password in its last reply does not verify")


def _check_plaintext(report: Report, outs: Sequence[_Out], texts: dict[int, str], logs: str) -> None:
    for o in outs:
        if o.state != "queued" and o.state != "sending" and o.secret is not None:
            report.problem(f"reply row {o.id} is {o.state} but still stores its password")
        text = texts.get(o.id)
        password = PASSWORD_IN_TEXT.search(text or "")
        if password is None:
            continue
        if password[1] in o.body:
            report.problem(f"reply row {o.id}: the body still holds the password")
        if logs and password[1] in logs:
            report.problem(f"reply row {o.id}: its password appears in a worker log")


def assert_clean(report: Report, context: Callable[[], str] | None = None) -> None:
    if report.problems or report.dup_bad:
        detail = "\n".join(report.problems[:40])
        raise AssertionError(f"{report.line()}\n{detail}" + (f"\n{context()}" if context else ""))
