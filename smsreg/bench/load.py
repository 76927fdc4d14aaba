"""The load: MOs from the simulator in flood mode (a window of unacknowledged MOs) or paced,
with a durable-before-ack probe on every Nth MO and, for the soak, RSS samples of the worker.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import psycopg

from smsreg import register
from smsreg.bench import proc
from smsreg.bench.scenarios import Scenario, messages
from smsreg.smsc import FloodResult, MoHandle, MoSpec, Simulator
from smsreg.smsc.flood import run_flood

ACK_TIMEOUT_S = 60.0
REPLY_TIMEOUT_S = 120.0
_FOUND = "SELECT 1 FROM inbound_sms WHERE redelivery_key = %s LIMIT 1"


class AckProbe:
    """For every Nth MO: the moment its deliver_sm_resp 0 reaches the simulator, another
    session must already see its inbound row (architecture.md rule 1). Runs on the link's
    reader thread, so nothing else is read until the check is done."""

    def __init__(self, dsn: str, every: int) -> None:
        self.every = every
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._lock = threading.Lock()
        self.checked = 0
        self.violations: list[str] = []

    def wrap(self, n: int, spec: MoSpec, on_done: Callable[[MoHandle], None]) -> Callable[[MoHandle], None]:
        if self.every <= 0 or n % self.every:
            return on_done
        mo = register.Mo(spec.source, spec.dest, spec.data_coding, spec.user_data(), dt.datetime.now(dt.UTC))
        key = register.redelivery_key(mo)

        def check(handle: MoHandle) -> None:
            if handle.acked:
                self._check(spec.source, key)
            on_done(handle)
        return check

    def _check(self, source: str, key: bytes) -> None:
        with self._lock:
            found = self._conn.execute(_FOUND, (key,)).fetchone()
            self.checked += 1
            if found is None:
                self.violations.append(source)

    def close(self) -> None:
        self._conn.close()


@dataclass
class LoadResult:
    flood: FloodResult
    started: float                      # monotonic, first send
    kinds: dict[str, str]               # MO source → scenario kind
    rss_samples: list[tuple[int, int]] = field(default_factory=list)   # (MOs sent, worker RSS KiB)


def paced(items: Iterable[tuple[MoSpec, str]], rate_per_s: float) -> Iterator[tuple[MoSpec, str]]:
    """items at a fixed rate (a late start is not caught up in a burst larger than one)."""
    start = time.monotonic()
    for i, item in enumerate(items):
        delay = start + i / rate_per_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield item


def run(smsc: Simulator, scenario: Scenario, window: int, probe: AckProbe, worker_pid: int) -> LoadResult:
    """Send the scenario's MOs; return when all are acknowledged and replied (or timed out)."""
    kinds: dict[str, str] = {}
    rss: list[tuple[int, int]] = []
    items: Iterable[tuple[MoSpec, str]] = messages(scenario)
    if scenario.paced:
        items = paced(items, scenario.rate_per_s)

    def specs() -> Iterator[MoSpec]:
        for n, (spec, kind) in enumerate(items):
            if scenario.rss_every and n % scenario.rss_every == 0:
                rss.append((n, proc.usage(worker_pid).rss_kib))
            kinds[spec.source] = kind
            yield spec

    counter = iter(range(1 << 62))

    def send(spec: MoSpec, on_done: Callable[[MoHandle], None]) -> MoHandle:
        return smsc.send_spec(spec, probe.wrap(next(counter), spec, on_done))

    started = time.monotonic()
    flood = run_flood(send, smsc.recorder, specs(), window,
                      reply_timeout_s=REPLY_TIMEOUT_S, ack_timeout_s=ACK_TIMEOUT_S)
    if scenario.rss_every:
        rss.append((scenario.total, proc.usage(worker_pid).rss_kib))
    return LoadResult(flood, started, kinds, rss)


def wait_receipts(smsc: Simulator, timeout_s: float) -> int:
    """Wait until every delivery receipt the simulator queued was answered; how many are not."""
    deadline = time.monotonic() + timeout_s
    while True:
        pending = sum(1 for r in smsc.receipts_sent if not r.delivery.done)
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(0.05)
