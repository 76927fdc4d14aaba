"""The benchmark's database: dropped, created and migrated afresh for each scenario."""

from __future__ import annotations

import os

import psycopg
from psycopg import conninfo
from psycopg import sql as pgsql

from smsreg import config, migrate

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NAME = "smsreg_bench"


def admin_dsn() -> str:
    """$SMSREG_TEST_DSN (set by `devdb run`), else the local server."""
    return os.environ.get("SMSREG_TEST_DSN") or DEFAULT_ADMIN_DSN


def bench_name() -> str:
    """The database named by $SMSREG_DATABASE_URL (devdb --database), else smsreg_bench."""
    url = os.environ.get("SMSREG_DATABASE_URL")
    if url:
        name = conninfo.conninfo_to_dict(url).get("dbname")
        if name:
            return str(name)
    return DEFAULT_NAME


def fresh(admin: str, name: str) -> str:
    """Drop and recreate database name, apply the migrations; its DSN."""
    if name in ("postgres", "template0", "template1"):
        raise SystemExit(f"bench: refusing to recreate database {name!r}")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    dsn = conninfo.make_conninfo(admin, dbname=name)
    migrate.apply(config.DatabaseConfig(url=config.Secret(dsn)))
    return dsn


def server_facts(dsn: str) -> dict[str, str]:
    """Server settings that change commit costs; part of every report."""
    names = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections")
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(names),))
        return {str(k): str(v) for k, v in rows.fetchall()}


def backend_pids(dsn: str) -> list[int]:
    """Server processes serving the worker (application_name smsreg-*) in this database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name LIKE 'smsreg-%%'").fetchall()
    return [int(r[0]) for r in rows]
