"""The outbox in SQL against a real PostgreSQL: SKIP LOCKED claims across connections, leases
that expire, settling rows (plaintext erased), receipts by hex/decimal id, and password SMS
that a newer password has superseded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from smsreg import codec, config, db, expire, outbox, receipts, register

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def link(cfg: config.Config) -> Iterator[psycopg.Connection[Any]]:
    with db.connect(cfg.database, "test-outbox", autocommit=True) as conn:
        yield conn


def register_one(cfg: config.Config, conn: psycopg.Connection[Any], index: int,
                 text: str | None = None) -> register.Result:
    registrar = register.Registrar(cfg)
    body = text or f"TK,Nguyen Van An,0480900{index:05d},01.02.1990"
    mo = register.Mo(f"8490500{index:04d}", "8188", 0, codec.encode_text(body, 0), NOW)
    return registrar.commit(conn, registrar.prepare(mo))


def states(conn: psycopg.Connection[Any]) -> dict[int, str]:
    return dict(conn.execute("SELECT id, state FROM outbound_sms").fetchall())


def test_two_claimers_never_get_the_same_row(cfg: config.Config, conn: psycopg.Connection[Any]) -> None:
    for i in range(20):
        register_one(cfg, conn, i, text="not a registration")
    with db.connect(cfg.database, "a") as a, db.connect(cfg.database, "b") as b:
        a.execute("BEGIN")
        first = a.execute("SELECT id FROM outbound_sms ORDER BY id LIMIT 5 FOR UPDATE").fetchall()
        claimed_b = outbox.claim(b, 100, "b", lease_s=30)   # skips the 5 rows a holds
        a.rollback()
        claimed_a = outbox.claim(a, 100, "a", lease_s=30)
    ids_b = {row.id for row in claimed_b}
    ids_a = {row.id for row in claimed_a}
    assert len(ids_b) == 15 and not ids_b & {r[0] for r in first}
    assert ids_a == {r[0] for r in first}
    assert set(states(conn).values()) == {"sending"}


def test_an_expired_lease_makes_a_row_claimable_again(cfg: config.Config, conn: psycopg.Connection[Any],
                                                       link: psycopg.Connection[Any]) -> None:
    register_one(cfg, conn, 1, text="nonsense")
    [row] = outbox.claim(conn, 10, "crashed-sender", lease_s=30)
    assert outbox.claim(conn, 10, "other", lease_s=30) == []
    link.execute("UPDATE outbound_sms SET claimed_at = now() - interval '31 seconds'")
    [again] = outbox.claim(conn, 10, "other", lease_s=30)
    assert again.id == row.id and again.attempts == 2


def test_submitted_reply_keeps_ids_and_loses_its_plaintext(cfg: config.Config, conn: psycopg.Connection[Any],
                                                            link: psycopg.Connection[Any]) -> None:
    result = register_one(cfg, conn, 2)
    secret = link.execute("SELECT secret FROM outbound_sms").fetchone()[0]
    assert secret and secret in (result.reply or "")
    [row] = outbox.claim(conn, 10, "s", lease_s=30)
    outbox.mark_submitted(conn, row.id, ["1a2b3c"])
    body, stored_secret, ids, state = link.execute(
        "SELECT body, secret, smsc_message_ids, state FROM outbound_sms").fetchone()
    assert stored_secret is None and secret not in body and "********" in body
    assert ids == ["1a2b3c"] and state == "sent"


@pytest.mark.parametrize("receipt_id", ["1a2b3c", "1A2B3C", str(0x1A2B3C)])
def test_receipt_matches_hex_or_decimal_ids(cfg: config.Config, conn: psycopg.Connection[Any],
                                            link: psycopg.Connection[Any], receipt_id: str) -> None:
    register_one(cfg, conn, 3, text="nonsense")
    [row] = outbox.claim(conn, 10, "s", lease_s=30)
    outbox.mark_submitted(conn, row.id, ["1a2b3c"])
    assert outbox.record_receipt(conn, receipts.Receipt(receipt_id, "delivered")) == 1
    assert states(link) == {row.id: "delivered"}
    assert outbox.record_receipt(conn, receipts.Receipt("ffff", "delivered")) == 0


def test_released_row_waits_for_its_delay(cfg: config.Config, conn: psycopg.Connection[Any]) -> None:
    register_one(cfg, conn, 4, text="nonsense")
    [row] = outbox.claim(conn, 10, "s", lease_s=30)
    outbox.release(conn, [row.id], 60, "throttled")
    assert outbox.claim(conn, 10, "s", lease_s=30) == []
    outbox.release(conn, [row.id], 0, "ignored: not sending any more")
    assert outbox.claim(conn, 10, "s", lease_s=30) == []


def test_a_welcome_sms_superseded_by_a_rotation_is_not_sent(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    """An SMSC outage longer than expiry.after: the first password was rotated before it went out."""
    register_one(cfg, conn, 5)
    parser = argparse.ArgumentParser()
    expire.configure_parser(parser)
    assert expire.run(cfg, parser.parse_args(["--now", (NOW + dt.timedelta(days=4)).isoformat()])) == 0
    claimed = outbox.claim(conn, 10, "s", lease_s=30)
    kinds = dict(link.execute("SELECT id, kind FROM outbound_sms").fetchall())
    assert [kinds[row.id] for row in claimed] == ["reminder"]
    failed = link.execute("SELECT kind, secret, error FROM outbound_sms WHERE state = 'failed'").fetchall()
    assert failed == [("ok", None, "superseded: the password changed before it was sent")]


def test_a_password_sms_is_not_sent_after_the_citizen_changed_it(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    register_one(cfg, conn, 6)
    link.execute("UPDATE account SET password_state = 'changed', password_changed_at = now()")
    assert outbox.claim(conn, 10, "s", lease_s=30) == []
    assert link.execute("SELECT state, secret FROM outbound_sms").fetchall() == [("failed", None)]


def test_replies_without_a_password_are_never_superseded(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    register_one(cfg, conn, 7)
    # The same phone again with another ID: a duplicate_phone reply, no password in it.
    register_one(cfg, conn, 7, text="TK,Tran Van Binh,048090099999,01.02.1990")
    link.execute("UPDATE account SET password_state = 'changed'")
    claimed = outbox.claim(conn, 10, "s", lease_s=30)
    assert len(claimed) == 1 and "So dien thoai" in claimed[0].body


def test_a_receipt_before_its_reply_is_marked_sent_is_applied_then(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    """The SMSC sends the receipt right behind the submit_sm_resp; a worker stores it first."""
    register_one(cfg, conn, 8, text="nonsense")
    [row] = outbox.claim(conn, 10, "s", lease_s=30)
    assert outbox.record_receipt(conn, receipts.Receipt(str(0xABCDEF), "undeliverable")) == 0
    outbox.mark_submitted(conn, row.id, ["abcdef"])
    assert states(link) == {row.id: "undeliverable"}


def test_a_mark_waits_for_a_receipt_being_recorded_and_then_takes_it(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    """The receipt's transaction holds the reply's id (not yet marked: the receipt is held);
    the sender's mark waits for its commit, then finds the held receipt."""
    register_one(cfg, conn, 9, text="nonsense")
    [row] = outbox.claim(conn, 10, "s", lease_s=30)
    with db.connect(cfg.database, "receipt") as receipt_conn:
        with receipt_conn.transaction():
            assert outbox.record_receipts(receipt_conn, [receipts.Receipt("c0ffee", "delivered")]) == 0
            sender = threading.Thread(target=outbox.mark_submitted, args=(conn, row.id, ["c0ffee"]))
            sender.start()
            sender.join(0.5)
            assert sender.is_alive(), "the mark did not wait for the receipt's transaction"
        sender.join(10)
    assert not sender.is_alive()
    assert states(link) == {row.id: "delivered"}
    assert link.execute("SELECT count(*) FROM early_receipt").fetchone() == (0,)


def test_a_receipt_waits_for_a_mark_being_committed_and_then_applies_to_it(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    """The sender's transaction holds the ids it is marking; a receipt about one of them waits
    for that commit, then finds the reply marked and applies to it directly."""
    register_one(cfg, conn, 10, text="nonsense")
    [row] = outbox.claim(conn, 10, "s", lease_s=30)
    matched: list[int] = []
    with db.connect(cfg.database, "sender") as sender_conn:
        with sender_conn.transaction():
            outbox.mark_submitted_many(sender_conn, [(row.id, ["beef01", "beef02"])])
            receipt = threading.Thread(target=lambda: matched.append(
                outbox.record_receipt(conn, receipts.Receipt("BEEF02", "undeliverable"))))
            receipt.start()
            receipt.join(0.5)
            assert receipt.is_alive(), "the receipt did not wait for the mark's transaction"
        receipt.join(10)
    assert matched == [1]
    assert states(link) == {row.id: "undeliverable"}
    assert link.execute("SELECT count(*) FROM early_receipt").fetchone() == (0,)


def test_an_applied_receipt_takes_all_its_id_forms_with_it(
        cfg: config.Config, conn: psycopg.Connection[Any], link: psycopg.Connection[Any]) -> None:
    """Receipt '26' is held as '26', '1a' and '38'; once it is applied as '26', a later reply
    whose id happens to be '38' must not inherit its state."""
    register_one(cfg, conn, 11, text="nonsense")
    register_one(cfg, conn, 12, text="nonsense")
    first, second = outbox.claim(conn, 10, "s", lease_s=30)
    outbox.record_receipt(conn, receipts.Receipt("26", "undeliverable"))
    assert {r[0] for r in link.execute("SELECT message_id FROM early_receipt")} == set(receipts.id_forms("26"))
    outbox.mark_submitted(conn, first.id, ["26"])
    outbox.mark_submitted(conn, second.id, ["38"])
    assert states(link) == {first.id: "undeliverable", second.id: "sent"}
    assert link.execute("SELECT count(*) FROM early_receipt").fetchone() == (0,)


def test_old_early_receipts_are_purged(cfg: config.Config, conn: psycopg.Connection[Any],
                                       link: psycopg.Connection[Any]) -> None:
    outbox.record_receipt(conn, receipts.Receipt("deadbeef", "delivered"))
    assert outbox.purge_early_receipts(conn) == 0
    link.execute("UPDATE early_receipt SET received_at = now() - interval '25 hours'")
    assert outbox.purge_early_receipts(conn) == len(receipts.id_forms("deadbeef"))


def test_claims_and_receipts_are_heap_only_updates(cfg: config.Config, conn: psycopg.Connection[Any]) -> None:
    """Migration 0008: neither the claim nor a delivery receipt touches an index (the two most
    frequent updates of a reply), so neither adds index entries nor needs vacuum to clean up."""
    for i in range(20, 30):
        register_one(cfg, conn, i, text="nonsense")

    def updates() -> tuple[int, int]:
        """(updates, HOT updates) of outbound_sms counted by this backend and not yet reported
        (reported only between transactions: differences within one transaction are exact)."""
        row = conn.execute("SELECT pg_stat_get_xact_tuples_updated('outbound_sms'::regclass), "
                           "pg_stat_get_xact_tuples_hot_updated('outbound_sms'::regclass)").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def step(work: Callable[[], object]) -> tuple[int, int]:
        with conn.transaction():
            before = updates()
            work()
            after = updates()
        return after[0] - before[0], after[1] - before[1]

    claimed: list[outbox.Claimed] = []
    assert step(lambda: claimed.extend(outbox.claim(conn, 10, "s", lease_s=30))) == (10, 10)
    # Not HOT: the message ids go into their index.
    assert step(lambda: outbox.mark_submitted_many(conn, [(r.id, [f"m{r.id}"]) for r in claimed])) == (10, 0)
    found = [receipts.Receipt(f"m{row.id}", "delivered") for row in claimed]
    assert step(lambda: outbox.record_receipts(conn, found)) == (10, 10)
    assert set(states(conn).values()) == {"delivered"}
