"""smsreg.backlog.BacklogCollector against a real PostgreSQL: counts, age, and failures at scrape time."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg_pool
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from smsreg import backlog, config, db, metrics

QUEUED, OLDEST, ERROR = backlog.QUEUED, backlog.OLDEST_AGE, backlog.SCRAPE_ERROR


@pytest.fixture
def pool(cfg: config.Config) -> Iterator[psycopg_pool.ConnectionPool]:
    # One connection, so the scrape and the test's own checks share it.
    p = db.make_pool(cfg.database, "test", min_size=1, max_size=1)
    yield p
    p.close()


@pytest.fixture
def registry(pool: psycopg_pool.ConnectionPool) -> CollectorRegistry:
    reg = CollectorRegistry()
    metrics.Metrics(reg)
    reg.register(backlog.BacklogCollector(pool, timeout_ms=500))
    return reg


def add_outbound(conn: psycopg.Connection[Any], state: str, age_s: float) -> None:
    conn.execute(
        "INSERT INTO outbound_sms (kind, destination, body, state, created_at, not_before)"
        " VALUES ('syntax_error', '84901234567', 'Loi cu phap', %(state)s,"
        "         now() - make_interval(secs => %(age)s), now() - make_interval(secs => %(age)s))",
        {"state": state, "age": age_s})
    conn.commit()


def test_empty_outbox_is_zero_and_zero(registry: CollectorRegistry) -> None:
    assert registry.get_sample_value(QUEUED) == 0.0
    assert registry.get_sample_value(OLDEST) == 0.0
    assert registry.get_sample_value(ERROR) == 0.0


def test_counts_queued_and_sending_and_ages_the_oldest(registry: CollectorRegistry,
                                                       conn: psycopg.Connection[Any]) -> None:
    add_outbound(conn, "queued", 90)
    add_outbound(conn, "queued", 5)
    add_outbound(conn, "sending", 30)
    # Done or given up: not a backlog, however old.
    for state in ("sent", "delivered", "undeliverable", "failed"):
        add_outbound(conn, state, 3600)
    assert registry.get_sample_value(QUEUED) == 3.0
    age = registry.get_sample_value(OLDEST)
    assert age is not None and 90 <= age < 100


def test_a_deferred_row_keeps_its_age(registry: CollectorRegistry, conn: psycopg.Connection[Any]) -> None:
    """A retried reply (not_before in the future) is still late for the citizen."""
    conn.execute(
        "INSERT INTO outbound_sms (kind, destination, body, created_at, not_before)"
        " VALUES ('ok', '84901234567', 'x', now() - interval '10 minutes', now() + interval '1 minute')")
    conn.commit()
    assert registry.get_sample_value(QUEUED) == 1.0
    age = registry.get_sample_value(OLDEST)
    assert age is not None and 600 <= age < 610


def test_the_value_is_read_at_every_scrape(registry: CollectorRegistry, conn: psycopg.Connection[Any]) -> None:
    assert registry.get_sample_value(QUEUED) == 0.0
    add_outbound(conn, "queued", 1)
    assert registry.get_sample_value(QUEUED) == 1.0
    conn.execute("UPDATE outbound_sms SET state = 'sent'")
    conn.commit()
    assert registry.get_sample_value(QUEUED) == 0.0
    assert registry.get_sample_value(OLDEST) == 0.0


def test_the_timeout_stays_local_to_the_scrape(registry: CollectorRegistry,
                                               pool: psycopg_pool.ConnectionPool,
                                               cfg: config.Config) -> None:
    registry.get_sample_value(QUEUED)
    with pool.connection() as c:
        row = c.execute("SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'").fetchone()
    assert cfg.database.statement_timeout_ms != 500
    assert row == (cfg.database.statement_timeout_ms,)


def test_unreachable_database_leaves_the_series_out_and_the_scrape_succeeds() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = psycopg_pool.ConnectionPool(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                                       min_size=1, open=False, kwargs={"connect_timeout": 1})
    dead.open(wait=False)
    try:
        reg = CollectorRegistry()
        metrics.Metrics(reg)
        reg.register(backlog.BacklogCollector(dead, timeout_ms=300))
        started = time.monotonic()
        text = generate_latest(reg).decode()
        elapsed = time.monotonic() - started
    finally:
        dead.close()
    assert elapsed < 3, "bounded by the pool wait"
    assert f"{QUEUED} " not in text
    assert f"{OLDEST} " not in text
    assert f"{ERROR} 1.0" in text
    assert "smsreg_smpp_bound 0.0" in text, "the rest of /metrics is still served"


def test_a_locked_table_times_out_then_recovers(registry: CollectorRegistry, dsn: str,
                                                conn: psycopg.Connection[Any]) -> None:
    """statement_timeout bounds the query: an ACCESS EXCLUSIVE lock would otherwise hang the scrape."""
    add_outbound(conn, "queued", 1)
    with psycopg.connect(dsn) as locker:
        locker.execute("LOCK TABLE outbound_sms IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        assert registry.get_sample_value(QUEUED) is None
        assert time.monotonic() - started < 3
        assert registry.get_sample_value(ERROR) == 1.0
        locker.rollback()
    assert registry.get_sample_value(QUEUED) == 1.0
    assert registry.get_sample_value(ERROR) == 0.0


def test_registering_does_not_query(pool: psycopg_pool.ConnectionPool, monkeypatch: pytest.MonkeyPatch) -> None:
    collector = backlog.BacklogCollector(pool)
    monkeypatch.setattr(collector, "_query", lambda: pytest.fail("queried at registration"))
    reg = CollectorRegistry()
    reg.register(collector)
    assert {m.name for m in collector.describe()} == {QUEUED, OLDEST, ERROR}
