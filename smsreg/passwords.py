"""One-time passwords and their storage format: argon2id in the PHC string format.

`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` is verified by libargon2 bindings in every
mainstream language (PHP password_verify, Java/Spring, Go x/crypto, Node argon2, .NET).
"""

from __future__ import annotations

import secrets

import argon2

from smsreg import config

# domain.md §8: GSM-basic only, no '@', no look-alikes 0/O/1/l/I.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
LENGTH = 8


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


class Hasher:
    """Hash and verify with the configured argon2id cost; thread-safe (libargon2 releases the GIL)."""

    def __init__(self, cfg: config.PasswordsConfig) -> None:
        self._ph = argon2.PasswordHasher(
            time_cost=cfg.time_cost,
            memory_cost=cfg.memory_kib,
            parallelism=cfg.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return str(self._ph.hash(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """False for a wrong password, a disabled (NULL) one, or a malformed stored hash."""
        if not stored:
            return False
        try:
            return bool(self._ph.verify(stored, password))
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
