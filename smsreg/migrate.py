"""`smsreg migrate`: apply sql/migrations/NNNN_name.sql in order, each once, under an advisory lock."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import LiteralString

import psycopg

from smsreg import config, db, errors, sql

logger = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every smsreg process.
LOCK_KEY = 0x5345_6752_6567  # "SMSReg"
_FILE = re.compile(r"^(?P<version>[0-9]{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_TABLE: LiteralString = """
CREATE TABLE IF NOT EXISTS smsreg_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql.sql_dir() / "migrations"
    found = []
    for path in sorted(directory.iterdir()):
        match = _FILE.match(path.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], path))
        elif path.suffix == ".sql":
            raise errors.MigrationError(f"migration file name not NNNN_name.sql: {path.name}")
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise errors.MigrationError("two migrations share a version number")
    return found


def apply(cfg: config.DatabaseConfig) -> list[Migration]:
    """Apply every pending migration, one transaction each; return the ones applied now.

    Concurrent runs serialise on an advisory lock, so two workers starting together are safe.
    """
    pending = discover()
    applied: list[Migration] = []
    with db.connect(cfg, "migrate") as conn, db.wrap_errors():
        for migration in pending:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                conn.execute(_CREATE_TABLE)
                done = conn.execute("SELECT 1 FROM smsreg_migrations WHERE version = %s",
                                    (migration.version,)).fetchone()
                if done:
                    continue
                _run(conn, migration)
                applied.append(migration)
    return applied


def _run(conn: psycopg.Connection[tuple[object, ...]], migration: Migration) -> None:
    logger.info("applying migration %04d_%s", migration.version, migration.name,
                extra={"action": "migration_applied"})
    try:
        # Migration files are trusted project files, not user input.
        conn.execute(migration.path.read_text(encoding="utf-8"))  # a trusted project file
    except psycopg.Error as exc:
        raise errors.MigrationError(f"{migration.path.name}: {exc}") from exc
    conn.execute("INSERT INTO smsreg_migrations (version, name) VALUES (%s, %s)",
                 (migration.version, migration.name))


def current_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute("SELECT coalesce(max(version), 0) FROM smsreg_migrations").fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]
