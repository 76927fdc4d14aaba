"""The `smsreg` command line against a real PostgreSQL: inject (every whole-message example of
domain.md), passwd/verify, check-config, configuration and database errors, --help.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smsreg import cli
from tests.conftest import FAST_HASH_ENV, _create, _drop, _dsn_for, emptied

ROOT = Path(cli.__file__).resolve().parent.parent
AN = "TK,Nguyen Van An,048090012345,01.02.1990"
JSON_KEYS = {"outcome", "username", "reply", "segments"}
SYNTAX_REPLY = ("Loi. Tin nhan sai cu phap. Cu phap dung la: TK,Ho va ten,soCMND,nn.tt.nnnn "
                "(ngay thang nam sinh)")
CLOSED_PORT_URL = "postgresql://postgres:s3cretpw@127.0.0.1:1/smsreg"


@pytest.fixture
def dsn(module_db: str) -> str:
    """One migrated database for the module, emptied before each test (see test_register)."""
    return emptied(module_db)


class Cli:
    """Runs smsreg.cli.main in-process and returns (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self._capsys.readouterr()
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = cli.main(["--config", "/dev/null", *args])
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = self._capsys.readouterr()
        return code, out, err

    def inject(self, text: str, source: str = "84905123456", *extra: str) -> dict[str, Any]:
        code, out, err = self("inject", "--from", source, *extra, text)
        assert code == 0, err
        lines = out.splitlines()
        assert len(lines) == 1, out
        result: dict[str, Any] = json.loads(lines[0])
        assert set(result) == JSON_KEYS
        return result


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """cli.main configures the root logger onto the captured stderr: put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("SMSREG_") and name != "SMSREG_TEST_DSN":
            monkeypatch.delenv(name)
    for name, value in FAST_HASH_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.fixture
def run(dsn: str, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    env.setenv("SMSREG_DATABASE_URL", dsn)
    return Cli(capsys, env)


def fetch(dsn: str, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as c:
        return c.execute(query, params).fetchall()


def last_body(dsn: str) -> str | None:
    found = fetch(dsn, "SELECT body FROM outbound_sms ORDER BY id DESC LIMIT 1")
    return found[0][0] if found else None


# --- inject --------------------------------------------------------------------------------------


def test_inject_ok(run: Cli, dsn: str) -> None:
    result = run.inject(AN)
    assert result["outcome"] == "ok" and result["username"] == "048090012345" and result["segments"] == 1
    (secret,) = fetch(dsn, "SELECT secret FROM outbound_sms")[0]
    assert result["reply"] == last_body(dsn)
    assert result["reply"].startswith(f"TK: 048090012345, MK: {secret} la tai khoan")
    assert fetch(dsn, "SELECT dest_addr, data_coding FROM inbound_sms") == [("8188", 0)]


def test_inject_every_outcome(run: Cli, dsn: str) -> None:
    assert run.inject(AN, "0905123456")["outcome"] == "ok"

    syntax = run.inject("TK,Nguyen Van An,048090012345", "0912000111")
    assert syntax == {"outcome": "syntax_error", "username": None, "reply": SYNTAX_REPLY, "segments": 1}
    assert last_body(dsn) == SYNTAX_REPLY

    dup_id = run.inject("TK,Le Van Cuong,048090012345,01.02.1990", "0912000111")
    assert dup_id["outcome"] == "duplicate_id" and dup_id["username"] is None
    assert dup_id["reply"] == last_body(dsn) and dup_id["reply"].startswith("So CMND da duoc su dung")

    dup_phone = run.inject("TK,Tran Thi Binh,201234567,05.06.1988", "+84905123456")
    assert dup_phone["outcome"] == "duplicate_phone" and dup_phone["segments"] == 1
    assert dup_phone["reply"] == last_body(dsn) and dup_phone["reply"].startswith("So dien thoai nay")

    replies_before = fetch(dsn, "SELECT count(*) FROM outbound_sms")
    redelivery = run.inject("TK,Tran Thi Binh,201234567,05.06.1988", "+84905123456")
    assert redelivery == {"outcome": "redelivery", "username": None, "reply": None, "segments": 0}
    assert fetch(dsn, "SELECT count(*) FROM outbound_sms") == replies_before

    invalid = run.inject(AN, "02363822222")
    assert invalid == {"outcome": "invalid_sender", "username": None, "reply": None, "segments": 0}
    assert fetch(dsn, "SELECT count(*) FROM outbound_sms") == replies_before
    assert fetch(dsn, "SELECT outcome FROM inbound_sms ORDER BY id DESC LIMIT 1") == [("invalid_sender",)]


def test_inject_ucs2_with_diacritics(run: Cli, dsn: str) -> None:
    result = run.inject("TK,Nguyễn Văn Ân,048090012345,01.02.1990", "84905123456", "--coding", "8")
    assert result["outcome"] == "ok"
    assert fetch(dsn, "SELECT full_name, name_as_typed FROM account") == [("NGUYEN VAN AN", "Nguyễn Văn Ân")]
    assert fetch(dsn, "SELECT data_coding, payload FROM inbound_sms") == [
        (8, "TK,Nguyễn Văn Ân,048090012345,01.02.1990".encode("utf-16-be"))]
    assert result["reply"] == last_body(dsn)


@pytest.mark.parametrize(("text", "coding"), [
    ("TK,Nguyen Thi Hòa,201234567,05.06.1988", 0),        # ò is in the GSM basic table
    ("TK,Nguyễn Thị Hoa,201234567,05.06.1988", 8),
])
def test_inject_chooses_the_coding_a_handset_would(run: Cli, dsn: str, text: str, coding: int) -> None:
    assert run.inject(text)["outcome"] == "ok"
    assert fetch(dsn, "SELECT data_coding FROM inbound_sms") == [(coding,)]


def test_inject_options(run: Cli, dsn: str) -> None:
    assert run.inject(AN, "905123456", "--to", "8189", "--ton", "2", "--coding", "1")["outcome"] == "ok"
    assert fetch(dsn, "SELECT source_addr, source_ton, phone, dest_addr, data_coding FROM inbound_sms") == [
        ("905123456", 2, "84905123456", "8189", 1)]


def test_inject_text_the_coding_cannot_carry_is_a_usage_error(run: Cli, dsn: str) -> None:
    code, out, err = run("inject", "--from", "84905123456", "--coding", "0", "TK,Nguyễn Văn Ân,048090012345,01.02.1990")
    assert code == 2 and out == ""
    assert "--coding 0" in err and "Traceback" not in err
    assert fetch(dsn, "SELECT count(*) FROM inbound_sms") == [(0,)]


def test_the_domain_rows_38_to_43(run: Cli, dsn: str, env: pytest.MonkeyPatch) -> None:
    p1, p2 = "84905123456", "84912000111"
    steps = [
        (AN, p1, "ok"),
        ("TK,Le Van Cuong,048090012345,05.05.1990", p2, "duplicate_id"),     # 38: the number alone decides
        ("TK,Tran Thi Binh,201234567,05.06.1988", p1, "duplicate_phone"),    # 39
        ("TK,Tran Thi Binh,201234567,05.06.1988", p2, "ok"),                 # both were left free
        ("TK,Nguyen Van An,048090012345,01.02.1990.", p2, "duplicate_id"),   # 40: both taken
        ("TK,Nguyen Van An,048090012345,1990", p1, "syntax_error"),          # 41
        ("TK,Pham Van Dung,201234568,07.08.1980", "0905123456", "duplicate_phone"),    # 42
        ("TK,Pham Van Dung,201234568,07.08.1980;", "+84905123456", "duplicate_phone"),
        ("TK,Pham Van Dung,201234568,07.08.1980 ", "905123456", "duplicate_phone"),
        (AN, p1, "redelivery"),                                              # §3.2: SMSC re-sent it
    ]
    for text, source, expected in steps:
        assert run.inject(text, source)["outcome"] == expected, (text, source)
    env.setenv("SMSREG_REGISTRATION_REDELIVERY_WINDOW_S", "0")
    assert run.inject(AN, p1)["outcome"] == "duplicate_id"                   # 43: a citizen's repeat
    assert fetch(dsn, "SELECT id_number, phone FROM account ORDER BY id") == [
        ("048090012345", p1), ("201234567", p2)]


# Every whole registration message of domain.md §0-§1, §3.2, §5-§7 and §10, completed where the
# spec writes "…", with the outcome it must get. IDs of accepted rows are all different.
def _fw(text: str) -> str:
    """Full-width form of an ASCII text (§4 step 4, §10 row 37)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


EXAMPLES: list[tuple[str, str]] = [
    # §0 S1/S2: the official example (number blocked, §11.11), with and without its brackets
    ("TK,Nguyễn Văn A,201499999,20/12/1990", "syntax_error"),
    ("[TK,Nguyễn Văn A,201499999,20/12/1990]", "syntax_error"),
    # the syntax as the sources print it, and as the reply teaches it
    ("TK,Ho va ten,soCMND,NgaySinh", "syntax_error"),
    ("TK, Ho va ten, soCMND,Ngaysinh", "syntax_error"),
    ("TK,Ho va ten,soCMND,nn.tt.nnnn", "syntax_error"),
    # §3.2: the longest real name, in UCS-2
    ("TK,Công Tằng Tôn Nữ Thị Bích Ngọc,046197056786,09.09.1997", "ok"),
    # §5.1 keyword
    ("tk,Nguyen Van Binh,201000002,01.02.1990", "ok"),
    ("Tk;Nguyen Van Cuong;201000003;01.02.1990", "ok"),
    ("TK Nguyen Van Dung 201000004 01.02.1990", "ok"),
    ("TK , Nguyen Van Em , 201000005 , 01.02.1990", "ok"),
    ("TK,,Nguyen Van Giang,,201000006,,01.02.1990", "ok"),
    ("tK,Nguyen Van Hai,201000007,01.02.1990", "ok"),
    ("TK", "syntax_error"),
    ("TKNguyen Van An,201000101,01.02.1990", "syntax_error"),
    ("T K,Nguyen Van An,201000102,01.02.1990", "syntax_error"),
    ("TK.Nguyen Van An,201000103,01.02.1990", "syntax_error"),
    ("TK:Nguyen Van An,201000104,01.02.1990", "syntax_error"),
    ("TK/Nguyen Van An,201000105,01.02.1990", "syntax_error"),
    ("TK-Nguyen Van An,201000106,01.02.1990", "syntax_error"),
    ("TK+Nguyen Van An,201000107,01.02.1990", "syntax_error"),
    ("DK,Nguyen Van An,201000108,01.02.1990", "syntax_error"),
    ("TAIKHOAN,Nguyen Van An,201000109,01.02.1990", "syntax_error"),
    ("Nguyen Van An,201000110,01.02.1990", "syntax_error"),
    ("HD", "syntax_error"),
    ("Lam sao de dang ky tai khoan?", "syntax_error"),
    # §10 rows 6-11: wrapping, whitespace, separators, order
    ("(TK,Nguyen Van Lam,201000009,20/12/1990)", "ok"),
    ('"TK,Nguyen Van Minh,201000010,20/12/1990"', "ok"),
    ("“TK,Nguyen Van Nam,201000011,20/12/1990”", "ok"),
    ("[TK,Nguyen Van Khoa,201000008,20/12/1990]", "ok"),
    ("  TK,\tNguyen  Van Phuc,\n201000012,  01.02.1990  ", "ok"),
    ("TK;;Tran Thi Quyen, ;201000013;,01.02.1990", "ok"),
    ("TK,Tran Thi Suong,201000014,01.02.1990.", "ok"),
    ("TK,Tran Thi Tam,201000015,01.02.1990;", "ok"),
    ("TK,Tran Thi Uyen 201000016,01.02.1990", "ok"),
    ("TK,01.02.1990,201000017,Tran Thi Van", "ok"),
    ("TK,201000035,Tran Thi Xuan,01.02.1990", "ok"),
    # rows 12-14: extra, missing or split items
    ("TK,Nguyen Van An,201000111,01.02.1990,cam on", "syntax_error"),
    ("TK,Nguyen Van An,201000112,01.02.1990,0905123456", "syntax_error"),
    ("TK,Nguyen Van An,201000113,01.02.1990 ạ", "syntax_error"),
    ("TK,Nguyen Van An,201000114,01.02.1990,Nam", "syntax_error"),
    ("TK,Nguyen Van An,201000115,01.02.1990,12 Le Loi Da Nang", "syntax_error"),
    ("TK,Nguyen Van An,201000116", "syntax_error"),
    ("TK,Nguyen Van An,01.02.1990", "syntax_error"),
    ("TK,201000117,01.02.1990", "syntax_error"),
    ("TK,,;", "syntax_error"),
    (",,;", "syntax_error"),
    ("", "syntax_error"),
    ("TK,Nguyen,Van An,201000118,01.02.1990", "syntax_error"),
    # rows 15-19: case, diacritics, Telex, VNI, apostrophes and hyphens
    ("TK,nGUYỄN  văn an,201000018,01.02.1990", "ok"),
    (unicodedata.normalize("NFD", "TK,Nguyễn Văn Ân,201000019,01.02.1990"), "ok"),
    ("TK,Ðặng Văn Ðức,201000020,01.02.1990", "ok"),
    ("TK,Nguyeenx Vawn Haf,201000021,01.02.1990", "ok"),
    ("TK,Nguye6n Van An,201000119,01.02.1990", "syntax_error"),
    ("TK,Hung2 Nguyen,201000120,01.02.1990", "syntax_error"),
    ("TK,H'Hen Niê,201000022,01.02.1990", "ok"),
    ("TK,H’Hen Niê,201000023,01.02.1990", "ok"),
    ("TK,Y-Khun Mlo,201000024,01.02.1990", "ok"),
    ("TK,Ksor H'Bla,201000025,01.02.1990", "ok"),
    ("TK,Nguyen Van A,201000026,01.02.1990", "ok"),
    ("TK,Tran Thi Y,201000036,01.02.1990", "ok"),
    ("TK,Nguyen Thi Hòa,201000034,01.02.1990", "ok"),
    # rows 20-23: name rules
    ("TK,An,201000121,01.02.1990", "syntax_error"),
    ("TK,A Be Ce De E Ge He I Ka Le Me,201000122,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van CMND,201000123,01.02.1990", "syntax_error"),
    ("TK,Nguyen Hng,201000124,01.02.1990", "syntax_error"),
    ("TK,Ho ten Nguyen Van An,201000125,01.02.1990", "syntax_error"),
    ("TK,Ho va ten Nguyen Van An,201000126,01.02.1990", "syntax_error"),
    ("TK,Ten Nguyen Van An,201000127,01.02.1990", "syntax_error"),
    ("TK,Nguyen V. An,201000128,01.02.1990", "syntax_error"),
    ("TK,Nguyen_Van An,201000129,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van @n,201000130,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An 😀,201000131,01.02.1990", "syntax_error"),
    ("TK,Нгуен Ван,201000132,01.02.1990", "syntax_error"),
    ("TK,阮文 An,201000133,01.02.1990", "syntax_error"),
    # rows 24-31: dates
    ("TK,Le Van Sau,201000027,05-06-1988", "ok"),
    ("TK,Le Van Bay,201000028,5.6.1988", "ok"),
    ("TK,Le Van Tam,201000029,07.08/1980", "ok"),
    ("TK,Le Thi Nhuan,201000033,29.02.1992", "ok"),
    ("TK,Nguyen Van An,201000134,01.02.90", "syntax_error"),
    ("TK,Nguyen Van An,201000135,1990-02-01", "syntax_error"),
    ("TK,Nguyen Van An,201000136,01021990", "syntax_error"),
    ("TK,Nguyen Van An,201000137,01 02 1990", "syntax_error"),
    ("TK,Nguyen Van An,201000138,01.02,1990", "syntax_error"),
    ("TK,Nguyen Van An,201000139,31/02/1990", "syntax_error"),
    ("TK,Nguyen Van An,201000140,29/02/1990", "syntax_error"),
    ("TK,Nguyen Van An,201000141,29/02/1900", "syntax_error"),
    ("TK,Nguyen Van An,201000142,31/04/1990", "syntax_error"),
    ("TK,Nguyen Van An,201000143,00/01/1990", "syntax_error"),
    ("TK,Nguyen Van An,201000144,01/13/1990", "syntax_error"),
    ("TK,Nguyen Van An,201000145,12/25/1990", "syntax_error"),
    ("TK,Nguyen Van An,201000146,01/01/2100", "syntax_error"),
    ("TK,Nguyen Van An,201000147,31/12/1899", "syntax_error"),
    ("TK,Nguyen Van An,201000148,01/01/2020", "syntax_error"),
    ("TK,Nguyen Van An,201000149,01.02.19900", "syntax_error"),
    # rows 32-37: identity numbers
    ("TK,Tran Thi Hoa,048190000031,01.02.1990", "ok"),
    ("TK,Tran Van Hung,048205000032,01.02.2005", "ok"),
    ("TK,Nguyen Van An,111111111,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,000000000,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,003090000150,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,048490000151,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,048091000152,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,048290000153,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,20100015,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,0905123456,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,04809000015,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,0480900001555,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,048 090 000156,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,201.000.157,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,048-090-000158,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,2O1000159,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,C1000160,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,CCCD048090000161,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,201000162 123,01.02.1990", "syntax_error"),
    ("TK,Nguyen Van An,٢٠١٠٠٠١٦٣,01.02.1990", "syntax_error"),
    (_fw("TK,Nguyen Van Mot,201000030,01.02.1990"), "ok"),
]


def test_example_table_has_distinct_numbers() -> None:
    accepted = [text for text, outcome in EXAMPLES if outcome == "ok"]
    assert len(accepted) >= 30
    texts = [text for text, _ in EXAMPLES]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(("index", "text", "expected"), [(i, t, o) for i, (t, o) in enumerate(EXAMPLES)],
                         ids=[f"{i:03d}" for i in range(len(EXAMPLES))])
def test_inject_domain_examples(run: Cli, index: int, text: str, expected: str) -> None:
    result = run.inject(text, f"849100{index:05d}")
    assert result["outcome"] == expected, result
    if expected == "syntax_error":
        assert result["reply"] == SYNTAX_REPLY


# --- passwd / verify -----------------------------------------------------------------------------------


def test_passwd_and_verify(run: Cli, dsn: str) -> None:
    run.inject(AN)
    (first,) = fetch(dsn, "SELECT secret FROM outbound_sms")[0]

    assert run("verify", "048090012345", stdin=first + "\n")[0] == 0
    code, out, _ = run("verify", "048090012345", stdin=first.swapcase() + "\n")
    assert code == 1 and "does not match" in out

    code, out, err = run("passwd", "048090012345", stdin="a new secret pass\n")
    assert (code, err) == (0, "") and "password changed" in out
    assert fetch(dsn, "SELECT password_state FROM account") == [("changed",)]
    assert run("verify", "048090012345", stdin="a new secret pass\n")[0] == 0
    assert run("verify", "048090012345", stdin="a new secret pass")[0] == 0     # no newline at EOF
    assert run("verify", "048090012345", stdin=first + "\n")[0] == 1
    assert run("verify", "048090012345", stdin="a new secret pass \n")[0] == 1
    assert run("verify", "201234567", stdin="a new secret pass\n")[0] == 1


def test_passwd_only_reads_the_first_line(run: Cli) -> None:
    run.inject(AN)
    assert run("passwd", "048090012345", stdin="first line pw\nsecond line\n")[0] == 0
    assert run("verify", "048090012345", stdin="first line pw\n")[0] == 0


@pytest.mark.parametrize("stdin", ["", "\n", "short\n", "x" * 129 + "\n"])
def test_passwd_rejects_a_bad_length(run: Cli, dsn: str, stdin: str) -> None:
    run.inject(AN)
    code, _, err = run("passwd", "048090012345", stdin=stdin)
    assert code == 2 and "8 to 128" in err and "Traceback" not in err
    assert fetch(dsn, "SELECT password_state FROM account") == [("issued",)]


def test_passwd_unknown_account(run: Cli) -> None:
    code, _, err = run("passwd", "201234567", stdin="long enough\n")
    assert code == 1 and "No account has that user name" in err and "Traceback" not in err


# --- check-config ---------------------------------------------------------------------------------------


def test_check_config_masks_secrets(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("SMSREG_SMPP_PASSWORD", "hunter2")
    env.setenv("SMSREG_DATABASE_URL", "postgresql://app:dbpass42@db.example/smsreg")
    env.setenv("SMSREG_SMPP_PORT", "2776")
    code, out, err = Cli(capsys, env)("check-config")
    assert code == 0
    for secret in ("hunter2", "dbpass42"):
        assert secret not in out and secret not in err
    described = json.loads(out)
    assert described["smpp"]["password"] == "***" and described["database"]["url"] == "***"
    assert described["smpp"]["port"] == 2776
    assert described["passwords"]["time_cost"] == 1       # FAST_HASH_ENV took effect
    assert described["replies"]["success"].startswith("TK: {0}, MK: {1}")


def test_check_config_reads_the_file_and_smsreg_config(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("smpp:\n  port: 2999\n")
    env.setenv("SMSREG_CONFIG", str(path))
    env.setattr(sys, "stdin", io.StringIO(""))
    code = cli.main(["check-config"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["smpp"]["port"] == 2999


@pytest.mark.parametrize(("yaml_text", "key"), [
    ("smpp:\n  hostname: x\n", "smpp.hostname"),
    ("smpp:\n  port: '2775'\n", "smpp.port"),
    ("smpp:\n  port: 70000\n", "smpp.port"),
    ("nosuch:\n  a: 1\n", "nosuch"),
    ("replies:\n  success: 'TK {0}'\n", "replies.success"),
])
@pytest.mark.parametrize("command", [["check-config"], ["migrate"], ["inject", "--from", "84905123456", AN]])
def test_a_bad_config_file_exits_2_naming_the_key(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        yaml_text: str, key: str, command: list[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    code = cli.main(["--config", str(path), *command])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert key in err and "configuration error" in err and "Traceback" not in err


@pytest.mark.parametrize(("name", "value", "key"), [
    ("SMSREG_SMPP_PORT", "abc", "smpp.port"),
    ("SMSREG_SMPP_TLS", "maybe", "smpp.tls"),
    ("SMSREG_DATABASE_POOL_MIN", "0", "database.pool_min"),
    ("SMSREG_SMPP_PASWORD", "x", "SMSREG_SMPP_PASWORD"),
    ("SMSREG_REGISTRATION_EXTRA_ID_PREFIXES", "48", "registration.extra_id_prefixes"),
])
def test_a_bad_env_override_exits_2_naming_the_key(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str, key: str) -> None:
    env.setenv(name, value)
    code, out, err = Cli(capsys, env)("check-config")
    assert code == 2 and out == "" and key in err and "Traceback" not in err


def test_an_invalid_id_prefix_stops_inject_with_exit_2_not_a_traceback(
        run: Cli, dsn: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("SMSREG_REGISTRATION_EXTRA_ID_PREFIXES", "48")
    code, out, err = run("inject", "--from", "84905123456", AN)
    assert code == 2 and out == ""
    assert "registration.extra_id_prefixes" in err and "Traceback" not in err
    assert fetch(dsn, "SELECT count(*) FROM inbound_sms") == [(0,)]


def test_a_missing_config_file_exits_2(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    code = cli.main(["--config", str(tmp_path / "missing.yaml"), "check-config"])
    _, err = capsys.readouterr()
    assert code == 2 and "missing.yaml" in err


# --- the database is unreachable or not migrated -----------------------------------------------------------


@pytest.mark.parametrize(("command", "stdin"), [
    (["inject", "--from", "84905123456", AN], ""),
    (["migrate"], ""),
    (["passwd", "048090012345"], "long enough\n"),
    (["verify", "048090012345"], "long enough\n"),
])
def test_database_unreachable_exits_1_with_a_clear_message(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str], stdin: str) -> None:
    env.setenv("SMSREG_DATABASE_URL", CLOSED_PORT_URL)
    code, out, err = Cli(capsys, env)(*command, stdin=stdin)
    assert code == 1 and out == ""
    assert err.startswith("smsreg: database unavailable") and "127.0.0.1" in err
    assert "Traceback" not in err and "s3cretpw" not in err
    assert len(err.strip().splitlines()) == 1


def test_inject_into_an_unmigrated_database_exits_1(
        admin_dsn: str, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"smsreg_test_empty_{uuid.uuid4().hex[:12]}"
    _create(admin_dsn, name)
    try:
        env.setenv("SMSREG_DATABASE_URL", _dsn_for(admin_dsn, name))
        code, out, err = Cli(capsys, env)("inject", "--from", "84905123456", AN)
    finally:
        _drop(admin_dsn, name)
    assert code == 1 and out == ""
    assert err.startswith("smsreg: database error") and "Traceback" not in err


def test_migrate_command(admin_dsn: str, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"smsreg_test_empty_{uuid.uuid4().hex[:12]}"
    _create(admin_dsn, name)
    try:
        env.setenv("SMSREG_DATABASE_URL", _dsn_for(admin_dsn, name))
        run = Cli(capsys, env)
        code, out, _ = run("migrate")
        assert code == 0 and "0001_initial" in out
        code, out, _ = run("migrate")
        assert code == 0 and out.strip() == "applied 0 migration(s)"
    finally:
        _drop(admin_dsn, name)


# --- help -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [name for name, *_ in cli._COMMANDS])
def test_help_for_every_subcommand(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   command: str) -> None:
    code, out, err = Cli(capsys, env)(command, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: smsreg {command}")


def test_top_level_help_lists_every_subcommand(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = Cli(capsys, env)("--help")
    assert code == 0
    for name, *_ in cli._COMMANDS:
        assert name in out
    code, out, _ = Cli(capsys, env)("--version")
    assert code == 0 and out.startswith("smsreg ")


@pytest.mark.parametrize("args", [[], ["nosuch"], ["inject", AN], ["inject", "--from", "849", "--coding", "x", AN]])
def test_usage_errors_exit_2(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = Cli(capsys, env)(*args)
    assert code == 2 and "usage: smsreg" in err


# --- a real process ---------------------------------------------------------------------------------------


def _subprocess(args: list[str], dsn: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSREG_")}
    environ.update(FAST_HASH_ENV, SMSREG_DATABASE_URL=dsn, SMSREG_SMPP_PASSWORD="hunter2",
                   PYTHONPATH=str(ROOT), PYTHONWARNINGS="error")
    return subprocess.run([sys.executable, "-m", "smsreg", "--config", "/dev/null", *args], input=stdin,
                          capture_output=True, text=True, env=environ, cwd=ROOT, timeout=60, check=False)


def test_python_m_smsreg_end_to_end(dsn: str) -> None:
    done = _subprocess(["inject", "--from", "+84905123456", "--coding", "8",
                        "TK,Nguyễn Văn Ân,048090012345,01.02.1990"], dsn)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == JSON_KEYS and result["outcome"] == "ok"
    assert result["reply"] == last_body(dsn)
    assert "hunter2" not in done.stdout + done.stderr

    (secret,) = fetch(dsn, "SELECT secret FROM outbound_sms")[0]
    assert _subprocess(["verify", "048090012345"], dsn, stdin=secret + "\n").returncode == 0
    assert _subprocess(["verify", "048090012345"], dsn, stdin="nope nope\n").returncode == 1


def test_python_m_smsreg_database_unreachable() -> None:
    done = _subprocess(["migrate"], CLOSED_PORT_URL)
    assert done.returncode == 1
    assert done.stderr.startswith("smsreg: database unavailable") and "Traceback" not in done.stderr
    assert "s3cretpw" not in done.stderr
