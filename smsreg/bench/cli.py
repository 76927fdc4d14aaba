"""Run the chosen scenarios against a real worker process, check the guarantees, report.

Exit status: 0 when every guarantee check passed (targets are reported, not enforced),
1 when a check failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import shlex
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smsreg import config, logs
from smsreg.bench import ceilings, database, execute, proc, report, vacuum, workerproc
from smsreg.bench.checks import Check
from smsreg.bench.scenarios import SCENARIOS, select

REPO = Path(__file__).resolve().parents[2]
HASH_CEILING_S = 4.0
COMMIT_CEILING_S = 3.0
BATCH = 50                   # MOs per transaction in the batched commit ceiling


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m smsreg.bench", description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default="all", help=f"all, or some of: {','.join(SCENARIOS)}")
    p.add_argument("--scale", type=float, default=1.0, help="multiply message counts and durations (e.g. 0.1)")
    p.add_argument("--window", type=int, default=100, help="MOs the simulator keeps unacknowledged (flood)")
    p.add_argument("--probe-every", type=int, default=20,
                   help="check committed-before-ack on every Nth MO (1 = all; 0 = off)")
    p.add_argument("--worker-env", action="append", default=[], metavar="SMSREG_KEY=VALUE",
                   help="extra worker setting (repeatable), e.g. SMSREG_SMPP_WORKERS=8")
    p.add_argument("--no-receipts", action="store_true", help="the simulator sends no delivery receipts")
    p.add_argument("--no-vacuum", action="store_true",
                   help="do not stand in for autovacuum when the server has it off")
    p.add_argument("--no-ceilings", action="store_true", help="skip the hash and commit ceilings")
    p.add_argument("--profile", action="store_true",
                   help="record a py-spy profile of the worker (collapsed stacks, in --out)")
    p.add_argument("--out", type=Path, default=REPO / "bench-results", help="directory for the JSON file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        chosen = [s.scaled(args.scale) for s in select(args.scenarios)]
        overrides = dict(_pair(item) for item in args.worker_env)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    logs.setup(config.LoggingConfig(level="WARNING"))
    logging.getLogger("smsreg.smsc.recorder").setLevel(logging.ERROR)  # duplicates are counted by the checks
    admin, name = database.admin_dsn(), database.bench_name()
    cfg = config.load(None, {**_plain_environ(), **overrides})
    doc = _header(args, admin, overrides)
    print(f"bench: database {name} on {doc['server'].get('server_version')}, "
          f"{doc['machine']['cpus']} CPUs, load {doc['machine']['load_average']}", flush=True)
    measured = [_ceilings(args, admin, name, cfg)] if not args.no_ceilings else []
    emulate = not vacuum.server_autovacuum(admin) and not args.no_vacuum
    if emulate:
        print(f"bench: autovacuum is off on this server; the bench applies its rule every {vacuum.NAPTIME_S:.0f} s",
              flush=True)
    doc["emulated_autovacuum"] = emulate
    opts = execute.Options(admin, name, args.window, args.probe_every, not args.no_receipts, overrides,
                           args.out, REPO, cfg.passwords, args.profile, emulate)
    rows: list[dict[str, Any]] = []
    failures: list[tuple[str, Check]] = []
    for scenario in chosen:
        print(f"bench: {scenario.name}: {scenario.description} ({scenario.total:,} MOs)", flush=True)
        adjacent = []
        if scenario.name == "registrations" and not args.no_ceilings:
            adjacent.append(ceilings.hashes_per_s(cfg.passwords, HASH_CEILING_S))
        row, found = execute.run(scenario, opts)
        if adjacent:
            adjacent.append(ceilings.hashes_per_s(cfg.passwords, HASH_CEILING_S))
            row["hash_ceiling_adjacent"] = [round(v, 1) for v in adjacent]
        rows.append(row)
        failures += [(scenario.name, c) for c in found if not c.ok]
    if not args.no_ceilings and chosen:
        measured.append(_ceilings(args, admin, name, cfg))
    return _finish(args, doc, rows, measured, failures)


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.startswith("SMSREG_"):
        raise ValueError(f"--worker-env wants SMSREG_KEY=VALUE, got {item!r}")
    return key, value


def _plain_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SMSREG_")}


def _header(args: argparse.Namespace, admin: str, overrides: dict[str, str]) -> dict[str, Any]:
    argv = [shlex.quote(a) for a in sys.argv[1:]]
    make_vars = f"SCENARIOS={args.scenarios} SCALE={args.scale:g}"
    extra = _extra_args(args)
    return {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commands": {
            "make": f"make bench {make_vars}" + (f" BENCH_ARGS={shlex.quote(extra)}" if extra else ""),
            "direct": "python -m smsreg.devdb run --dir .pgdata --database smsreg_bench -- "
                      ".venv/bin/python -m smsreg.bench " + " ".join(argv),
        },
        "git": _git(),
        "python": platform.python_version(),
        "machine": proc.machine(),
        "server": database.server_facts(admin),
        "worker_overrides": {**workerproc.THROUGHPUT_ENV, **overrides},
        "simulator": {"window": args.window, "receipts": not args.no_receipts},
    }


def _extra_args(args: argparse.Namespace) -> str:
    """The options besides --scenarios and --scale, for BENCH_ARGS."""
    defaults = build_parser().parse_args([])
    out = []
    for name in ("window", "probe_every", "out"):
        if getattr(args, name) != getattr(defaults, name):
            out += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    out += [f"--{flag.replace('_', '-')}" for flag in ("no_receipts", "no_ceilings", "no_vacuum", "profile")
            if getattr(args, flag)]
    for item in args.worker_env:
        out += ["--worker-env", item]
    return " ".join(shlex.quote(a) for a in out)


def _git() -> str:
    run = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                         cwd=REPO, check=False)
    return run.stdout.strip() or "unknown"


def _ceilings(args: argparse.Namespace, admin: str, name: str, cfg: config.Config) -> dict[str, float]:
    print("bench: measuring ceilings (hashes/s, commits/s)", flush=True)
    dsn = database.fresh(admin, name)
    workers = cfg.smpp.workers
    return {
        "hashes_per_s": ceilings.hashes_per_s(cfg.passwords, HASH_CEILING_S),
        f"commits_per_s ({workers} conns, 1 MO/tx)": ceilings.commits_per_s(dsn, workers, 1, COMMIT_CEILING_S),
        f"MOs_per_s ({workers} conns, {BATCH} MOs/tx)":
            BATCH * ceilings.commits_per_s(dsn, workers, BATCH, COMMIT_CEILING_S),
    }


def _finish(args: argparse.Namespace, doc: dict[str, Any], rows: list[dict[str, Any]],
            measured: list[dict[str, float]], failures: list[tuple[str, Check]]) -> int:
    means = {k: statistics.mean(m[k] for m in measured) for k in measured[0]} if measured else {}
    by_name = {row["scenario"]: row for row in rows}
    _ratios(by_name, means)
    goals = report.targets(by_name)
    report.print_report(rows, means, goals, failures)
    doc.update(ceilings={"measurements": measured, "mean": means}, scenarios=rows, targets=goals,
               failed_checks=[{"scenario": s, "check": c.name, "detail": c.detail} for s, c in failures])
    path = report.write_json(args.out, doc)
    print(f"results: {path}")
    print(f"rerun:   {doc['commands']['make']}")
    print(f"         {doc['commands']['direct']}")
    for row in rows:
        print(f"worker ({row['scenario']}): {row['worker_command']}")
    if failures:
        print(f"bench: {len(failures)} guarantee check(s) FAILED", file=sys.stderr)
        return 1
    return 0


def _ratios(rows: dict[str, dict[str, Any]], means: dict[str, float]) -> None:
    """MO/s against the ceiling that bounds it, measured in the same run: registrations against
    the hash rate measured just before and after them, the rest against the commit rates."""
    for row in rows.values():
        if row["scenario"] == "registrations":
            adjacent = row.get("hash_ceiling_adjacent") or [means.get("hashes_per_s", 0.0)]
            ceiling = statistics.mean(adjacent)
            row["ratios"] = {"MO/s / hashes_per_s (adjacent)": round(row["sustained_per_s"] / ceiling, 3)} \
                if ceiling else {}
            continue
        row["ratios"] = {f"MO/s / {name}": round(row["sustained_per_s"] / value, 3)
                         for name, value in means.items() if value and not name.startswith("hashes")}
