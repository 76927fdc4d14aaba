"""`smsreg migrate` against a real PostgreSQL: order, idempotence, the advisory lock, failures,
and every named query of sql/*.sql checked against the migrated schema.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smsreg import errors, migrate, sql
from tests.conftest import _create, _drop, _dsn_for, make_config


@pytest.fixture
def empty_dsn(admin_dsn: str) -> Iterator[str]:
    """A database with nothing in it (not cloned from the migrated template)."""
    name = f"smsreg_test_empty_{uuid.uuid4().hex[:12]}"
    _create(admin_dsn, name)
    yield _dsn_for(admin_dsn, name)
    _drop(admin_dsn, name)


def fetch(dsn: str, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def schema(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a migration can create or change in schema public, plus the migration log."""
    queries = {
        "columns": """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                             pg_get_expr(d.adbin, d.adrelid)
                        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                       WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
                       ORDER BY 1, 2""",
        "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
                            FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "functions": """SELECT proname, pg_get_functiondef(oid) FROM pg_proc
                         WHERE pronamespace = 'public'::regnamespace ORDER BY 1""",
        "triggers": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
        "sequences": "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
        "migrations": "SELECT version, name, applied_at FROM smsreg_migrations ORDER BY version",
    }
    return {key: fetch(dsn, query) for key, query in queries.items()}


def test_fresh_database_gets_every_migration_in_order(empty_dsn: str) -> None:
    cfg = make_config(empty_dsn)
    found = migrate.discover()
    assert [m.version for m in found] == sorted(m.version for m in found)
    assert found[0].version == 1 and found[0].name == "initial"

    applied = migrate.apply(cfg.database)

    assert applied == found
    assert fetch(empty_dsn, "SELECT version, name FROM smsreg_migrations ORDER BY version") == [
        (m.version, m.name) for m in found]
    tables = {r[0] for r in fetch(empty_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"account", "inbound_sms", "outbound_sms", "smsreg_migrations"} <= tables
    with psycopg.connect(empty_dsn) as conn:
        assert migrate.current_version(conn) == found[-1].version


def test_second_run_applies_nothing_and_changes_nothing(empty_dsn: str) -> None:
    cfg = make_config(empty_dsn)
    migrate.apply(cfg.database)
    before = schema(empty_dsn)

    assert migrate.apply(cfg.database) == []
    assert migrate.apply(cfg.database) == []

    assert schema(empty_dsn) == before
    assert len(before["migrations"]) == len(migrate.discover())


def test_concurrent_runs_apply_each_file_once(admin_dsn: str) -> None:
    for _ in range(3):
        name = f"smsreg_test_empty_{uuid.uuid4().hex[:12]}"
        _create(admin_dsn, name)
        try:
            _concurrent_round(_dsn_for(admin_dsn, name))
        finally:
            _drop(admin_dsn, name)


def _concurrent_round(dsn: str) -> None:
    cfg = make_config(dsn)
    runners = 4
    barrier = threading.Barrier(runners)
    results: list[Any] = [None] * runners

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = migrate.apply(cfg.database)
        except Exception as exc:  # noqa: BLE001 - asserted below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, list) for r in results), results
    applied = sorted(m.version for r in results for m in r)
    assert applied == [m.version for m in migrate.discover()]
    assert fetch(dsn, "SELECT count(*), count(DISTINCT version) FROM smsreg_migrations") == [
        (len(applied), len(applied))]


def _write(directory: Path, files: dict[str, str]) -> Path:
    migrations = directory / "migrations"
    migrations.mkdir()
    for name, text in files.items():
        (migrations / name).write_text(text, encoding="utf-8")
    return directory


def test_a_failing_migration_is_rolled_back_and_named(
        empty_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSREG_PATHS_SQL_DIR", str(_write(tmp_path, {
        "0001_good.sql": "CREATE TABLE good (id int);",
        "0002_bad.sql": "CREATE TABLE half (id int);\nCREATE TABLE broken (id nosuchtype);",
        "0003_later.sql": "CREATE TABLE later (id int);",
    })))
    cfg = make_config(empty_dsn)

    with pytest.raises(errors.MigrationError, match=r"0002_bad\.sql"):
        migrate.apply(cfg.database)

    assert fetch(empty_dsn, "SELECT version FROM smsreg_migrations") == [(1,)]
    tables = {r[0] for r in fetch(empty_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"good", "smsreg_migrations"}


def test_new_migrations_are_applied_on_top(
        empty_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = _write(tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);"})
    monkeypatch.setenv("SMSREG_PATHS_SQL_DIR", str(directory))
    cfg = make_config(empty_dsn)
    assert [m.name for m in migrate.apply(cfg.database)] == ["a"]
    (directory / "migrations" / "0002_b.sql").write_text("ALTER TABLE a ADD COLUMN b text;")
    assert [m.name for m in migrate.apply(cfg.database)] == ["b"]
    assert fetch(empty_dsn, "SELECT version, name FROM smsreg_migrations ORDER BY 1") == [(1, "a"), (2, "b")]


@pytest.mark.parametrize(("files", "message"), [
    ({"0001_a.sql": "", "1_b.sql": ""}, "1_b.sql"),
    ({"0001_a.sql": "", "0002-b.sql": ""}, "0002-b.sql"),
    ({"0001_a.sql": "", "0001_b.sql": ""}, "version"),
])
def test_discover_rejects_bad_file_names(tmp_path: Path, files: dict[str, str], message: str) -> None:
    _write(tmp_path, files)
    with pytest.raises(errors.MigrationError, match=message):
        migrate.discover(tmp_path / "migrations")


def test_discover_ignores_other_files(tmp_path: Path) -> None:
    _write(tmp_path, {"0002_b.sql": "", "0001_a.sql": "", "README.md": ""})
    assert [(m.version, m.name) for m in migrate.discover(tmp_path / "migrations")] == [(1, "a"), (2, "b")]


# --- every named query against the migrated schema ------------------------------------------------

# Parameters PostgreSQL cannot type from context alone. psycopg sends a datetime as timestamptz,
# so declaring these is what the driver does too; every other parameter is left to inference.
DECLARED_TYPES = {"received_at": "timestamptz", "now": "timestamptz", "cutoff": "timestamptz",
                  "after_issued_at": "timestamptz"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def to_prepare(name: str, query: str) -> str:
    """`PREPARE name (types) AS query` with psycopg's %(name)s placeholders as $n."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    body = _PLACEHOLDER.sub(number, query).replace("%%", "%")
    types = ", ".join(DECLARED_TYPES.get(n, "unknown") for n in names)
    return f"PREPARE {name} ({types}) AS {body}" if names else f"PREPARE {name} AS {body}"


def test_every_named_query_prepares_against_the_migrated_schema(dsn: str) -> None:
    queries = sql.load()
    assert queries
    failures = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, query in queries.items():
            try:
                conn.execute(to_prepare(f"q_{name}", query).encode())
            except psycopg.Error as exc:
                failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


def test_the_prepare_check_catches_a_typo(dsn: str) -> None:
    query = sql.load()["find_redelivery"].replace("redelivery_key", "redelivery_kee")
    with psycopg.connect(dsn, autocommit=True) as conn, pytest.raises(psycopg.errors.UndefinedColumn):
        conn.execute(to_prepare("typo", query).encode())
