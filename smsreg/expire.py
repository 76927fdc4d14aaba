"""`smsreg expire` (cron): replace system-issued passwords nobody changed within expiry.after,
queue a reminder carrying the new one, and disable the password after expiry.max_rotations.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import rows

from smsreg import codec, config, db, errors, expire_metrics, outbox, passwords, replies, sql

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]
Tally = expire_metrics.Tally

EXIT_FAILURE = 1
# Keyset paging starts before every possible password_issued_at.
KEYSET_START = dt.datetime.min.replace(tzinfo=dt.UTC)
# The longest user name (a 12-digit CCCD number), for the one-segment check of the template.
LONGEST_USERNAME = "0" * 12


@dataclass(frozen=True, slots=True)
class Due:
    """An account whose system-issued password is older than the cutoff, as read without locks."""

    account_id: int
    username: str = field(repr=False)
    issued_at: dt.datetime
    rotations: int


@dataclass(frozen=True, slots=True)
class Reissue:
    """A new password for one account, hashed and rendered before any row is locked."""

    account_id: int
    password_hash: str = field(repr=False)
    body: str = field(repr=False)
    secret: str = field(repr=False)
    segments: int


class Expirer:
    """Rotates due passwords in batches on one autocommit connection; each batch is one
    transaction, and a failed batch is retried one account at a time."""

    def __init__(self, cfg: config.Config, hasher: passwords.Hasher | None = None,
                 threads: int | None = None) -> None:
        self._cfg = cfg
        self._hasher = hasher or passwords.Hasher(cfg.passwords)
        self._threads = threads or _cpu_count()

    def cutoff(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(seconds=self._cfg.expiry.after_s)

    def run(self, conn: Conn, tally: Tally, *, now: dt.datetime | None = None,
            limit: int | None = None, dry_run: bool = False) -> None:
        """Handle every account due at `now` (default: the current time; at most limit of them),
        adding to tally as batches commit. Rotations are stamped `now`, or the batch's time.

        Raises DatabaseUnavailable / DatabaseError for a failure outside one batch; batches
        committed before it stay committed, and tally says what they did.
        """
        cutoff, cap = self.cutoff(now or _utcnow()), self._cfg.expiry.max_rotations
        tally.due = count_due(conn, cutoff)
        with concurrent.futures.ThreadPoolExecutor(self._threads, "smsreg-expire-hash") as pool:
            for batch in self.batches(conn, cutoff, limit):
                if dry_run:
                    tally.add(self.preview(batch))
                    continue
                fresh = self.prepare(pool, [d for d in batch if d.rotations < cap])
                tally.add(self.settle(conn, batch, fresh, cutoff, now or _utcnow()))

    def batches(self, conn: Conn, cutoff: dt.datetime, limit: int | None) -> Iterator[list[Due]]:
        """Due accounts, oldest first, in batches of expiry.batch_size; each one at most once."""
        after: tuple[dt.datetime, int] = (KEYSET_START, 0)
        remaining = limit
        while remaining is None or remaining > 0:
            size = min(self._cfg.expiry.batch_size, remaining or self._cfg.expiry.batch_size)
            batch = find_due(conn, cutoff, after, size)
            if batch:
                yield batch
            if len(batch) < size:
                return
            remaining = None if remaining is None else remaining - len(batch)
            after = (batch[-1].issued_at, batch[-1].account_id)

    def preview(self, batch: Sequence[Due]) -> Tally:
        """What a real run would do with batch, counted without locking or writing."""
        disabled = sum(1 for d in batch if d.rotations >= self._cfg.expiry.max_rotations)
        return Tally(rotated=len(batch) - disabled, disabled=disabled)

    def prepare(self, pool: concurrent.futures.Executor, due: Sequence[Due]) -> dict[int, Reissue]:
        """New passwords for due, hashed in parallel (libargon2 releases the GIL), no lock held."""
        plain = [passwords.generate() for _ in due]
        hashes = pool.map(self._hasher.hash, plain)
        return {d.account_id: self._reissue(d, p, h) for d, p, h in zip(due, plain, hashes, strict=True)}

    def _reissue(self, due: Due, password: str, password_hash: str) -> Reissue:
        body = replies.render_template(self._cfg.replies, "reminder", due.username, password)
        return Reissue(due.account_id, password_hash, body, password, codec.segment_count(body))

    def settle(self, conn: Conn, batch: Sequence[Due], fresh: dict[int, Reissue],
               cutoff: dt.datetime, now: dt.datetime) -> Tally:
        """commit() the batch; if the database refuses it, commit each account on its own so
        one bad row costs one error, not the batch. DatabaseUnavailable propagates."""
        try:
            return self.commit(conn, batch, fresh, cutoff, now)
        except errors.DatabaseError as exc:
            if len(batch) == 1:
                logger.error("account id=%d not rotated: %s", batch[0].account_id, exc,
                             extra={"action": "expire_failed"})
                return Tally(errors=1)
            logger.warning("a batch of %d failed (%s); retrying one account at a time", len(batch), exc)
            tally = Tally()
            for due in batch:
                tally.add(self.settle(conn, [due], fresh, cutoff, now))
            return tally

    def commit(self, conn: Conn, batch: Sequence[Due], fresh: dict[int, Reissue],
               cutoff: dt.datetime, now: dt.datetime) -> Tally:
        """ONE transaction: lock what is still due (SKIP LOCKED), rotate it and queue its
        reminder, or disable it past max_rotations. Each account ends either rotated with its
        reminder queued, disabled, or untouched. Raises DatabaseError / DatabaseUnavailable,
        and then nothing of the batch was committed.
        """
        cap = self._cfg.expiry.max_rotations
        with db.wrap_errors(), conn.transaction():
            locked = conn.execute(sql.Q["lock_due_accounts"], {
                "ids": [d.account_id for d in batch], "cutoff": cutoff}).fetchall()
            rotations = {_int(row[0]): _int(row[1]) for row in locked}
            rotated = _rotate(conn, [fresh[i] for i, n in rotations.items() if n < cap and i in fresh], now)
            disabled = _disable(conn, [i for i, n in rotations.items() if n >= cap])
        logger.debug("batch committed: rotated=%d disabled=%d skipped=%d", rotated, disabled,
                     len(batch) - rotated - disabled)
        return Tally(rotated=rotated, disabled=disabled, skipped=len(batch) - rotated - disabled)


def count_due(conn: Conn, cutoff: dt.datetime) -> int:
    with db.wrap_errors():
        row = conn.execute(sql.Q["count_due_accounts"], {"cutoff": cutoff}).fetchone()
    return _int(row[0]) if row else 0


def find_due(conn: Conn, cutoff: dt.datetime, after: tuple[dt.datetime, int], limit: int) -> list[Due]:
    """The next limit due accounts after the keyset position `after`, read without locks."""
    with db.wrap_errors(), conn.cursor(row_factory=rows.class_row(Due)) as cur:
        return cur.execute(sql.Q["select_due_accounts"], {
            "cutoff": cutoff, "after_issued_at": after[0], "after_id": after[1], "limit": limit,
        }).fetchall()


def _rotate(conn: Conn, reissues: Sequence[Reissue], now: dt.datetime) -> int:
    if not reissues:
        return 0
    queued = conn.execute(sql.Q["rotate_passwords"], {
        "ids": [r.account_id for r in reissues], "hashes": [r.password_hash for r in reissues],
        "bodies": [r.body for r in reissues], "secrets": [r.secret for r in reissues],
        "segments": [r.segments for r in reissues], "now": now,
    }).fetchall()
    outbox.wake_senders(conn)
    return len(queued)


def _disable(conn: Conn, account_ids: Sequence[int]) -> int:
    if not account_ids:
        return 0
    disabled = conn.execute(sql.Q["disable_passwords"], {"ids": list(account_ids)}).fetchall()
    for row in disabled:
        logger.info("account id=%d: password disabled after the last rotation", _int(row[0]),
                    extra={"action": "expire_disabled"})
    return len(disabled)


def try_lock(conn: Conn) -> bool:
    """Take the run's session advisory lock; False when another run, on any host, holds it."""
    with db.wrap_errors():
        row = conn.execute(sql.Q["try_expire_lock"]).fetchone()
    return bool(row and row[0])


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", type=parse_now, default=None, metavar="ISO-8601",
                   help="pretend the time is this (for tests; also the time stamps written); "
                        "without an offset it is UTC")
    p.add_argument("--dry-run", action="store_true",
                   help="count what is due and what would happen; change nothing")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="handle at most N due accounts in this run (the rest: next run)")


def run(cfg: config.Config, args: argparse.Namespace) -> int:
    """`smsreg expire`: one summary line on stdout, errors on stderr, expiry.metrics_file
    rewritten (not for --dry-run). Exit 0 when nothing failed or another run holds the lock,
    1 when anything failed (the database unreachable included).
    """
    started = time.monotonic()
    tally = Tally()
    try:
        with db.connect(cfg.database, "expire", autocommit=True) as conn:
            if not args.dry_run and not try_lock(conn):
                print("expire: another run is active; nothing done")
                return 0
            _check_reminder(cfg)
            Expirer(cfg).run(conn, tally, now=args.now, limit=args.limit, dry_run=args.dry_run)
    except (errors.DatabaseUnavailable, errors.DatabaseError) as exc:
        tally.errors += 1
        print(f"smsreg expire: {exc}", file=sys.stderr)
    duration_s = time.monotonic() - started
    print(tally.summary(duration_s, dry_run=args.dry_run), flush=True)
    metrics_file = "" if args.dry_run else cfg.expiry.metrics_file
    if metrics_file and not _write_metrics(metrics_file, tally, duration_s):
        return EXIT_FAILURE
    return 0 if tally.errors == 0 else EXIT_FAILURE


def _write_metrics(path: str, tally: Tally, duration_s: float) -> bool:
    try:
        expire_metrics.write(path, tally, duration_s=duration_s, finished_at_s=time.time())
    except OSError as exc:
        print(f"smsreg expire: cannot write the metrics file {path}: {exc}", file=sys.stderr)
        return False
    return True


def _check_reminder(cfg: config.Config) -> None:
    """The reminder is meant to fit one SMS; say so once if the configured template does not."""
    body = replies.render_template(cfg.replies, "reminder", LONGEST_USERNAME, "x" * passwords.LENGTH)
    if (parts := codec.segment_count(body)) > 1:
        logger.warning("replies.reminder needs %d SMS segments for a 12-digit user name", parts)


def parse_now(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _cpu_count() -> int:
    # The CPUs this process may use: a container or taskset can allow fewer than the host has.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer column, got {type(value).__name__}")
    return value
