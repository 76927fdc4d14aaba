"""Named SQL blocks from sql/*.sql, loaded once: `-- name --`, a `-- description` line, the query.

Call sites use `sql.Q["claim_outbound"]`; placeholders are `%(name)s` only and no SQL is ever
assembled from strings.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import LiteralString

logger = logging.getLogger(__name__)

_BLOCK = re.compile(r"^--\s*(?P<name>[a-z_][a-z0-9_]*)\s*--\s*$", re.MULTILINE)


def sql_dir() -> Path:
    """Where the SQL files are: $SMSREG_PATHS_SQL_DIR, the checkout, or the installed share dir."""
    env = os.environ.get("SMSREG_PATHS_SQL_DIR")
    if env:  # named explicitly: use it or fail, never fall back to another copy
        if not (Path(env) / "migrations").is_dir():
            raise FileNotFoundError(f"SMSREG_PATHS_SQL_DIR={env} has no migrations/ directory")
        return Path(env)
    candidates = [Path(__file__).resolve().parent.parent / "sql",
                   Path(sys.prefix) / "share" / "smsreg" / "sql"]
    for candidate in candidates:
        if (candidate / "migrations").is_dir():
            return candidate
    raise FileNotFoundError(f"no sql/ directory found (looked in {', '.join(map(str, candidates))})")


def parse_blocks(text: str) -> dict[str, LiteralString]:
    """Split one file into {name: query}; the text before the first name is ignored."""
    parts = _BLOCK.split(text)
    queries: dict[str, LiteralString] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [ln for ln in body.strip().splitlines() if not ln.lstrip().startswith("--")]
        query = "\n".join(lines).strip().rstrip(";")
        if name in queries:
            raise ValueError(f"query {name!r} defined twice")
        queries[name] = query  # a trusted project file, not user input
    return queries


@functools.cache
def load() -> Mapping[str, LiteralString]:
    directory = sql_dir()
    queries: dict[str, LiteralString] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, query in parse_blocks(path.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} defined in two files")
            queries[name] = query
    logger.debug("loaded %d named queries from %s", len(queries), directory)
    return queries


class _Queries(Mapping[str, LiteralString]):
    """Lazy view so importing a module does not read files; a missing name fails loudly."""

    def __getitem__(self, name: str) -> LiteralString:
        try:
            return load()[name]
        except KeyError:
            raise KeyError(f"no SQL query named {name!r} in {sql_dir()}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(load())

    def __len__(self) -> int:
        return len(load())


Q: Mapping[str, LiteralString] = _Queries()
