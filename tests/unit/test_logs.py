"""smsreg.logs: one configuration point, text/JSON, the action tag, masking, quiet smpplib."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsreg import config, logs

MSISDN, CMND, CCCD = "84901234567", "201234567", "079123456789"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup() reconfigures the process's root logger: put back what pytest had."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in (*logs.QUIET_LOGGERS, "smsreg")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in quiet.items():
        logging.getLogger(name).setLevel(lvl)


def configure(fmt: str, level: str = "DEBUG") -> None:
    logs.setup(config.LoggingConfig(level=level, format=fmt))


def emitted(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in emitted(capsys).splitlines()]


# ------------------------------------------------------------------ mask_numbers

@pytest.mark.parametrize(("text", "masked"), [
    (MSISDN, "********567"),
    (f"+{MSISDN}", "+********567"),
    ("0901234567", "*******567"),
    (CMND, "******567"),
    (CCCD, "*********789"),
    (f"id={CCCD},tel={MSISDN}", "id=*********789,tel=********567"),
    ("CMND201234567", "CMND******567"),
])
def test_long_numbers_keep_only_their_last_three_digits(text: str, masked: str) -> None:
    assert logs.mask_numbers(text) == masked


@pytest.mark.parametrize("text", [
    "born 01.02.1990", "port 2775", "short code 8188", "seq 12345678", "took 22 ms", "0x00000064",
])
def test_short_numbers_are_kept(text: str) -> None:
    assert logs.mask_numbers(text) == text


@given(st.text(alphabet=st.sampled_from("0123456789 ,.+abc"), max_size=80))
def test_masking_leaves_no_long_digit_run_and_keeps_the_length(text: str) -> None:
    masked = logs.mask_numbers(text)
    assert len(masked) == len(text)
    assert not re.search(r"[0-9]{9}", masked)
    assert logs.mask_numbers(masked) == masked


# ------------------------------------------------------------------ text format

def test_text_line_masks_numbers_and_shows_the_action(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text")
    logging.getLogger("smsreg.inbound").info("registered %s for %s", CCCD, MSISDN,
                                             extra={"action": "mo_registered"})
    line = emitted(capsys)
    assert MSISDN not in line and CCCD not in line
    assert "*********789" in line and "********567" in line
    assert re.search(r" INFO +smsreg\.inbound: registered \S+ for \S+ \[mo_registered\]$", line.strip())


def test_text_exception_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text")
    try:
        raise ValueError(f"duplicate key (phone)=({MSISDN})")
    except ValueError:
        logging.getLogger("smsreg.register").exception("insert failed for %s", CMND)
    out = emitted(capsys)
    assert "Traceback" in out and "ValueError" in out
    assert MSISDN not in out and CMND not in out
    assert "(********567)" in out


def test_unformattable_arguments_are_not_dumped_raw(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text")
    logging.getLogger("smsreg.x").info("count %d", MSISDN)
    out = emitted(capsys)
    assert MSISDN not in out
    assert "unformattable" in out


def test_level_is_honoured(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text", level="WARNING")
    log = logging.getLogger("smsreg.x")
    log.info("not shown")
    log.warning("shown")
    out = emitted(capsys)
    assert "not shown" not in out and "shown" in out


# ------------------------------------------------------------------ JSON format

def test_json_line_masks_message_and_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    logging.getLogger("smsreg.inbound").info(
        "registered %s", CCCD,
        extra={"action": "mo_registered", "phone": MSISDN, "id_int": int(CCCD), "seq": 42, "ok": True})
    [entry] = json_lines(capsys)
    assert entry["msg"] == "registered *********789"
    assert entry["action"] == "mo_registered"
    assert entry["phone"] == "********567"
    assert entry["id_int"] == "********789"  # int(CCCD) drops the leading zero
    assert entry["seq"] == 42 and entry["ok"] is True
    assert entry["level"] == "INFO" and entry["logger"] == "smsreg.inbound"
    assert MSISDN not in json.dumps(entry) and CCCD[1:] not in json.dumps(entry)


def test_json_exception_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    try:
        raise RuntimeError(f"account {CMND} on {MSISDN}")
    except RuntimeError:
        logging.getLogger("smsreg.x").error("failed", exc_info=True, extra={"action": "boom"})
    [entry] = json_lines(capsys)
    assert "RuntimeError: account ******567 on ********567" in entry["exc"]
    assert entry["action"] == "boom"


def test_json_without_action_is_still_one_object_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    log = logging.getLogger("smsreg.x")
    log.info("one")
    log.warning("two\nlines")
    entries = json_lines(capsys)
    assert [e["msg"] for e in entries] == ["one", "two\nlines"]
    assert "action" not in entries[0]


# ------------------------------------------------------------------ quiet loggers

@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("name", ["smsreg.smpplib", "smpp.Client.140230", "smpplib.command", "psycopg.pool"])
def test_library_loggers_stay_at_warning_even_at_debug(capsys: pytest.CaptureFixture[str], name: str,
                                                       fmt: str) -> None:
    configure(fmt, level="DEBUG")
    lib = logging.getLogger(name)
    lib.debug(">>00000031000000090000000000000001736d7372656700736563726574")  # a bind PDU
    lib.info("Connecting to smsc:2775...")
    lib.warning("link trouble")
    logging.getLogger("smsreg.session").debug("our own debug line")
    out = emitted(capsys)
    assert "736d7372656700" not in out and "Connecting" not in out
    assert "link trouble" in out
    assert "our own debug line" in out, "DEBUG is on for everything else"


def test_a_quiet_logger_lowered_later_still_drops_debug(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text", level="DEBUG")
    lib = logging.getLogger("smsreg.smpplib")
    lib.setLevel(logging.DEBUG)  # e.g. a library resetting its own level
    lib.debug("<<hexdump with password")
    assert "hexdump" not in emitted(capsys)


def test_setup_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text")
    configure("json")
    logging.getLogger("smsreg.x").info("once")
    lines = emitted(capsys).splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["msg"] == "once"
