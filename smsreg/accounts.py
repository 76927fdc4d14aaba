"""The portal's contract on the account table: set a citizen's own password, verify one."""

from __future__ import annotations

import psycopg

from smsreg import errors, passwords, sql

MIN_LENGTH = 8
MAX_LENGTH = 128


def set_password(conn: psycopg.Connection[tuple[object, ...]], hasher: passwords.Hasher,
                 username: str, password: str) -> None:
    """Store the citizen's new password (state 'changed', so `smsreg expire` leaves it alone).

    Raises UnknownAccount, or ValueError for a password outside MIN_LENGTH..MAX_LENGTH.
    """
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    with conn.transaction():
        row = conn.execute(sql.Q["set_password"], {
            "username": username, "password_hash": hasher.hash(password)}).fetchone()
    if row is None:
        raise errors.UnknownAccount()


def verify(conn: psycopg.Connection[tuple[object, ...]], hasher: passwords.Hasher,
           username: str, password: str) -> bool:
    """True when the account exists, its password is not disabled, and the password matches."""
    row = conn.execute(sql.Q["get_password_hash"], {"username": username}).fetchone()
    return row is not None and hasher.verify(row[0], password)  # type: ignore[arg-type]
