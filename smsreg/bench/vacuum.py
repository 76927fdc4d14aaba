"""Autovacuum's job, when the server has it switched off (as a shared development server may).

Production PostgreSQL runs autovacuum; without it every reply leaves dead row versions behind
and the GIN pending list of the receipt index is never merged, so lookups slow down as a run
goes on. This thread applies autovacuum's default rule to the benchmark's database: every
NAPTIME_S, VACUUM each table whose dead rows exceed 50 + 20 % of its live rows.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from psycopg import sql as pgsql

logger = logging.getLogger(__name__)

NAPTIME_S = 60.0        # autovacuum_naptime
THRESHOLD = 50          # autovacuum_vacuum_threshold
SCALE_FACTOR = 0.2      # autovacuum_vacuum_scale_factor
_DUE = """SELECT relname FROM pg_stat_user_tables
            WHERE n_dead_tup > %s + %s * n_live_tup"""


def server_autovacuum(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('autovacuum')").fetchone()
    return bool(row and row[0] == "on")


class Vacuumer:
    """Runs until stop(); counts the VACUUMs it ran."""

    def __init__(self, dsn: str, naptime_s: float = NAPTIME_S) -> None:
        self._dsn = dsn
        self._naptime_s = naptime_s
        self._stop = threading.Event()
        self.vacuums = 0
        self._thread = threading.Thread(target=self._run, name="bench-vacuum", daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(30)
        return self.vacuums

    def _run(self) -> None:
        try:
            with psycopg.connect(self._dsn, autocommit=True) as conn:
                while not self._stop.wait(self._naptime_s):
                    for (table,) in conn.execute(_DUE, (THRESHOLD, SCALE_FACTOR)).fetchall():
                        conn.execute(pgsql.SQL("VACUUM (ANALYZE) {}").format(pgsql.Identifier(table)))
                        self.vacuums += 1
        except psycopg.Error as exc:
            logger.warning("bench vacuum thread stopped: %s", exc)
