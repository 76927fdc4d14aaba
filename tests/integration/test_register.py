"""Registrar against a real PostgreSQL: outcomes, precedence (domain.md §1, §10 rows 38-43),
the stored rows, redelivery, and the races of architecture.md rules 2 and 3.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from smsreg import codec, config, parse, passwords, register, replies
from smsreg.register import Mo, Registrar
from smsreg.replies import Outcome
from tests.conftest import emptied, make_config

NOW = dt.datetime(2025, 6, 1, 3, 0, tzinfo=dt.UTC)
AN = "TK,Nguyen Van An,048090012345,01.02.1990"
AN_ID = "048090012345"
PHONE = "84905123456"
OTHER_PHONE = "84912000111"
RACERS = 8
RACE_ROUNDS = 4


def make_mo(text: str, source: str = PHONE, *, coding: int = 0,
            received_at: dt.datetime = NOW, ton: int | None = None,
            payload: bytes | None = None) -> Mo:
    if payload is None:
        payload = codec.encode_text(text, coding)
    return Mo(source_addr=source, dest_addr="8188", data_coding=coding, payload=payload,
              received_at=received_at, source_ton=ton)


def rows(dsn: str, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
    """Read with a connection of its own, so the test never holds the Registrar's transaction open."""
    with psycopg.connect(dsn, autocommit=True) as c:
        return c.execute(query, params).fetchall()


def count(dsn: str, table: str) -> int:
    return int(rows(dsn, f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture
def dsn(module_db: str) -> str:
    """Overrides conftest's database per test with one per module, emptied before each test:
    a clone plus a forced drop cost ~0.5 s on a busy machine, a TRUNCATE ~20 ms.
    """
    return emptied(module_db)


@pytest.fixture
def registrar(cfg: config.Config) -> Registrar:
    return Registrar(cfg)


@pytest.fixture
def submit(dsn: str, registrar: Registrar) -> Iterator[Any]:
    """prepare + commit on one connection, the way a worker does it."""
    with psycopg.connect(dsn) as connection:
        def run(mo: Mo, reg: Registrar = registrar) -> register.Result:
            return reg.commit(connection, reg.prepare(mo))
        yield run


def reply_text(cfg: config.Config, outcome: Outcome) -> str | None:
    return replies.render(cfg.replies, outcome)


# --- ok --------------------------------------------------------------------------------------


def test_ok_creates_account_inbound_and_one_reply(dsn: str, cfg: config.Config, submit: Any) -> None:
    result = submit(make_mo(AN, "0905123456"))

    assert result.outcome is Outcome.OK
    assert result.username == AN_ID
    (account,) = rows(dsn, "SELECT id, id_number, phone, full_name, name_as_typed, birth_date,"
                           " password_hash, password_state FROM account")
    acc_id, id_number, phone, full_name, as_typed, birth, pw_hash, state = account
    assert (id_number, phone, full_name, as_typed, birth, state) == (
        AN_ID, PHONE, "NGUYEN VAN AN", "Nguyen Van An", dt.date(1990, 2, 1), "issued")
    assert result.account_id == acc_id

    (inbound,) = rows(dsn, "SELECT id, source_addr, phone, outcome, account_id, payload, text FROM inbound_sms")
    assert inbound == (result.inbound_id, "0905123456", PHONE, "ok", acc_id,
                       codec.encode_text(AN, 0), AN)

    (outbound,) = rows(dsn, "SELECT id, inbound_id, account_id, destination, kind, body, secret,"
                            " state, segments FROM outbound_sms")
    out_id, inbound_id, out_acc, destination, kind, body, secret, state, segments = outbound
    assert (out_id, inbound_id, out_acc, destination, kind, state) == (
        result.outbound_id, result.inbound_id, acc_id, PHONE, "ok", "queued")
    assert secret is not None and len(secret) == passwords.LENGTH
    assert body == result.reply == replies.render(cfg.replies, Outcome.OK, AN_ID, secret)
    assert f"TK: {AN_ID}, MK: {secret} " in body
    assert segments == result.segments == 1

    hasher = passwords.Hasher(cfg.passwords)
    assert pw_hash.startswith("$argon2id$")
    assert secret not in pw_hash
    assert hasher.verify(pw_hash, secret)
    assert not hasher.verify(pw_hash, secret + "x")


def test_each_ok_gets_its_own_password(dsn: str, submit: Any) -> None:
    submit(make_mo(AN, PHONE))
    submit(make_mo("TK,Tran Thi Binh,201234567,05.06.1988", OTHER_PHONE))
    secrets = [r[0] for r in rows(dsn, "SELECT secret FROM outbound_sms ORDER BY id")]
    hashes = [r[0] for r in rows(dsn, "SELECT password_hash FROM account ORDER BY id")]
    assert len(set(secrets)) == 2 and len(set(hashes)) == 2


def test_ucs2_with_diacritics_is_folded_and_kept_as_typed(dsn: str, submit: Any) -> None:
    text = "TK,Nguyễn Văn Ân,048090012345,01.02.1990"
    result = submit(make_mo(text, coding=8))
    assert result.outcome is Outcome.OK
    assert rows(dsn, "SELECT full_name, name_as_typed FROM account") == [
        ("NGUYEN VAN AN", "Nguyễn Văn Ân")]
    assert rows(dsn, "SELECT data_coding, payload, text FROM inbound_sms") == [
        (8, text.encode("utf-16-be"), text)]


# --- rejections --------------------------------------------------------------------------------


def test_syntax_error_stores_inbound_and_queues_the_syntax_reply(
        dsn: str, cfg: config.Config, submit: Any) -> None:
    result = submit(make_mo("TK,Nguyen Van An,01.02.1990"))
    assert result.outcome is Outcome.SYNTAX_ERROR
    assert result.username is None and result.account_id is None
    assert count(dsn, "account") == 0
    assert rows(dsn, "SELECT outcome, reason, account_id FROM inbound_sms") == [
        ("syntax_error", result.reason, None)]
    assert result.reason
    assert rows(dsn, "SELECT kind, body, secret, destination FROM outbound_sms") == [
        ("syntax_error", reply_text(cfg, Outcome.SYNTAX_ERROR), None, PHONE)]
    assert result.reply == reply_text(cfg, Outcome.SYNTAX_ERROR)


def test_duplicate_id_from_another_phone(dsn: str, cfg: config.Config, submit: Any) -> None:
    submit(make_mo(AN, PHONE))
    # Any name or date: the number alone decides (§10 row 38).
    result = submit(make_mo("TK,Le Van Cuong,048090012345,01.02.1990", OTHER_PHONE))
    assert result.outcome is Outcome.DUPLICATE_ID
    assert result.account_id is None and result.username is None
    assert count(dsn, "account") == 1
    assert rows(dsn, "SELECT kind, body, secret, destination FROM outbound_sms ORDER BY id")[1] == (
        "duplicate_id", reply_text(cfg, Outcome.DUPLICATE_ID), None, OTHER_PHONE)
    assert rows(dsn, "SELECT outcome, account_id FROM inbound_sms ORDER BY id")[1] == ("duplicate_id", None)


def test_duplicate_phone_with_a_new_id(dsn: str, cfg: config.Config, submit: Any) -> None:
    submit(make_mo(AN, PHONE))
    result = submit(make_mo("TK,Tran Thi Binh,201234567,05.06.1988", PHONE))
    assert result.outcome is Outcome.DUPLICATE_PHONE
    assert count(dsn, "account") == 1
    assert rows(dsn, "SELECT kind, body, secret FROM outbound_sms ORDER BY id")[1] == (
        "duplicate_phone", reply_text(cfg, Outcome.DUPLICATE_PHONE), None)


def test_both_taken_is_duplicate_id(dsn: str, submit: Any) -> None:
    """§10 row 40: the ID check comes first, even when ID and phone belong to two accounts."""
    submit(make_mo(AN, PHONE))
    submit(make_mo("TK,Tran Thi Binh,201234567,05.06.1988", OTHER_PHONE))
    assert submit(make_mo(AN, OTHER_PHONE)).outcome is Outcome.DUPLICATE_ID
    assert submit(make_mo("TK , Nguyen Van An ; 048090012345 ; 1.2.1990", PHONE)).outcome \
        is Outcome.DUPLICATE_ID
    assert count(dsn, "account") == 2


def test_malformed_message_from_registered_phone_is_syntax_error(dsn: str, submit: Any) -> None:
    """§10 row 41: parsing precedes uniqueness."""
    submit(make_mo(AN, PHONE))
    result = submit(make_mo("TK,Nguyen Van An,048090012345", PHONE))
    assert result.outcome is Outcome.SYNTAX_ERROR
    assert rows(dsn, "SELECT kind FROM outbound_sms ORDER BY id") == [("ok",), ("syntax_error",)]


@pytest.mark.parametrize(("first", "second", "ton"), [
    ("84905123456", "0905123456", None),
    ("0905123456", "+84905123456", None),
    ("+84905123456", "905123456", None),
    ("905123456", "84905123456", 1),
    ("00 84 905 123 456", "0905123456", 2),
])
def test_same_phone_in_every_form_is_the_same_phone(
        dsn: str, submit: Any, first: str, second: str, ton: int | None) -> None:
    """§10 row 42."""
    assert submit(make_mo(AN, first)).outcome is Outcome.OK
    result = submit(make_mo("TK,Tran Thi Binh,201234567,05.06.1988", second, ton=ton))
    assert result.outcome is Outcome.DUPLICATE_PHONE
    assert {r[0] for r in rows(dsn, "SELECT destination FROM outbound_sms")} == {PHONE}


def test_rejected_messages_use_up_neither_number_nor_phone(dsn: str, submit: Any) -> None:
    submit(make_mo(AN, PHONE))
    # duplicate_phone for ID 201234567: the number stays free ...
    assert submit(make_mo("TK,Tran Thi Binh,201234567,05.06.1988", PHONE)).outcome \
        is Outcome.DUPLICATE_PHONE
    # ... duplicate_id from OTHER_PHONE: the phone stays free ...
    assert submit(make_mo(AN, OTHER_PHONE)).outcome is Outcome.DUPLICATE_ID
    # ... a syntax error from a third phone: nothing taken either.
    third = "84398765432"
    assert submit(make_mo("TK,Pham Van Dung,201234568", third)).outcome is Outcome.SYNTAX_ERROR
    assert submit(make_mo("TK,Tran Thi Binh,201234567,05.06.1988", OTHER_PHONE)).outcome is Outcome.OK
    assert submit(make_mo("TK,Pham Van Dung,201234568,07.08.1980", third)).outcome is Outcome.OK
    assert rows(dsn, "SELECT id_number, phone FROM account ORDER BY id") == [
        (AN_ID, PHONE), ("201234567", OTHER_PHONE), ("201234568", third)]


# --- redelivery (§3.2, §10 row 43) ---------------------------------------------------------------


def test_identical_mo_within_the_window_is_a_redelivery(dsn: str, submit: Any) -> None:
    first = submit(make_mo(AN, PHONE))
    again = submit(make_mo(AN, PHONE, received_at=NOW + dt.timedelta(seconds=599)))
    assert again.outcome is Outcome.REDELIVERY
    assert again.inbound_id == first.inbound_id
    assert again.outbound_id is None and again.reply is None and again.username is None
    assert (count(dsn, "inbound_sms"), count(dsn, "outbound_sms"), count(dsn, "account")) == (1, 1, 1)


def test_redelivery_of_a_rejected_mo_is_not_answered_twice(dsn: str, submit: Any) -> None:
    submit(make_mo("TK,Nguyen Van An", PHONE))
    assert submit(make_mo("TK,Nguyen Van An", PHONE)).outcome is Outcome.REDELIVERY
    assert (count(dsn, "inbound_sms"), count(dsn, "outbound_sms")) == (1, 1)


def test_same_bytes_after_the_window_is_a_new_message(dsn: str, submit: Any) -> None:
    submit(make_mo(AN, PHONE))
    result = submit(make_mo(AN, PHONE, received_at=NOW + dt.timedelta(seconds=601)))
    assert result.outcome is Outcome.DUPLICATE_ID
    assert rows(dsn, "SELECT kind FROM outbound_sms ORDER BY id") == [("ok",), ("duplicate_id",)]


def test_window_zero_turns_redelivery_detection_off(dsn: str, submit: Any) -> None:
    reg = Registrar(make_config(dsn, SMSREG_REGISTRATION_REDELIVERY_WINDOW_S="0"))
    assert submit(make_mo(AN, PHONE), reg).outcome is Outcome.OK
    assert submit(make_mo(AN, PHONE), reg).outcome is Outcome.DUPLICATE_ID
    assert (count(dsn, "inbound_sms"), count(dsn, "outbound_sms")) == (2, 2)


@pytest.mark.parametrize("change", ["source", "coding", "dest"])
def test_a_different_envelope_is_not_a_redelivery(dsn: str, submit: Any, change: str) -> None:
    submit(make_mo(AN, PHONE))
    if change == "source":
        mo = make_mo(AN, "0905123456")          # same phone, another form: a new message
    elif change == "coding":
        mo = make_mo(AN, PHONE, coding=8)
    else:
        mo = Mo(PHONE, "8189", 0, codec.encode_text(AN, 0), NOW)
    assert submit(mo).outcome is Outcome.DUPLICATE_ID
    assert count(dsn, "outbound_sms") == 2


def test_redelivery_key_covers_every_envelope_field() -> None:
    base = make_mo(AN)
    keys = {register.redelivery_key(m) for m in (
        base,
        Mo("84905123457", "8188", 0, base.payload, NOW),
        Mo(PHONE, "8189", 0, base.payload, NOW),
        Mo(PHONE, "8188", 1, base.payload, NOW),
        Mo(PHONE, "8188", 0, base.payload + b" ", NOW),
        # length-prefixed parts: moving a byte from one field into the next changes the key
        Mo(PHONE + "8", "188", 0, base.payload, NOW),
    )}
    assert len(keys) == 6
    assert register.redelivery_key(make_mo(AN, received_at=NOW + dt.timedelta(hours=1))) \
        == register.redelivery_key(base)


# --- senders and payloads ------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["02363822222", "8188", "84123", "+1 202 555 0100", "abc", ""])
def test_invalid_sender_is_stored_but_never_answered(dsn: str, submit: Any, source: str) -> None:
    result = submit(make_mo(AN, source))
    assert result.outcome is Outcome.INVALID_SENDER
    assert result.reply is None and result.outbound_id is None and result.segments == 0
    assert rows(dsn, "SELECT source_addr, phone, outcome, account_id FROM inbound_sms") == [
        (source, None, "invalid_sender", None)]
    assert (count(dsn, "outbound_sms"), count(dsn, "account")) == (0, 0)


@pytest.mark.parametrize("coding", [2, 4, 0xF4, 0xF7, 0x05])
def test_binary_data_coding_is_a_syntax_error(dsn: str, submit: Any, coding: int) -> None:
    result = submit(make_mo(AN, payload=AN.encode("ascii"), coding=coding))
    assert result.outcome is Outcome.SYNTAX_ERROR
    assert rows(dsn, "SELECT data_coding, text, payload FROM inbound_sms") == [
        (coding, None, AN.encode("ascii"))]
    assert rows(dsn, "SELECT kind FROM outbound_sms") == [("syntax_error",)]
    assert count(dsn, "account") == 0


@pytest.mark.parametrize(("coding", "payload"), [
    (1, b"TK,Nguyen Van An\x00,048090012345,01.02.1990'); DROP TABLE account;--"),
    (3, b"\x00\x00'); DROP TABLE account;-- \\x00 %s %(x)s $1 \xff"),
    (8, "TK,An\x00'); DROP TABLE account;--\ufeff".encode("utf-16-be")),
    (0, b"\x00\x1b\x00'); DROP TABLE inbound_sms;--"),
])
def test_nul_bytes_and_sql_metacharacters_are_stored_safely(
        dsn: str, submit: Any, coding: int, payload: bytes) -> None:
    result = submit(make_mo("", payload=payload, coding=coding))
    assert result.outcome is Outcome.SYNTAX_ERROR
    ((stored_payload, stored_text),) = rows(dsn, "SELECT payload, text FROM inbound_sms")
    assert stored_payload == payload
    assert stored_text is not None and "DROP TABLE" in stored_text and "\x00" not in stored_text
    assert count(dsn, "account") == 0
    assert count(dsn, "outbound_sms") == 1


def test_sql_metacharacters_in_a_valid_name_position_do_not_register(dsn: str, submit: Any) -> None:
    result = submit(make_mo("TK,Nguyen Van An');DROP TABLE account;--,048090012345,01.02.1990"))
    assert result.outcome is Outcome.SYNTAX_ERROR
    assert count(dsn, "account") == 0


def test_today_is_the_vietnam_date_of_receipt(dsn: str, submit: Any) -> None:
    """Born 01.06.2011: 14 on 1 June in Vietnam, which begins at 17:00 UTC on 31 May."""
    text = "TK,Nguyen Thi Hoa,048311012345,01.06.2011"
    before = dt.datetime(2025, 5, 31, 16, 59, tzinfo=dt.UTC)
    assert submit(make_mo(text, received_at=before)).outcome is Outcome.SYNTAX_ERROR
    after = dt.datetime(2025, 5, 31, 17, 0, tzinfo=dt.UTC)
    # Another form of the same sender, so the second MO is not taken for a redelivery.
    assert submit(make_mo(text, "0905123456", received_at=after)).outcome is Outcome.OK


# --- races (architecture.md rules 2 and 3) ---------------------------------------------------------


def _race(dsn: str, registrar: Registrar, mos: list[Mo]) -> list[Outcome]:
    """Each MO on its own connection and thread; all commit together after prepare()."""
    prepared = [registrar.prepare(mo) for mo in mos]
    barrier = threading.Barrier(len(mos))
    outcomes: list[Any] = [None] * len(mos)

    def work(i: int) -> None:
        with psycopg.connect(dsn) as connection:
            connection.execute("SELECT 1")
            connection.commit()
            barrier.wait(timeout=30)
            try:
                outcomes[i] = registrar.commit(connection, prepared[i]).outcome
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(mos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def _phone(i: int) -> str:
    return f"8490{i:07d}"


@pytest.mark.parametrize("round_", range(RACE_ROUNDS))
def test_race_same_id_from_different_phones(dsn: str, registrar: Registrar, round_: int) -> None:
    id_number = f"0480900{round_:05d}"
    mos = [make_mo(f"TK,Nguyen Van An,{id_number},01.02.1990", _phone(round_ * 100 + i))
           for i in range(RACERS)]
    outcomes = _race(dsn, registrar, mos)
    assert sorted(map(str, outcomes)) == sorted(["ok"] + ["duplicate_id"] * (RACERS - 1)), outcomes
    assert rows(dsn, "SELECT count(*) FROM account WHERE id_number = %s", (id_number,)) == [(1,)]
    assert count(dsn, "account") == 1
    assert rows(dsn, "SELECT kind, count(*) FROM outbound_sms o JOIN inbound_sms i ON i.id = o.inbound_id"
                     " WHERE i.phone = ANY(%s) GROUP BY kind ORDER BY kind",
                ([_phone(round_ * 100 + i) for i in range(RACERS)],)) == [
        ("duplicate_id", RACERS - 1), ("ok", 1)]


@pytest.mark.parametrize("round_", range(RACE_ROUNDS))
def test_race_same_phone_with_different_ids(dsn: str, registrar: Registrar, round_: int) -> None:
    phone = _phone(round_)
    mos = [make_mo(f"TK,Nguyen Van An,2012345{i:02d},01.02.1990", phone) for i in range(RACERS)]
    outcomes = _race(dsn, registrar, mos)
    assert sorted(map(str, outcomes)) == sorted(["ok"] + ["duplicate_phone"] * (RACERS - 1)), outcomes
    assert rows(dsn, "SELECT count(*) FROM account WHERE phone = %s", (phone,)) == [(1,)]
    assert rows(dsn, "SELECT kind, count(*) FROM outbound_sms GROUP BY kind ORDER BY kind") == [
        ("duplicate_phone", RACERS - 1), ("ok", 1)]
    assert count(dsn, "inbound_sms") == RACERS



@pytest.mark.parametrize("seed", range(3))
def test_race_with_overlapping_ids_and_phones(dsn: str, registrar: Registrar, seed: int) -> None:
    """Crossing conflicts (A's ID is B's, B's phone is C's, ...): no deadlock, no error, and every
    outcome agrees with the accounts that exist afterwards.
    """
    rng = random.Random(seed)
    pairs = [(f"20100{rng.randrange(3):04d}", _phone(rng.randrange(3))) for _ in range(RACERS)]
    mos = [make_mo(f"TK,Nguyen Van An,{id_number},01.02.1990", phone) for id_number, phone in pairs]
    outcomes = _race(dsn, registrar, mos)
    assert all(isinstance(o, Outcome) for o in outcomes), outcomes
    accounts = rows(dsn, "SELECT id_number, phone FROM account")
    ids, phones = {a[0] for a in accounts}, {a[1] for a in accounts}
    assert len(ids) == len(phones) == len(accounts) == outcomes.count(Outcome.OK) >= 1
    for (id_number, phone), outcome in zip(pairs, outcomes, strict=True):
        assert outcome is not Outcome.DUPLICATE_ID or id_number in ids
        assert outcome is not Outcome.DUPLICATE_PHONE or phone in phones
        assert outcome is not Outcome.OK or (id_number, phone) in accounts
    stored = sum(o is not Outcome.REDELIVERY for o in outcomes)
    assert count(dsn, "inbound_sms") == count(dsn, "outbound_sms") == stored

def test_race_identical_mo_is_stored_and_answered_once(dsn: str, registrar: Registrar) -> None:
    for round_ in range(RACE_ROUNDS):
        text = f"TK,Nguyen Van An,0480900{round_:05d},01.02.1990"
        outcomes = _race(dsn, registrar, [make_mo(text, _phone(round_))] * 2)
        assert sorted(map(str, outcomes)) == ["ok", "redelivery"], outcomes
    assert (count(dsn, "inbound_sms"), count(dsn, "outbound_sms"), count(dsn, "account")) == (
        RACE_ROUNDS, RACE_ROUNDS, RACE_ROUNDS)


def test_race_identical_rejected_mo_is_answered_once(dsn: str, registrar: Registrar) -> None:
    outcomes = _race(dsn, registrar, [make_mo("TK,Nguyen Van An", PHONE)] * RACERS)
    assert sorted(map(str, outcomes)) == ["redelivery"] * (RACERS - 1) + ["syntax_error"], outcomes
    assert (count(dsn, "inbound_sms"), count(dsn, "outbound_sms")) == (1, 1)


# --- configuration and the lower-level API -------------------------------------------------------------


def test_verbatim_replies_queue_the_success_reply_as_three_ucs2_segments(dsn: str, submit: Any) -> None:
    reg = Registrar(make_config(dsn, SMSREG_REPLIES_GSM_ONLY="false"))
    result = submit(make_mo(AN), reg)
    assert result.outcome is Outcome.OK and result.segments == 3
    ((body, segments),) = rows(dsn, "SELECT body, segments FROM outbound_sms")
    assert "Chinh quyen đien tu" in body and segments == 3 and body == result.reply


def test_a_forced_failure_wins_over_a_valid_text(dsn: str, cfg: config.Config, registrar: Registrar) -> None:
    """prepare(mo, failure): e.g. a concatenated MO whose parts never all arrived."""
    prep = registrar.prepare(make_mo(AN), parse.SyntaxFailure("incomplete"))
    assert prep.password is None and prep.password_hash is None
    with psycopg.connect(dsn) as connection:
        result = registrar.commit(connection, prep)
    assert (result.outcome, result.reason) == (Outcome.SYNTAX_ERROR, "incomplete")
    assert rows(dsn, "SELECT outcome, reason FROM inbound_sms") == [("syntax_error", "incomplete")]
    assert rows(dsn, "SELECT body FROM outbound_sms") == [(reply_text(cfg, Outcome.SYNTAX_ERROR),)]
    assert count(dsn, "account") == 0


def test_record_belongs_to_the_callers_transaction(dsn: str, registrar: Registrar) -> None:
    prep = registrar.prepare(make_mo(AN))
    with psycopg.connect(dsn) as connection:
        with pytest.raises(RuntimeError), connection.transaction():
            assert registrar.record(connection, prep).outcome is Outcome.OK
            raise RuntimeError("the caller's later step failed")
        assert (count(dsn, "account"), count(dsn, "inbound_sms"), count(dsn, "outbound_sms")) == (0, 0, 0)
        # Nothing was used up: the same prepared MO succeeds afterwards.
        assert registrar.commit(connection, prep).outcome is Outcome.OK
    assert (count(dsn, "account"), count(dsn, "inbound_sms"), count(dsn, "outbound_sms")) == (1, 1, 1)
