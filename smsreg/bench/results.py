"""Figures of one scenario, computed from the simulator's records and /proc readings."""

from __future__ import annotations

from dataclasses import dataclass

from smsreg.bench import load
from smsreg.bench.scenarios import Scenario
from smsreg.smsc import FloodResult, MoHandle, Reply

MIB = 1024


@dataclass(frozen=True, slots=True)
class Costs:
    """CPU seconds spent during the scenario, and the worker's memory."""

    worker_cpu_s: float
    bench_cpu_s: float        # the simulator and load generator (this process)
    postgres_cpu_s: float     # the server processes serving the worker
    wall_s: float
    peak_rss_kib: int
    end_rss_kib: int


def percentile(values: list[float], q: float) -> float | None:
    return FloodResult.percentile(values, q)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def latencies(handles: list[MoHandle], replies: list[Reply],
              kinds: dict[str, str]) -> tuple[list[float], dict[str, list[float]], float]:
    """Ack latencies, reply latencies by kind (first deliver_sm → reply complete), last reply time."""
    first_reply: dict[str, float] = {}
    for reply in replies:
        first_reply.setdefault(reply.destination, reply.received_at)
    acks: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for handle in handles:
        ack = handle.ack_latency_s
        if ack is not None:
            acks.append(ack)
        attempts = handle.attempts
        replied = first_reply.get(handle.source)
        if attempts and replied is not None:
            by_kind.setdefault(kinds.get(handle.source, "?"), []).append(replied - attempts[0].sent_at)
    return acks, by_kind, max(first_reply.values(), default=0.0)


def summarize(scenario: Scenario, run: load.LoadResult, handles: list[MoHandle], replies: list[Reply],
              costs: Costs) -> dict[str, object]:
    """The figures of one scenario, as they go into the JSON file and the table."""
    acks, by_kind, last_reply = latencies(handles, replies, run.kinds)
    every_reply = [v for values in by_kind.values() for v in values]
    flood = run.flood
    mos = max(1, flood.acked)
    reply_span = last_reply - run.started
    replies_per_s = round(len(every_reply) / reply_span, 1) if reply_span > 0 else None
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "messages": flood.sent,
        "acked": flood.acked,
        "mo_per_s": round(flood.mo_per_s, 1),
        "replies_per_s": replies_per_s,
        # Acks can run ahead of replies (the outbox then grows without bound): what is sustained
        # is the slower of the two.
        "sustained_per_s": min(round(flood.mo_per_s, 1), replies_per_s or 0.0),
        "ack_p50_ms": _ms(percentile(acks, 50)),
        "ack_p99_ms": _ms(percentile(acks, 99)),
        "reply_p50_ms": _ms(percentile(every_reply, 50)),
        "reply_p99_ms": _ms(percentile(every_reply, 99)),
        "reply_ms_by_kind": {kind: {"p50": _ms(percentile(v, 50)), "p99": _ms(percentile(v, 99)), "n": len(v)}
                             for kind, v in sorted(by_kind.items())},
        "worker_cpu_ms_per_mo": round(costs.worker_cpu_s * 1000 / mos, 3),
        "bench_cpu_ms_per_mo": round(costs.bench_cpu_s * 1000 / mos, 3),
        "postgres_cpu_ms_per_mo": round(costs.postgres_cpu_s * 1000 / mos, 3),
        "worker_cores_busy": round(costs.worker_cpu_s / costs.wall_s, 2) if costs.wall_s else None,
        "wall_s": round(costs.wall_s, 2),
        "peak_rss_mib": round(costs.peak_rss_kib / MIB, 1),
        "end_rss_mib": round(costs.end_rss_kib / MIB, 1),
        "rss_samples_mib": [[n, round(kib / MIB, 1)] for n, kib in run.rss_samples],
    }


def rss_growth_mib(samples: list[tuple[int, int]]) -> float:
    """Growth from the second sample (after warm-up) to the last, in MiB."""
    if len(samples) < 3:
        return 0.0
    return (samples[-1][1] - samples[1][1]) / MIB
