"""The one logging configuration point: text or JSON lines, with phone and ID numbers masked.

Passwords and message bodies are never passed to a logger; the masking below is the safety
net for numbers that slip into messages, extra fields or exception texts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
from typing import Any

from smsreg import config

# 9 or more consecutive digits: an MSISDN (84xxxxxxxxx, 0xxxxxxxxx) or an identity number
# (CMND 9, CCCD 12 digits). Everything but the last 3 digits is replaced by '*'.
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{6,}([0-9]{3})(?![0-9])")
# Loggers held at WARNING whatever the configured level. smpplib dumps whole PDUs in hex at
# DEBUG, the bind password and citizens' messages included ("smpp.Client.<id>" by default,
# "smsreg.smpplib" as the session names it, "smpplib.command"); the psycopg pool narrates
# every connection at INFO/DEBUG.
QUIET_LOGGERS = ("smpp", "smpplib", "smsreg.smpplib", "psycopg.pool")


def mask_numbers(text: str) -> str:
    """'84901234567' -> '********567'; shorter digit runs (dates, counts, ports) are kept."""
    return _LONG_NUMBER.sub(lambda m: "*" * (len(m[0]) - 3) + m[1], text)


class RedactFilter(logging.Filter):
    """Replaces the message with its formatted, masked text (so handlers never see raw args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Left alone, the handler would print the raw arguments in its "Logging error" report.
            message = f"{record.msg} [unformattable log arguments]"
        record.msg, record.args = mask_numbers(message), None
        return True


class QuietFilter(logging.Filter):
    """Drops records below WARNING from QUIET_LOGGERS even if someone lowers their level later."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _is_quiet(record.name)


def _is_quiet(name: str) -> bool:
    return any(name == quiet or name.startswith(quiet + ".") for quiet in QUIET_LOGGERS)


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "event"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, action and any other `extra` field, masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(_masked(entry), ensure_ascii=False)


def _masked(value: Any) -> Any:
    """A JSON-ready copy with every long digit run masked, in strings and in integers alike."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**8 else mask_numbers(str(value))
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, dict):
        return {mask_numbers(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked(v) for v in value]
    return mask_numbers(str(value))


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [action]`, then any traceback; the whole text masked."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(event)s")

    def format(self, record: logging.LogRecord) -> str:
        action = getattr(record, "action", None)
        record.event = f" [{action}]" if action else ""
        return mask_numbers(super().format(record))


def setup(cfg: config.LoggingConfig) -> None:
    """Configure the root logger once for the process: stderr, cfg.format, cfg.level."""
    logging.config.dictConfig(log_config(cfg))


def log_config(cfg: config.LoggingConfig) -> dict[str, Any]:
    formatter = "json" if cfg.format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactFilter}, "quiet": {"()": QuietFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": formatter,
                                "filters": ["quiet", "redact"], "stream": "ext://sys.stderr"}},
        "root": {"level": cfg.level, "handlers": ["stderr"]},
        "loggers": {name: {"level": "WARNING"} for name in QUIET_LOGGERS},
    }
