"""The named-SQL loader: block parsing, duplicates, and every name the code uses exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsreg import sql

PACKAGE = Path(sql.__file__).resolve().parent
# Any subscript of Q: the literal-name form is the only one allowed, so a dynamic
# name (which this test could not check) is reported too.
_Q_SUBSCRIPT = re.compile(r"\bQ\[(?P<arg>[^\]]*)\]")
_LITERAL = re.compile(r"""\s*["'](?P<name>[a-z_][a-z0-9_]*)["']\s*""")


@pytest.fixture
def fresh_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """sql.load() is cached: clear it around a test that points it elsewhere."""
    sql.load.cache_clear()
    yield
    monkeypatch.undo()
    sql.load.cache_clear()


def used_names() -> dict[str, list[str]]:
    """name → the places in smsreg/ that use sql.Q[name]."""
    used: dict[str, list[str]] = {}
    dynamic = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in _Q_SUBSCRIPT.finditer(line):
                literal = _LITERAL.fullmatch(match["arg"])
                where = f"{path.relative_to(PACKAGE.parent)}:{lineno}"
                if literal is None:
                    dynamic.append(where)
                else:
                    used.setdefault(literal["name"], []).append(where)
    assert not dynamic, f"sql.Q subscripted with a non-literal name at {dynamic}"
    return used


def test_parse_blocks_names_and_bodies() -> None:
    text = (
        "-- File header: ignored.\n"
        "SELECT 'not a query';\n"
        "\n"
        "-- first_query --\n"
        "-- What it does.\n"
        "SELECT 1\n"
        "  FROM t\n"
        " WHERE a = %(a)s;\n"
        "\n"
        "--second_2--\n"
        "UPDATE t SET b = %(b)s\n"
        "-- a trailing comment line\n"
    )
    assert sql.parse_blocks(text) == {
        "first_query": "SELECT 1\n  FROM t\n WHERE a = %(a)s",
        "second_2": "UPDATE t SET b = %(b)s",
    }


def test_parse_blocks_ignores_comments_that_are_not_names() -> None:
    text = "-- a_name --\nSELECT 1 -- inline comment stays\n-- Not A Name --\n"
    assert sql.parse_blocks(text) == {"a_name": "SELECT 1 -- inline comment stays"}


def test_parse_blocks_rejects_a_duplicate_name() -> None:
    with pytest.raises(ValueError, match="'q'"):
        sql.parse_blocks("-- q --\nSELECT 1\n-- q --\nSELECT 2\n")


def test_load_rejects_a_name_defined_in_two_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_load: None) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "a.sql").write_text("-- shared --\nSELECT 1\n")
    (tmp_path / "b.sql").write_text("-- shared --\nSELECT 2\n")
    monkeypatch.setenv("SMSREG_PATHS_SQL_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="'shared'"):
        sql.load()


def test_load_reads_every_file_of_the_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_load: None) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_x.sql").write_text("-- not_loaded --\nSELECT 0\n")
    (tmp_path / "a.sql").write_text("-- one --\nSELECT 1\n")
    (tmp_path / "b.sql").write_text("-- two --\nSELECT 2\n")
    monkeypatch.setenv("SMSREG_PATHS_SQL_DIR", str(tmp_path))
    assert dict(sql.load()) == {"one": "SELECT 1", "two": "SELECT 2"}
    assert sorted(sql.Q) == ["one", "two"] and len(sql.Q) == 2


def test_the_checkout_sql_directory_is_found() -> None:
    assert sql.sql_dir() == PACKAGE.parent / "sql"


def test_a_missing_name_fails_loudly() -> None:
    with pytest.raises(KeyError, match="no_such_query"):
        sql.Q["no_such_query"]


def test_every_name_the_code_uses_exists() -> None:
    used = used_names()
    # The scan itself must find the registration queries, or it is scanning nothing.
    assert {"insert_account", "insert_inbound_and_reply", "set_password"} <= set(used)
    missing = {name: places for name, places in used.items() if name not in sql.Q}
    assert not missing, f"queries used but not defined in sql/*.sql: {missing}"


def test_queries_use_named_placeholders_only() -> None:
    bad = {}
    for name, query in sql.load().items():
        assert query.strip(), name
        rest = re.sub(r"%\(\w+\)s|%%", "", query)
        if "%" in rest:
            bad[name] = query
    assert not bad, f"placeholders other than %(name)s: {sorted(bad)}"
