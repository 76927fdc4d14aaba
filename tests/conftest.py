"""Shared fixtures: a real PostgreSQL (one migrated template, a fresh clone per test) and config.

The server comes from $SMSREG_TEST_DSN (set by `make test`), else 127.0.0.1:5432. Without one,
database tests fail with a clear message: they are never skipped silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import conninfo
from psycopg import sql as pgsql

from smsreg import config, db, migrate

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TEMPLATE = f"smsreg_test_tmpl_{os.getpid()}"

# Cheap argon2 for tests: the cost is a parameter, the format and code path are the same.
FAST_HASH_ENV = {"SMSREG_PASSWORDS_TIME_COST": "1", "SMSREG_PASSWORDS_MEMORY_KIB": "64"}


def _admin_dsn() -> str:
    dsn = os.environ.get("SMSREG_TEST_DSN", DEFAULT_ADMIN_DSN)
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is required for this test and {dsn!r} does not answer ({exc}). "
                    "Run `make test`, which starts one, or set SMSREG_TEST_DSN.", pytrace=False)
    return dsn


def _dsn_for(admin: str, name: str) -> str:
    return conninfo.make_conninfo(admin, dbname=name)


def _create(admin: str, name: str, template: str | None = None) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        query = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name))
        if template:
            query = pgsql.SQL("{} TEMPLATE {}").format(query, pgsql.Identifier(template))
        conn.execute(query)


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    return _admin_dsn()


@pytest.fixture(scope="session")
def template_db(admin_dsn: str) -> Iterator[str]:
    _drop(admin_dsn, TEMPLATE)
    _create(admin_dsn, TEMPLATE)
    cfg = make_config(_dsn_for(admin_dsn, TEMPLATE))
    migrate.apply(cfg.database)
    yield TEMPLATE
    _drop(admin_dsn, TEMPLATE)


@pytest.fixture
def dsn(admin_dsn: str, template_db: str) -> Iterator[str]:
    """A freshly migrated, empty database of this test's own."""
    name = f"smsreg_test_{uuid.uuid4().hex[:12]}"
    _create(admin_dsn, name, template_db)
    yield _dsn_for(admin_dsn, name)
    _drop(admin_dsn, name)


def make_config(dsn: str, **env: str) -> config.Config:
    environ: dict[str, Any] = {"SMSREG_DATABASE_URL": dsn, **FAST_HASH_ENV, **env}
    return config.load("/dev/null", environ)


@pytest.fixture
def cfg(dsn: str) -> config.Config:
    return make_config(dsn)


@pytest.fixture
def conn(cfg: config.Config) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with db.connect(cfg.database, "test") as connection:
        yield connection


def clone_template(admin_dsn: str, template_db: str) -> Iterator[str]:
    """Body of a module-scoped database fixture: one migrated clone for the whole module."""
    name = f"smsreg_test_{uuid.uuid4().hex[:12]}"
    _create(admin_dsn, name, template_db)
    yield _dsn_for(admin_dsn, name)
    _drop(admin_dsn, name)


def emptied(dsn: str) -> str:
    """Empty every table but the migration log and restart the sequences, as a fresh clone would be."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'smsreg_migrations'")]
        conn.execute(pgsql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            pgsql.SQL(", ").join(map(pgsql.Identifier, tables))))
    return dsn


@pytest.fixture(scope="module")
def module_db(admin_dsn: str, template_db: str) -> Iterator[str]:
    """For modules that override `dsn` with `emptied(module_db)`: one clone per module."""
    yield from clone_template(admin_dsn, template_db)
