"""Every Prometheus metric of the worker, on one registry, with label values initialised ahead of use.

A leaf module: it imports only prometheus_client and the standard library (plus the package's
version string), so any module may import it. Names are in base units (seconds, `_total`).
"""

from __future__ import annotations

import platform
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    ProcessCollector,
)

from smsreg import __version__

NAMESPACE = "smsreg"

# Label values, initialised at construction so every alert sees a 0 and never an absent series.
# REGISTRATION_OUTCOMES mirrors replies.Outcome (a test keeps them equal; this module stays a leaf).
MO_KINDS = ("registration", "receipt", "concatenated_part", "undecodable")
REGISTRATION_OUTCOMES = ("ok", "syntax_error", "duplicate_id", "duplicate_phone", "redelivery", "invalid_sender")
SUBMIT_RESULTS = ("accepted", "throttled", "failed", "timeout", "retried")
RECEIPT_STATES = ("delivered", "undeliverable", "expired", "deleted", "rejected", "unknown")
BIND_RESULTS = ("ok", "failed")
RECONNECT_REASONS = ("connect_failed", "bind_failed", "link_dead", "unbind", "protocol_error", "error")
DB_ERROR_KINDS = ("unavailable", "error")
ESME_ROK = 0x00000000

# Bucket boundaries, in seconds. Each set brackets the value we expect and the limit that matters,
# so the alert thresholds (deploy/prometheus/smsreg.rules.yml) fall on a bucket edge.
#
# enquire_link round trip: a few ms on a LAN, tens of ms over an operator VPN; the response
# timer (smpp.response_timeout_s, default 10 s) is the top edge.
ENQUIRE_LINK_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# MO received -> deliver_sm_resp sent: a commit (~1 ms) plus one argon2 hash (~22 ms) when idle;
# queueing and database retries (database.retry_budget_s, default 2 s) push it up. Above ~2-5 s
# the SMSC's own response timer expires and it redelivers, hence the fine ms edges and 2/3/5 s.
MO_ACK_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
# MO received -> reply submit_sm accepted: the citizen's wait. The promise is "within a second",
# so 1 s is an edge; sender ticks, rate limiting and SMSC throttling stretch it to ~10 s and beyond.
MO_REPLY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
# One registration transaction: dominated by the password hash (~22 ms, t=2/19 MiB); a slow
# database or lock waits show as 100 ms - 1 s.
REGISTER_BUCKETS_S = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
# One argon2id hash: ~22 ms with the OWASP minimum, ~133 ms with argon2-cffi defaults; fine edges
# around both show a cost change or CPU starvation.
HASH_BUCKETS_S = (0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0)


def status_label(status: int) -> str:
    """The `status` label of smsreg_deliver_sm_resp_total: 0x64 -> '0x00000064'."""
    return f"0x{status:08x}"


class Metrics:
    """Every metric of the worker, registered on one registry; label values initialised at construction.

    Without a registry a fresh one is made (never the global default, so two instances never
    clash) and the process and GC collectors are added to it; a registry passed in is used as is.
    """

    registry: CollectorRegistry
    mo_received: Counter            # {kind}
    registrations: Counter          # {outcome}
    deliver_sm_resp: Counter        # {status}, status_label(command_status)
    submit_sm: Counter              # {result}
    receipts: Counter               # {state}
    segments_sent: Counter
    bound: Gauge
    binds: Counter                  # {result}
    reconnects: Counter             # {reason}
    enquire_link_rtt: Histogram
    mo_ack_latency: Histogram
    mo_reply_latency: Histogram
    register_duration: Histogram
    hash_duration: Histogram
    db_errors: Counter              # {kind}
    workers_busy: Gauge
    build_info: Info

    def __init__(self, registry: CollectorRegistry | None = None, *, temp_error_status: int = 0x64) -> None:
        if registry is None:
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        self._define_traffic(registry, temp_error_status)
        self._define_session(registry)
        self._define_latency(registry)
        self._define_process(registry)

    def _define_traffic(self, reg: CollectorRegistry, temp_error_status: int) -> None:
        self.mo_received = _counter(reg, "mo_received", "MO deliver_sm PDUs received, by kind.",
                                    "kind", MO_KINDS)
        self.registrations = _counter(reg, "registrations", "Registration MOs processed, by outcome.",
                                      "outcome", REGISTRATION_OUTCOMES)
        self.deliver_sm_resp = _counter(
            reg, "deliver_sm_resp", "deliver_sm_resp sent to the SMSC, by command_status (0x00000000 = accepted).",
            "status", (status_label(ESME_ROK), status_label(temp_error_status)))
        self.submit_sm = _counter(reg, "submit_sm", "submit_sm outcomes as answered by the SMSC, by result.",
                                  "result", SUBMIT_RESULTS)
        self.receipts = _counter(reg, "delivery_receipts", "Delivery receipts received, by final state.",
                                 "state", RECEIPT_STATES)
        self.segments_sent = Counter(f"{NAMESPACE}_reply_segments_sent_total",
                                     "Reply SMS segments accepted by the SMSC.", registry=reg)

    def _define_session(self, reg: CollectorRegistry) -> None:
        self.bound = Gauge(f"{NAMESPACE}_smpp_bound", "1 while the SMPP transceiver session is bound, else 0.",
                           registry=reg)
        self.binds = _counter(reg, "smpp_binds", "bind_transceiver attempts, by result.", "result", BIND_RESULTS)
        self.reconnects = _counter(reg, "smpp_reconnects", "SMPP session restarts, by reason.",
                                   "reason", RECONNECT_REASONS)
        self.enquire_link_rtt = Histogram(f"{NAMESPACE}_enquire_link_rtt_seconds",
                                          "Round trip of enquire_link to enquire_link_resp.",
                                          buckets=ENQUIRE_LINK_BUCKETS_S, registry=reg)

    def _define_latency(self, reg: CollectorRegistry) -> None:
        self.mo_ack_latency = Histogram(f"{NAMESPACE}_mo_ack_seconds",
                                        "MO deliver_sm received to its deliver_sm_resp sent.",
                                        buckets=MO_ACK_BUCKETS_S, registry=reg)
        self.mo_reply_latency = Histogram(f"{NAMESPACE}_mo_reply_seconds",
                                          "MO deliver_sm received to its reply's submit_sm accepted.",
                                          buckets=MO_REPLY_BUCKETS_S, registry=reg)
        self.register_duration = Histogram(f"{NAMESPACE}_register_transaction_seconds",
                                           "One registration transaction, password hash included.",
                                           buckets=REGISTER_BUCKETS_S, registry=reg)
        self.hash_duration = Histogram(f"{NAMESPACE}_password_hash_seconds", "One argon2id password hash.",
                                       buckets=HASH_BUCKETS_S, registry=reg)

    def _define_process(self, reg: CollectorRegistry) -> None:
        self.db_errors = _counter(reg, "db_errors", "Database errors seen by the worker, by kind "
                                  "(unavailable = transient, retried; error = anything else).",
                                  "kind", DB_ERROR_KINDS)
        self.workers_busy = Gauge(f"{NAMESPACE}_workers_busy", "Worker threads processing an MO right now.",
                                  registry=reg)
        self.build_info = Info(f"{NAMESPACE}_build", "Version of smsreg and of Python.", registry=reg)
        self.build_info.info({"version": __version__, "python": platform.python_version()})


_C = TypeVar("_C", bound="LabelledCounter")


class LabelledCounter(Counter):
    """A Counter with one label whose children are looked up in a plain dict: the worker counts
    several labelled events per MO, and prometheus_client's labels() validates, converts and
    takes a lock on every call (5 % of the worker's CPU in `make bench`). Children are created
    by the base class on first use, so values not known ahead still work."""

    def labels(self: _C, *labelvalues: object, **labelkwargs: object) -> _C:
        key = labelvalues or tuple(labelkwargs.values())
        cache: dict[tuple[object, ...], _C] = self.__dict__.setdefault("_children", {})
        child = cache.get(key)
        if child is None:
            child = cache[key] = super().labels(*labelvalues, **labelkwargs)
        return child


def _counter(reg: CollectorRegistry, name: str, documentation: str, label: str,
             values: tuple[str, ...]) -> Counter:
    counter = LabelledCounter(f"{NAMESPACE}_{name}_total", documentation, (label,), registry=reg)
    for value in values:
        counter.labels(value)
    return counter
