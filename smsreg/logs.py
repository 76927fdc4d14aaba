"""The one logging configuration point: text or JSON lines, with phone and ID numbers masked.

Passwords and message bodies are never passed to a logger; the filter below is the safety
net for numbers that slip into messages or exception texts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
from typing import Any

from smsreg import config

# 9 or more consecutive digits: an MSISDN (84xxxxxxxxx) or an identity number.
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{6,}([0-9]{3})(?![0-9])")
# smpplib dumps whole PDUs in hex at DEBUG, bind password included: keep it at WARNING.
QUIET_LOGGERS = ("smpp", "smsreg.smpplib", "psycopg.pool")


def mask_numbers(text: str) -> str:
    return _LONG_NUMBER.sub(lambda m: "*" * (len(m[0]) - 3) + m[1], text)


class RedactFilter(logging.Filter):
    """Masks long digit runs in the formatted message and its arguments (keeps the last 3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = mask_numbers(message), None
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = mask_numbers(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(event)s")

    def format(self, record: logging.LogRecord) -> str:
        action = getattr(record, "action", None)
        record.event = f" [{action}]" if action else ""
        text = super().format(record)
        return mask_numbers(text) if record.exc_info else text


def setup(cfg: config.LoggingConfig) -> None:
    formatter = "json" if cfg.format == "json" else "text"
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": formatter,
                                "filters": ["redact"], "stream": "ext://sys.stderr"}},
        "root": {"level": cfg.level, "handlers": ["stderr"]},
        "loggers": {name: {"level": "WARNING"} for name in QUIET_LOGGERS},
    })
