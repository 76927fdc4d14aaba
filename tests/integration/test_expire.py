"""`smsreg expire` against a real PostgreSQL: accounts made by the registration path, the clock
moved with --now. Rotation once per due account, the citizen's change wins, the cap, races
between runs and with the portal, crashes midway, the summary line, exit codes and metrics.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client import parser

from smsreg import accounts, cli, codec, config, db, expire, passwords, register, sql
from smsreg.replies import Outcome
from tests.conftest import make_config

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
EXPIRY = 3 * DAY
SECOND = dt.timedelta(seconds=1)
SUMMARY = re.compile(r"expire(?P<dry> \(dry run\))?: due=(?P<due>\d+) rotated=(?P<rotated>\d+) "
                     r"disabled=(?P<disabled>\d+) skipped=(?P<skipped>\d+) errors=(?P<errors>\d+) "
                     r"duration=\d+\.\d\ds")
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"


@dataclass(frozen=True)
class Citizen:
    username: str
    phone: str
    password: str


def enrol(cfg: config.Config, conn: psycopg.Connection[Any], index: int, at: dt.datetime = T0) -> Citizen:
    """One account through the real registration path (parse, hash, one transaction)."""
    id_number = f"048090{index:06d}"
    mo = register.Mo(source_addr=f"0905{index:06d}", dest_addr="8188", data_coding=0,
                     payload=codec.encode_text(f"TK,Nguyen Van An,{id_number},01.02.1990", 0),
                     received_at=at)
    registrar = register.Registrar(cfg)
    prepared = registrar.prepare(mo)
    assert registrar.commit(conn, prepared).outcome is Outcome.OK
    assert prepared.password is not None
    return Citizen(id_number, f"84905{index:06d}", prepared.password)


@pytest.fixture
def link(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection for setup and checks, so the test never holds a transaction."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


def run_expire(cfg: config.Config, *argv: str) -> int:
    args = cli.build_parser().parse_args(["expire", *argv])
    return expire.run(cfg, args)


def summary(out: str) -> dict[str, int]:
    match = SUMMARY.search(out)
    assert match, f"no summary line in {out!r}"
    return {k: int(v) for k, v in match.groupdict().items() if k != "dry"}


def at(moment: dt.datetime) -> str:
    return moment.isoformat()


def account(link: psycopg.Connection[Any], username: str) -> dict[str, Any]:
    cur = link.execute("SELECT * FROM account WHERE id_number = %s", (username,))
    names = [c.name for c in cur.description or ()]
    row = cur.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def reminders(link: psycopg.Connection[Any], username: str | None = None) -> list[dict[str, Any]]:
    cur = link.execute(
        "SELECT o.account_id, o.destination, o.body, o.secret, o.segments, o.state, o.inbound_id"
        "  FROM outbound_sms o JOIN account a ON a.id = o.account_id"
        " WHERE o.kind = 'reminder' AND (%(u)s::text IS NULL OR a.id_number = %(u)s) ORDER BY o.id",
        {"u": username})
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def verify(cfg: config.Config, link: psycopg.Connection[Any], username: str, password: str) -> bool:
    return accounts.verify(link, passwords.Hasher(cfg.passwords), username, password)


def snapshot(link: psycopg.Connection[Any]) -> list[Any]:
    return [link.execute("SELECT * FROM account ORDER BY id").fetchall(),
            link.execute("SELECT * FROM outbound_sms ORDER BY id").fetchall()]


# --- rotation ----------------------------------------------------------------------------------


def test_unchanged_password_is_rotated_once_and_reminder_queued(
        cfg: config.Config, link: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    citizen = enrol(cfg, link, 1)
    link.execute("LISTEN smsreg_outbound")

    assert run_expire(cfg, "--now", at(T0 + EXPIRY - SECOND)) == 0
    assert summary(capsys.readouterr().out) == {"due": 0, "rotated": 0, "disabled": 0, "skipped": 0, "errors": 0}
    assert account(link, citizen.username)["password_state"] == "issued"

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
    assert summary(capsys.readouterr().out) == {"due": 1, "rotated": 1, "disabled": 0, "skipped": 0, "errors": 0}
    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
    assert summary(capsys.readouterr().out)["rotated"] == 0

    row = account(link, citizen.username)
    assert (row["password_state"], row["rotations"], row["password_issued_at"]) == ("rotated", 1, T0 + EXPIRY)
    (sms,) = reminders(link)
    assert (sms["account_id"], sms["destination"], sms["state"], sms["inbound_id"]) == (
        row["id"], citizen.phone, "queued", None)
    assert sms["secret"] and sms["secret"] != citizen.password
    assert citizen.username in sms["body"] and sms["secret"] in sms["body"]
    assert sms["segments"] == codec.segment_count(sms["body"]) == 1
    assert list(link.notifies(timeout=1, stop_after=1)), "the sender was not woken"


def test_old_password_stops_working_and_new_one_verifies(cfg: config.Config, link: psycopg.Connection[Any]) -> None:
    citizen = enrol(cfg, link, 1)
    assert verify(cfg, link, citizen.username, citizen.password)

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0

    (sms,) = reminders(link, citizen.username)
    assert not verify(cfg, link, citizen.username, citizen.password)
    assert verify(cfg, link, citizen.username, sms["secret"])


def test_password_changed_by_citizen_is_never_rotated(
        cfg: config.Config, link: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    changed, unchanged = enrol(cfg, link, 1), enrol(cfg, link, 2)
    accounts.set_password(link, passwords.Hasher(cfg.passwords), changed.username, "my own secret")

    for days in (3, 30, 300):
        assert run_expire(cfg, "--now", at(T0 + days * DAY)) == 0

    assert account(link, changed.username)["password_state"] == "changed"
    assert account(link, changed.username)["rotations"] == 0
    assert reminders(link, changed.username) == []
    assert verify(cfg, link, changed.username, "my own secret")
    assert len(reminders(link, unchanged.username)) == 3


def test_cap_disables_the_password_after_max_rotations_without_sms(
        cfg: config.Config, link: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert cfg.expiry.max_rotations == 3
    citizen = enrol(cfg, link, 1)
    states = []
    for n in range(1, 6):
        assert run_expire(cfg, "--now", at(T0 + n * EXPIRY)) == 0
        row = account(link, citizen.username)
        states.append((row["password_state"], row["rotations"], summary(capsys.readouterr().out)["disabled"]))

    assert states == [("rotated", 1, 0), ("rotated", 2, 0), ("rotated", 3, 0), ("disabled", 3, 1), ("disabled", 3, 0)]
    sent = reminders(link, citizen.username)
    assert len(sent) == 3
    assert account(link, citizen.username)["password_hash"] is None
    assert not verify(cfg, link, citizen.username, sent[-1]["secret"])


def test_max_rotations_zero_disables_at_the_first_expiry(dsn: str, link: psycopg.Connection[Any]) -> None:
    cfg = make_config(dsn, SMSREG_EXPIRY_MAX_ROTATIONS="0")
    citizen = enrol(cfg, link, 1)

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0

    assert account(link, citizen.username)["password_state"] == "disabled"
    assert reminders(link) == []


def test_expiry_after_comes_from_config(dsn: str, link: psycopg.Connection[Any]) -> None:
    cfg = make_config(dsn, SMSREG_EXPIRY_AFTER="90m")
    citizen = enrol(cfg, link, 1)

    run_expire(cfg, "--now", at(T0 + dt.timedelta(minutes=89)))
    assert reminders(link) == []
    run_expire(cfg, "--now", at(T0 + dt.timedelta(minutes=90)))
    assert len(reminders(link, citizen.username)) == 1


def test_reminder_is_one_gsm7_segment_for_the_longest_user_name(
        cfg: config.Config, link: psycopg.Connection[Any]) -> None:
    citizen = enrol(cfg, link, 1)
    assert len(citizen.username) == 12

    run_expire(cfg, "--now", at(T0 + EXPIRY))

    (sms,) = reminders(link)
    assert codec.is_gsm(sms["body"])
    assert codec.segment_count(sms["body"]) == 1
    assert sms["segments"] == 1
    # Every password character is one GSM septet, so no password makes it longer than this one.
    assert all(codec.gsm_septets(ch) == 1 for ch in passwords.ALPHABET)


# --- bounded work ------------------------------------------------------------------------------


def test_dry_run_reports_and_changes_nothing(
        dsn: str, link: psycopg.Connection[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics_file = tmp_path / "expire.prom"
    cfg = make_config(dsn, SMSREG_EXPIRY_MAX_ROTATIONS="1", SMSREG_EXPIRY_METRICS_FILE=str(metrics_file))
    enrol(cfg, link, 1, at=T0 - EXPIRY)
    assert run_expire(cfg, "--now", at(T0)) == 0  # rotation 1 of 1: disabled at the next expiry
    metrics_file.unlink()
    enrol(cfg, link, 2)
    enrol(cfg, link, 3)
    capsys.readouterr()
    before = snapshot(link)

    assert run_expire(cfg, "--dry-run", "--now", at(T0 + EXPIRY)) == 0

    out = capsys.readouterr().out
    assert out.startswith("expire (dry run): ")
    assert summary(out) == {"due": 3, "rotated": 2, "disabled": 1, "skipped": 0, "errors": 0}
    assert snapshot(link) == before
    assert not metrics_file.exists()


def test_limit_bounds_the_work_oldest_first(
        dsn: str, link: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(dsn, SMSREG_EXPIRY_BATCH_SIZE="2")
    citizens = [enrol(cfg, link, i, at=T0 + i * SECOND) for i in range(5)]
    now = at(T0 + EXPIRY + DAY)

    assert run_expire(cfg, "--limit", "3", "--now", now) == 0
    assert summary(capsys.readouterr().out) == {"due": 5, "rotated": 3, "disabled": 0, "skipped": 0, "errors": 0}
    assert [account(link, c.username)["rotations"] for c in citizens] == [1, 1, 1, 0, 0]

    assert run_expire(cfg, "--limit", "3", "--now", now) == 0
    assert summary(capsys.readouterr().out)["rotated"] == 2
    assert len(reminders(link)) == 5


def test_many_due_accounts_are_handled_in_batches(
        dsn: str, link: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(dsn, SMSREG_EXPIRY_BATCH_SIZE="7")
    for i in range(30):
        enrol(cfg, link, i)

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0

    assert summary(capsys.readouterr().out)["rotated"] == 30
    counts = link.execute("SELECT account_id, count(*) FROM outbound_sms WHERE kind = 'reminder'"
                          " GROUP BY account_id").fetchall()
    assert len(counts) == 30 and {n for _, n in counts} == {1}


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--limit", "x"], ["--now", "yesterday"]])
def test_bad_arguments_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["expire", *argv])
    assert exc.value.code == 2


def test_now_without_offset_is_utc() -> None:
    assert expire.parse_now("2025-03-04T08:00:00") == T0 + EXPIRY
    assert expire.parse_now("2025-03-04T15:00:00+07:00") == T0 + EXPIRY


# --- concurrency and failures -------------------------------------------------------------------


def test_two_overlapping_runs_rotate_each_account_once(
        dsn: str, link: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both runs read the same 50 due accounts and hash before either locks a row (the advisory
    lock is bypassed on purpose): the row locks and the re-check alone keep it to one rotation."""
    cfg = make_config(dsn, SMSREG_EXPIRY_BATCH_SIZE="50")
    for i in range(50):
        enrol(cfg, link, i)
    barrier = threading.Barrier(2, timeout=20)
    original = expire.Expirer.prepare

    def prepare_then_meet(self: expire.Expirer, pool: Any, due: Any) -> Any:
        fresh = original(self, pool, due)
        barrier.wait()
        return fresh

    monkeypatch.setattr(expire.Expirer, "prepare", prepare_then_meet)
    tallies = [expire.Tally(), expire.Tally()]

    def one_run(tally: expire.Tally) -> None:
        with db.connect(cfg.database, "test-expire", autocommit=True) as conn:
            expire.Expirer(cfg).run(conn, tally, now=T0 + EXPIRY)

    threads = [threading.Thread(target=one_run, args=(t,)) for t in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(t.rotated for t in tallies) == 50
    assert sum(t.skipped for t in tallies) == 50
    assert len(reminders(link)) == 50
    assert link.execute("SELECT array_agg(DISTINCT rotations) FROM account").fetchone() == ([1],)


def test_two_cli_runs_started_together(cfg: config.Config, link: psycopg.Connection[Any]) -> None:
    for i in range(50):
        enrol(cfg, link, i)
    start = threading.Barrier(2)
    codes: list[int] = []

    def one_run() -> None:
        start.wait()
        codes.append(run_expire(cfg, "--now", at(T0 + EXPIRY)))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert codes == [0, 0]
    assert len(reminders(link)) == 50
    assert link.execute("SELECT array_agg(DISTINCT rotations) FROM account").fetchone() == ([1],)


def test_second_run_exits_quickly_while_another_holds_the_lock(
        cfg: config.Config, link: psycopg.Connection[Any], dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    enrol(cfg, link, 1)
    with psycopg.connect(dsn, autocommit=True) as other:
        assert other.execute(sql.Q["try_expire_lock"]).fetchone() == (True,)

        assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
        assert "another run is active" in capsys.readouterr().out
        assert reminders(link) == []
        # Unlocked explicitly: a closed connection's backend may still hold it for a moment.
        other.execute("SELECT pg_advisory_unlock_all()")

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
    assert len(reminders(link)) == 1


def test_citizen_change_between_read_and_lock_wins(cfg: config.Config, link: psycopg.Connection[Any]) -> None:
    citizen = enrol(cfg, link, 1)
    expirer = expire.Expirer(cfg, threads=1)
    cutoff = expirer.cutoff(T0 + EXPIRY)
    batch = expire.find_due(link, cutoff, (expire.KEYSET_START, 0), 10)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fresh = expirer.prepare(pool, batch)

    accounts.set_password(link, passwords.Hasher(cfg.passwords), citizen.username, "changed meanwhile")
    tally = expirer.commit(link, batch, fresh, cutoff, T0 + EXPIRY)

    assert (tally.rotated, tally.skipped) == (0, 1)
    assert account(link, citizen.username)["password_state"] == "changed"
    assert reminders(link) == []
    assert verify(cfg, link, citizen.username, "changed meanwhile")


def test_row_locked_by_the_portal_is_skipped_not_waited_for(
        cfg: config.Config, link: psycopg.Connection[Any], dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    busy, free = enrol(cfg, link, 1), enrol(cfg, link, 2)
    with psycopg.connect(dsn) as portal:
        portal.execute("SELECT 1 FROM account WHERE id_number = %s FOR UPDATE", (busy.username,))

        assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
        assert summary(capsys.readouterr().out) == {
            "due": 2, "rotated": 1, "disabled": 0, "skipped": 1, "errors": 0}
        portal.rollback()

    assert reminders(link, busy.username) == []
    assert len(reminders(link, free.username)) == 1
    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
    assert len(reminders(link, busy.username)) == 1


def test_run_dying_midway_leaves_accounts_whole_and_rerun_catches_up(
        dsn: str, link: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The connection is killed inside the second batch's transaction, after its UPDATE and
    reminder INSERT ran: that batch must vanish whole, the first must stay."""
    cfg = make_config(dsn, SMSREG_EXPIRY_BATCH_SIZE="5")
    citizens = [enrol(cfg, link, i, at=T0 + i * SECOND) for i in range(12)]
    now = at(T0 + EXPIRY + DAY)
    original, calls = expire._rotate, []

    def rotate_then_die(conn: Any, reissues: Any, now: dt.datetime) -> int:
        done = original(conn, reissues, now)
        calls.append(done)
        if len(calls) == 2:
            # With a timeout, PostgreSQL returns only once the backend is gone.
            link.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))
        return done

    monkeypatch.setattr(expire, "_rotate", rotate_then_die)
    assert run_expire(cfg, "--now", now) == 1
    out, err = capsys.readouterr()
    assert summary(out)["rotated"] == 5 and summary(out)["errors"] == 1
    assert "database unavailable" in err
    rows = {c.username: account(link, c.username) for c in citizens}
    assert [rows[c.username]["rotations"] for c in citizens] == [1] * 5 + [0] * 7
    assert {r["account_id"] for r in reminders(link)} == {rows[c.username]["id"] for c in citizens[:5]}

    monkeypatch.setattr(expire, "_rotate", original)
    assert run_expire(cfg, "--now", now) == 0
    assert summary(capsys.readouterr().out)["rotated"] == 7
    counts = link.execute("SELECT account_id, count(*) FROM outbound_sms WHERE kind = 'reminder'"
                          " GROUP BY account_id").fetchall()
    assert len(counts) == 12 and {n for _, n in counts} == {1}


def test_one_failing_account_costs_one_error_not_the_batch(
        cfg: config.Config, link: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]) -> None:
    citizens = [enrol(cfg, link, i) for i in range(5)]
    poisoned = citizens[2].username
    link.execute(f"""
        CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id_number = '{poisoned}' THEN RAISE EXCEPTION 'poisoned row'; END IF;
            RETURN NEW;
        END $$""")
    link.execute("CREATE TRIGGER poison BEFORE UPDATE ON account FOR EACH ROW EXECUTE FUNCTION test_poison()")

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 1

    assert summary(capsys.readouterr().out) == {"due": 5, "rotated": 4, "disabled": 0, "skipped": 0, "errors": 1}
    assert account(link, poisoned)["password_state"] == "issued"
    assert reminders(link, poisoned) == []
    assert len(reminders(link)) == 4


# --- output, exit codes, metrics ----------------------------------------------------------------


def test_cli_summary_and_exit_code_and_nothing_secret_in_output(
        dsn: str, link: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SMSREG_DATABASE_URL", dsn)
    monkeypatch.setenv("SMSREG_PASSWORDS_TIME_COST", "1")
    monkeypatch.setenv("SMSREG_PASSWORDS_MEMORY_KIB", "64")
    monkeypatch.setenv("SMSREG_EXPIRY_MAX_ROTATIONS", "1")
    cfg = make_config(dsn)
    first, second = enrol(cfg, link, 1, at=T0 - EXPIRY), enrol(cfg, link, 2)
    caplog.set_level("DEBUG")

    assert cli.main(["--config", "/dev/null", "expire", "--now", at(T0)]) == 0
    assert cli.main(["--config", "/dev/null", "expire", "--now", at(T0 + EXPIRY)]) == 0

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2 and all(SUMMARY.fullmatch(line) for line in lines), out
    assert summary(lines[1]) == {"due": 2, "rotated": 1, "disabled": 1, "skipped": 0, "errors": 0}
    secrets = [r["secret"] for r in reminders(link)] + [first.password, second.password]
    for text in (out, err, caplog.text):
        for secret in [*secrets, first.phone, second.phone, first.username, second.username]:
            assert secret not in text


def test_database_unreachable_exits_1_with_a_message(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SMSREG_DATABASE_URL", UNREACHABLE)

    assert cli.main(["--config", "/dev/null", "expire"]) == 1

    out, err = capsys.readouterr()
    assert "database unavailable" in err
    assert summary(out)["errors"] == 1


def read_metrics(path: Path) -> dict[str, float]:
    text = path.read_text(encoding="utf-8")
    return {s.name: s.value for f in parser.text_string_to_metric_families(text) for s in f.samples}


def test_metrics_file_written_and_last_success_kept_on_failure(
        dsn: str, link: psycopg.Connection[Any], tmp_path: Path) -> None:
    path = tmp_path / "smsreg_expire.prom"
    cfg = make_config(dsn, SMSREG_EXPIRY_METRICS_FILE=str(path))
    enrol(cfg, link, 1)
    enrol(cfg, link, 2)

    assert run_expire(cfg, "--now", at(T0 + EXPIRY)) == 0
    good = read_metrics(path)
    assert good == {
        "smsreg_expire_last_success_timestamp_seconds": good["smsreg_expire_last_run_timestamp_seconds"],
        "smsreg_expire_last_run_timestamp_seconds": pytest.approx(dt.datetime.now(dt.UTC).timestamp(), abs=30),
        "smsreg_expire_duration_seconds": good["smsreg_expire_duration_seconds"],
        "smsreg_expire_due": 2.0, "smsreg_expire_rotated": 2.0,
        "smsreg_expire_disabled": 0.0, "smsreg_expire_errors": 0.0,
    }
    assert 0 < good["smsreg_expire_duration_seconds"] < 30

    broken = make_config(UNREACHABLE, SMSREG_EXPIRY_METRICS_FILE=str(path))
    assert run_expire(broken) == 1
    bad = read_metrics(path)
    assert bad["smsreg_expire_errors"] == 1.0
    assert bad["smsreg_expire_rotated"] == 0.0
    assert bad["smsreg_expire_last_success_timestamp_seconds"] == good["smsreg_expire_last_success_timestamp_seconds"]
    assert bad["smsreg_expire_last_run_timestamp_seconds"] >= good["smsreg_expire_last_run_timestamp_seconds"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "a temp file was left behind"


def test_failed_first_run_writes_no_last_success(tmp_path: Path) -> None:
    path = tmp_path / "smsreg_expire.prom"
    assert run_expire(make_config(UNREACHABLE, SMSREG_EXPIRY_METRICS_FILE=str(path))) == 1
    metrics = read_metrics(path)
    assert "smsreg_expire_last_success_timestamp_seconds" not in metrics
    assert metrics["smsreg_expire_errors"] == 1.0


def test_unwritable_metrics_file_fails_the_run(
        dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(dsn, SMSREG_EXPIRY_METRICS_FILE=str(tmp_path / "missing-dir" / "x.prom"))

    assert run_expire(cfg) == 1
    assert "cannot write the metrics file" in capsys.readouterr().err
