"""PostgreSQL access: the connection pool, the error boundary, and the retry policy.

psycopg errors are translated here, once: unreachable → DatabaseUnavailable (retry later),
anything else → DatabaseError.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

import psycopg
import psycopg_pool
import tenacity

from smsreg import config, errors

logger = logging.getLogger(__name__)

APPLICATION_NAME = "smsreg"
# Shrunk by tests; the per-MO budget itself comes from database.retry_budget_s.
RETRY_MAX_WAIT_S = 0.5


def connect_kwargs(cfg: config.DatabaseConfig, role: str) -> dict[str, object]:
    return {
        "application_name": f"{APPLICATION_NAME}-{role}",
        "connect_timeout": max(1, round(cfg.connect_timeout_s)),
        # jit off: every statement here touches a handful of rows, yet with stale statistics (a
        # fresh table, autovacuum behind) the planner's estimates can cross jit_above_cost, and
        # compiling then costs ~10 ms, a hundred times the statement (seen in `make bench`).
        "options": f"-c statement_timeout={cfg.statement_timeout_ms} -c jit=off",
    }


def make_pool(cfg: config.DatabaseConfig, role: str = "worker",
              *, min_size: int | None = None, max_size: int | None = None) -> psycopg_pool.ConnectionPool:
    """An opened pool; it does not wait for the database, so a worker can start during an outage."""
    pool: psycopg_pool.ConnectionPool = psycopg_pool.ConnectionPool(
        cfg.url.reveal(),
        min_size=min_size or cfg.pool_min,
        max_size=max_size or cfg.pool_max,
        kwargs=connect_kwargs(cfg, role),
        check=psycopg_pool.ConnectionPool.check_connection,
        timeout=cfg.connect_timeout_s,
        # How long the pool's background refill keeps retrying; after that it gives up until a
        # caller asks for a connection, which starts a new attempt. Outages end by themselves.
        reconnect_timeout=3600,
        name=f"smsreg-{role}",
        open=False,
    )
    pool.open(wait=False)
    return pool


def connect(cfg: config.DatabaseConfig, role: str, *,
            autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """One dedicated connection (the CLI, the LISTEN connection)."""
    with wrap_errors():
        return psycopg.connect(cfg.url.reveal(), autocommit=autocommit, **connect_kwargs(cfg, role))  # type: ignore[arg-type]


@contextlib.contextmanager
def wrap_errors() -> Iterator[None]:
    """Translate driver errors into smsreg's: the one place that knows psycopg's exception tree."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise errors.DatabaseUnavailable(f"database unavailable: {_short(exc)}") from exc
    except psycopg.Error as exc:
        raise errors.DatabaseError(f"database error: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    # The first line only: libpq messages can carry the whole connection string on later lines.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def interruptible_sleep(stop: threading.Event) -> Callable[[float], None]:
    """A sleep that ends early when stop is set, so shutdown never waits out a backoff."""
    def sleep(seconds: float) -> None:
        stop.wait(seconds)
    return sleep


def retrying(stop: threading.Event, budget_s: float) -> tenacity.Retrying:
    """Retry DatabaseUnavailable with jittered backoff for at most budget_s, or until stop is set."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(errors.DatabaseUnavailable),
        # = wait_exponential_jitter(initial=0.05, ...), whose `initial=` is deprecated in tenacity 9.2.
        wait=tenacity.wait_exponential(multiplier=0.05, max=RETRY_MAX_WAIT_S) + tenacity.wait_random(0, 0.05),
        stop=tenacity.stop_after_delay(budget_s) | tenacity.stop_when_event_set(stop),
        sleep=interruptible_sleep(stop),
        before_sleep=tenacity.before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )
