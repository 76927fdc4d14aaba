"""The portal's contract on the account table (accounts.set_password / verify) against PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from smsreg import accounts, codec, config, db, errors, passwords
from smsreg.register import Mo, Registrar
from tests.conftest import emptied

USERNAME = "048090012345"


@pytest.fixture
def dsn(module_db: str) -> str:
    """One migrated database for the module, emptied before each test (see test_register)."""
    return emptied(module_db)


def fetch(dsn: str, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as c:
        return c.execute(query, params).fetchall()


@pytest.fixture
def hasher(cfg: config.Config) -> passwords.Hasher:
    return passwords.Hasher(cfg.passwords)


@pytest.fixture
def first_password(cfg: config.Config, dsn: str) -> str:
    """Register 048090012345 the way an MO does; return the password the SMS carries."""
    registrar = Registrar(cfg)
    mo = Mo("84905123456", "8188", 0, codec.encode_text(f"TK,Nguyen Van An,{USERNAME},01.02.1990", 0),
            dt.datetime.now(dt.UTC))
    with psycopg.connect(dsn) as conn:
        result = registrar.commit(conn, registrar.prepare(mo))
    assert result.username == USERNAME
    (secret,) = fetch(dsn, "SELECT secret FROM outbound_sms")[0]
    return str(secret)


def connection(cfg: config.Config) -> psycopg.Connection[tuple[Any, ...]]:
    return db.connect(cfg.database, "test")


def test_first_password_verifies(cfg: config.Config, hasher: passwords.Hasher, first_password: str) -> None:
    with connection(cfg) as conn:
        assert accounts.verify(conn, hasher, USERNAME, first_password)
        assert not accounts.verify(conn, hasher, USERNAME, first_password.swapcase())
        assert not accounts.verify(conn, hasher, USERNAME, "")


def test_set_password_changes_state_and_password(
        cfg: config.Config, dsn: str, hasher: passwords.Hasher, first_password: str) -> None:
    with connection(cfg) as conn:
        accounts.set_password(conn, hasher, USERNAME, "my own password")
    ((state, changed_at, stored),) = fetch(
        dsn, "SELECT password_state, password_changed_at, password_hash FROM account")
    assert state == "changed" and changed_at is not None
    assert stored.startswith("$argon2id$") and "my own password" not in stored
    with connection(cfg) as conn:
        assert accounts.verify(conn, hasher, USERNAME, "my own password")
        assert not accounts.verify(conn, hasher, USERNAME, first_password)


def test_set_password_after_rotations_stops_expiry_and_keeps_history(
        cfg: config.Config, dsn: str, hasher: passwords.Hasher, first_password: str) -> None:
    """sql/accounts.sql set_password: the citizen's password never expires; rotations stay as history."""
    fetch(dsn, "UPDATE account SET password_state = 'rotated', rotations = 2 RETURNING id")
    with connection(cfg) as conn:
        accounts.set_password(conn, hasher, USERNAME, "my own password")
    assert fetch(dsn, "SELECT password_state, rotations FROM account") == [("changed", 2)]


@pytest.mark.parametrize("password", ["", "1234567", "a" * 129, "ngắn"])
def test_password_length_outside_8_to_128_is_rejected(
        cfg: config.Config, dsn: str, hasher: passwords.Hasher, first_password: str, password: str) -> None:
    with connection(cfg) as conn, pytest.raises(ValueError, match="8 to 128"):
        accounts.set_password(conn, hasher, USERNAME, password)
    assert fetch(dsn, "SELECT password_state FROM account") == [("issued",)]
    with connection(cfg) as conn:
        assert accounts.verify(conn, hasher, USERNAME, first_password)


@pytest.mark.parametrize("password", ["12345678", "b" * 128, "Mật khẩu mới ✓"])
def test_password_length_at_the_limits_is_accepted(
        cfg: config.Config, hasher: passwords.Hasher, first_password: str, password: str) -> None:
    with connection(cfg) as conn:
        accounts.set_password(conn, hasher, USERNAME, password)
    with connection(cfg) as conn:
        assert accounts.verify(conn, hasher, USERNAME, password)


def test_unknown_account(cfg: config.Config, dsn: str, hasher: passwords.Hasher, first_password: str) -> None:
    with connection(cfg) as conn, pytest.raises(errors.UnknownAccount):
        accounts.set_password(conn, hasher, "201234567", "long enough")
    with connection(cfg) as conn:
        assert not accounts.verify(conn, hasher, "201234567", "long enough")
        # The lookup is exact: no prefix, no leading-zero or numeric coercion.
        assert not accounts.verify(conn, hasher, USERNAME.lstrip("0"), first_password)
        assert not accounts.verify(conn, hasher, USERNAME + " ", first_password)
    assert fetch(dsn, "SELECT password_state FROM account") == [("issued",)]


def test_disabled_account_does_not_verify_until_the_citizen_sets_a_password(
        cfg: config.Config, dsn: str, hasher: passwords.Hasher, first_password: str) -> None:
    fetch(dsn, "UPDATE account SET password_hash = NULL, password_state = 'disabled' RETURNING id")
    with connection(cfg) as conn:
        assert accounts.verify(conn, hasher, USERNAME, first_password) is False
        assert accounts.verify(conn, hasher, USERNAME, "") is False
    with connection(cfg) as conn:
        accounts.set_password(conn, hasher, USERNAME, "back again")
    with connection(cfg) as conn:
        assert accounts.verify(conn, hasher, USERNAME, "back again")
    assert fetch(dsn, "SELECT password_state FROM account") == [("changed",)]
