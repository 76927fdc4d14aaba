"""The report: a table on stdout, the targets met or missed, and a JSON file with everything."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from smsreg.bench import results
from smsreg.bench.checks import Check

RSS_LIMIT_MIB = 150.0
RSS_GROWTH_LIMIT_MIB = 5.0  # between the second and the last soak sample
_COLUMNS = (
    ("scenario", "scenario", 13), ("messages", "MOs", 7), ("mo_per_s", "ack/s", 8),
    ("replies_per_s", "reply/s", 8), ("sustained_per_s", "MO/s", 8), ("ack_p50_ms", "ack p50", 8),
    ("ack_p99_ms", "ack p99", 8),
    ("reply_p50_ms", "rep p50", 8), ("reply_p99_ms", "rep p99", 8),
    ("worker_cpu_ms_per_mo", "wkr ms/MO", 10), ("postgres_cpu_ms_per_mo", "pg ms/MO", 9),
    ("bench_cpu_ms_per_mo", "sim ms/MO", 10), ("peak_rss_mib", "RSS MiB", 8), ("checks", "checks", 7),
)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = " ".join(title.rjust(width) for _, title, width in _COLUMNS)
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(" ".join(_cell(row.get(key)).rjust(width) for key, _, width in _COLUMNS))
    return "\n".join(lines)


def targets(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of issue 6 that this run can judge: the figure, the bound, met or not."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, bound: float, higher_is_better: bool) -> None:
        met = value is not None and (value >= bound if higher_is_better else value <= bound)
        out.append({"target": name, "value": value, "bound": bound, "met": met})

    ratio = rows.get("registrations", {}).get("ratios", {}).get("MO/s / hashes_per_s (adjacent)")
    if ratio is not None:
        add("registrations / hash ceiling", ratio, 0.9, True)
    if "replies" in rows:
        add("replies only, MO/s sustained", rows["replies"]["sustained_per_s"], 4000, True)
    if "paced" in rows:
        paced = rows["paced"]
        by_kind = paced["reply_ms_by_kind"]
        add("paced deliver_sm_resp p99 ms", paced["ack_p99_ms"], 20, False)
        add("paced wrong-syntax reply p99 ms", by_kind.get("wrong_syntax", {}).get("p99"), 100, False)
        add("paced registration reply p99 ms", by_kind.get("registration", {}).get("p99"), 150, False)
    if "soak" in rows:
        soak = rows["soak"]
        add("soak peak RSS MiB", soak["peak_rss_mib"], RSS_LIMIT_MIB, False)
        samples = [(int(n), int(mib * results.MIB)) for n, mib in soak["rss_samples_mib"]]
        add("soak RSS growth MiB", round(results.rss_growth_mib(samples), 1), RSS_GROWTH_LIMIT_MIB, False)
    return out


def print_report(rows: list[dict[str, Any]], ceilings: dict[str, float], goals: list[dict[str, Any]],
                 failures: list[tuple[str, Check]]) -> None:
    print()
    print(table(rows))
    print()
    for name, value in ceilings.items():
        print(f"ceiling  {name:<32} {value:>10,.1f}")
    for row in rows:
        if row.get("ratios") and row["scenario"] != "paced":
            for name, value in row["ratios"].items():
                print(f"ratio    {row['scenario'] + ' ' + name:<32} {value:>10.3f}")
    print()
    for goal in goals:
        print(f"target   {goal['target']:<36} {_cell(goal['value']):>9}  bound {goal['bound']:<6} "
              f"{'met' if goal['met'] else 'MISSED'}")
    print()
    for scenario, check in failures:
        print(f"CHECK FAILED [{scenario}] {check.name}: {check.detail}")


def write_json(directory: Path, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    (directory / "latest.json").write_text(path.read_text())
    return path
