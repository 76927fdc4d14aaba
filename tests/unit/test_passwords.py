"""One-time passwords (domain.md §8) and their argon2id PHC storage (architecture.md rule 4)."""

from __future__ import annotations

import collections
import string

import argon2
import pytest

from smsreg import codec, config, passwords

FAST = config.PasswordsConfig(time_cost=1, memory_kib=64, parallelism=1)
SPEC_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
LOOK_ALIKES = "0O1lI@"


@pytest.fixture(scope="module")
def hasher() -> passwords.Hasher:
    return passwords.Hasher(FAST)


def test_alphabet_is_the_one_of_the_spec() -> None:
    assert passwords.ALPHABET == SPEC_ALPHABET
    assert len(set(passwords.ALPHABET)) == len(passwords.ALPHABET) == 57
    assert set(passwords.ALPHABET) == set(string.ascii_letters + string.digits) - set(LOOK_ALIKES)


def test_generated_passwords_are_8_gsm_basic_characters_without_look_alikes() -> None:
    generated = [passwords.generate() for _ in range(3000)]
    for password in generated:
        assert len(password) == passwords.LENGTH == 8
        assert set(password) <= set(SPEC_ALPHABET)
        assert not set(password) & set(LOOK_ALIKES)
        assert codec.is_gsm(password) and codec.gsm_septets(password) == 8  # no extension characters
    assert len(set(generated)) == len(generated)
    # 24,000 draws from 57 characters: each is expected ~420 times; a missing or a
    # heavily skewed character means a broken generator.
    counts = collections.Counter("".join(generated))
    assert set(counts) == set(SPEC_ALPHABET)
    assert min(counts.values()) > 250 and max(counts.values()) < 600


def test_hash_verify_round_trip(hasher: passwords.Hasher) -> None:
    password = passwords.generate()
    stored = hasher.hash(password)
    assert stored.startswith("$argon2id$v=19$")
    assert password not in stored
    assert hasher.verify(stored, password)


def test_hashes_are_salted(hasher: passwords.Hasher) -> None:
    first, second = hasher.hash("Abcdefg2"), hasher.hash("Abcdefg2")
    assert first != second
    assert hasher.verify(first, "Abcdefg2") and hasher.verify(second, "Abcdefg2")


@pytest.mark.parametrize("wrong", ["", "abcdefg2", "Abcdefg2 ", "Abcdefg", "Abcdefg22", "Abcdefg2\x00"])
def test_wrong_password_is_false(hasher: passwords.Hasher, wrong: str) -> None:
    assert not hasher.verify(hasher.hash("Abcdefg2"), wrong)


def test_nul_inside_a_password_is_not_a_terminator(hasher: passwords.Hasher) -> None:
    assert not hasher.verify(hasher.hash("Abc\x00defg"), "Abc")
    assert hasher.verify(hasher.hash("Mật khẩu ✓"), "Mật khẩu ✓")


@pytest.mark.parametrize("stored", [
    "", "plaintext", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$",
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
    "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    "$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    "$2b$12$abcdefghijklmnopqrstuuJ6XbO0fJ1P9S3hm8PAhoKD1vXe3/xq6",
    "\x00",
])
def test_malformed_stored_hash_is_false(hasher: passwords.Hasher, stored: str) -> None:
    assert hasher.verify(stored, "Abcdefg2") is False


def test_disabled_password_is_false(hasher: passwords.Hasher) -> None:
    assert hasher.verify(None, "") is False
    assert hasher.verify(None, "Abcdefg2") is False


def test_cost_parameters_are_in_the_phc_string() -> None:
    stored = passwords.Hasher(config.PasswordsConfig(time_cost=3, memory_kib=128, parallelism=2)).hash("x")
    assert stored.startswith("$argon2id$v=19$m=128,t=3,p=2$")
    default = passwords.Hasher(config.PasswordsConfig()).hash("x")
    assert default.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # the OWASP minimum (config default)


def test_the_stored_format_is_portable(hasher: passwords.Hasher) -> None:
    """Any argon2 verifier, with any cost settings of its own, checks our hashes and we check theirs."""
    ours = hasher.hash("Abcdefg2")
    assert argon2.PasswordHasher().verify(ours, "Abcdefg2")
    assert argon2.low_level.verify_secret(ours.encode(), b"Abcdefg2", argon2.Type.ID)
    theirs = argon2.PasswordHasher(time_cost=2, memory_cost=256, parallelism=2).hash("Abcdefg2")
    assert hasher.verify(theirs, "Abcdefg2")
    assert not hasher.verify(theirs, "abcdefg2")
