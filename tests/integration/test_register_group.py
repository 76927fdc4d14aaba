"""Group commit (Registrar.commit_many) decides every MO exactly as committing them one by one
would: same outcomes, same rows; redeliveries and duplicates inside one group included."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from smsreg import codec, db, passwords
from smsreg.register import Mo, Registrar
from smsreg.replies import Outcome
from tests.conftest import _create, _drop, _dsn_for, make_config

NOW = dt.datetime(2025, 6, 1, 3, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(seconds=600)  # registration.redelivery_window_s by default


def mo(text: str, source: str, at: dt.datetime = NOW) -> Mo:
    return Mo(source_addr=source, dest_addr="8188", data_coding=0, payload=codec.encode_text(text, 0),
              received_at=at, source_ton=None)


def reg(n: int, name: str = "Nguyen Van An") -> str:
    return f"TK,{name},048090{n:06d},01.02.1990"


STORED_BEFORE = [mo(reg(9), "84905000009"), mo("TK sai", "84905000010")]
GROUP = [
    mo(reg(1), "84905000001"),                       # ok
    mo(reg(1), "84905000001"),                       # identical: a redelivery of the one before
    mo(reg(1, "Tran Van Binh"), "84905000002"),      # same ID: duplicate_id
    mo(reg(2), "84905000001"),                       # same phone: duplicate_phone
    mo("TK Nguyen Van An 01.02.1990", "84905000003"),  # syntax_error
    mo(reg(3), "12345"),                             # invalid_sender (stored, never answered)
    mo(reg(4), "84905000004"),                       # ok
    mo(reg(9), "84905000009"),                       # stored before the group: a redelivery
    mo("TK sai", "84905000010", NOW + WINDOW + dt.timedelta(seconds=1)),  # same text, window over
    mo(reg(4), "84905000004", NOW + dt.timedelta(seconds=5)),             # redelivery within the group
]


@pytest.fixture
def two_dsns(admin_dsn: str, template_db: str) -> Iterator[tuple[str, str]]:
    names = [f"smsreg_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for name in names:
        _create(admin_dsn, name, template_db)
    yield _dsn_for(admin_dsn, names[0]), _dsn_for(admin_dsn, names[1])
    for name in names:
        _drop(admin_dsn, name)


def same_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same passwords for both runs, so the reply texts can be compared."""
    numbers = itertools.count()
    monkeypatch.setattr(passwords, "generate", lambda: f"Pw{next(numbers):06d}")


def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(dsn, autocommit=True) as c:
        return {
            "inbound": c.execute("SELECT source_addr, outcome, reason, account_id IS NOT NULL FROM inbound_sms "
                                 "ORDER BY id").fetchall(),
            "accounts": c.execute("SELECT id_number, phone, full_name FROM account ORDER BY id").fetchall(),
            "outbound": c.execute("SELECT destination, kind, body, secret, segments FROM outbound_sms "
                                  "ORDER BY id").fetchall(),
        }


def run(dsn: str, grouped: bool, monkeypatch: pytest.MonkeyPatch) -> list[Outcome]:
    cfg = make_config(dsn)
    registrar = Registrar(cfg)
    same_passwords(monkeypatch)
    with db.connect(cfg.database, "test") as conn:
        for m in STORED_BEFORE:
            registrar.commit(conn, registrar.prepare(m))
        preps = [registrar.prepare(m) for m in GROUP]
        if grouped:
            return [r.outcome for r in registrar.commit_many(conn, preps)]
        return [registrar.commit(conn, p).outcome for p in preps]


def test_group_commit_decides_like_one_by_one(two_dsns: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    one_by_one, grouped = two_dsns
    expected = run(one_by_one, grouped=False, monkeypatch=monkeypatch)
    assert expected == [Outcome.OK, Outcome.REDELIVERY, Outcome.DUPLICATE_ID, Outcome.DUPLICATE_PHONE,
                        Outcome.SYNTAX_ERROR, Outcome.INVALID_SENDER, Outcome.OK, Outcome.REDELIVERY,
                        Outcome.SYNTAX_ERROR, Outcome.REDELIVERY]
    assert run(grouped, grouped=True, monkeypatch=monkeypatch) == expected
    assert snapshot(grouped) == snapshot(one_by_one)


def test_group_results_carry_the_row_ids(two_dsns: tuple[str, str]) -> None:
    dsn = two_dsns[0]
    cfg = make_config(dsn)
    registrar = Registrar(cfg)
    with db.connect(cfg.database, "test") as conn:
        results = registrar.commit_many(conn, [registrar.prepare(m) for m in GROUP[:2]])
    first, again = results
    assert first.inbound_id is not None and first.outbound_id is not None and first.account_id is not None
    assert again.outcome is Outcome.REDELIVERY and again.inbound_id == first.inbound_id


def test_a_group_without_registrations(two_dsns: tuple[str, str]) -> None:
    """Columns that are NULL for every MO of the group (account, secret, reason) still type."""
    dsn = two_dsns[0]
    cfg = make_config(dsn)
    registrar = Registrar(cfg)
    group = [mo("TK sai", f"8490500010{i}") for i in range(3)] + [mo("TK sai", "12345")]
    with db.connect(cfg.database, "test") as conn:
        results = registrar.commit_many(conn, [registrar.prepare(m) for m in group])
    assert [r.outcome for r in results] == [Outcome.SYNTAX_ERROR] * 3 + [Outcome.INVALID_SENDER]
    assert [r.outbound_id is None for r in results] == [False, False, False, True]
    with psycopg.connect(dsn, autocommit=True) as c:
        assert c.execute("SELECT count(*), count(account_id), count(secret) FROM outbound_sms").fetchone() == (3, 0, 0)
