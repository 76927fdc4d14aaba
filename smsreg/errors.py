"""The exception tree. Each class's docstring is its default message."""

from __future__ import annotations


class SmsregError(Exception):
    """smsreg failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(SmsregError):
    """The configuration is invalid."""


class DatabaseUnavailable(SmsregError):
    """The database cannot be reached; the operation can be retried later."""


class DatabaseError(SmsregError):
    """The database refused the operation."""


class MigrationError(SmsregError):
    """A migration could not be applied."""


class SmscUnavailable(SmsregError):
    """The SMSC cannot be reached or refused the bind."""


class UnknownAccount(SmsregError):
    """No account has that user name."""
