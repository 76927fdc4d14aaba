"""Scrape-time outbox metrics: how many replies wait to be sent, and for how long.

A custom collector (prometheus_client's idiom for values computed on demand): every scrape
runs one bounded, read-only query through the worker's pool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import psycopg_pool
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from smsreg import sql

logger = logging.getLogger(__name__)

QUEUED = "smsreg_outbox_queued"
OLDEST_AGE = "smsreg_outbox_oldest_age_seconds"
SCRAPE_ERROR = "smsreg_outbox_scrape_error"


class BacklogCollector(Collector):
    """Exports smsreg_outbox_queued and smsreg_outbox_oldest_age_seconds, read at scrape time.

    Waiting for a pool connection and running the query are each bounded by `timeout_ms`, so
    a scrape takes at most about twice that. On any failure the two series are left out (an
    absent value, never a stale or made-up one), smsreg_outbox_scrape_error is 1, and nothing
    is raised into the scrape: the rest of /metrics is still served.
    """

    def __init__(self, pool: psycopg_pool.ConnectionPool, timeout_ms: int = 500) -> None:
        self._pool = pool
        self._timeout_ms = timeout_ms
        self._failing = False

    def describe(self) -> Iterator[Metric]:
        # Defined so that registering does not run the query (the registry calls describe()).
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        queued, oldest, error = _families()
        try:
            count, age_s = self._query()
        except Exception as exc:  # noqa: BLE001 - a collector that raises breaks the whole scrape
            self._note_failure(exc)
            error.add_metric([], 1)
            yield error
            return
        if self._failing:
            logger.info("outbox backlog readable again", extra={"action": "backlog_recovered"})
            self._failing = False
        queued.add_metric([], count)
        oldest.add_metric([], age_s)
        error.add_metric([], 0)
        yield from (queued, oldest, error)

    def _query(self) -> tuple[int, float]:
        with self._pool.connection(timeout=self._timeout_ms / 1000) as conn, conn.transaction():
            conn.execute(sql.Q["backlog_statement_timeout"], {"timeout_ms": str(self._timeout_ms)})
            row = conn.execute(sql.Q["outbox_backlog"]).fetchone()
        if row is None:  # pragma: no cover - an aggregate always returns a row
            raise RuntimeError("outbox_backlog returned no row")
        count, age_s = row
        return int(count), float(age_s)

    def _note_failure(self, exc: Exception) -> None:
        """Warn once when the backlog becomes unreadable, not on every 15-second scrape."""
        expected = isinstance(exc, psycopg.Error)
        if self._failing and expected:
            logger.debug("outbox backlog still unreadable: %s", _first_line(exc))
            return
        self._failing = True
        logger.warning("outbox backlog unreadable, %s left out of /metrics: %s", QUEUED, _first_line(exc),
                       exc_info=not expected, extra={"action": "backlog_unreadable"})


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(QUEUED, "Outbound SMS (replies, reminders) in state queued or sending."),
        GaugeMetricFamily(OLDEST_AGE, "Age of the oldest queued or sending outbound SMS; 0 when none."),
        GaugeMetricFamily(SCRAPE_ERROR, "1 when the last scrape could not read the outbox backlog, else 0."),
    )


def _first_line(exc: BaseException) -> str:
    # libpq messages can carry the connection string on later lines.
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
