"""End-to-end fixtures: the project's SMSC simulator, a worker bound to it over real sockets,
a real PostgreSQL, and a cuttable TCP relay for outages.

Assertions read the simulator's records and the database, never the worker's own word.
Timers are shortened through the ordinary SMSREG_* overrides; waits are generous so a
loaded 2-core box still passes.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo

from smsreg import config, runner
from smsreg.smsc import Reply, Simulator
from tests.citizens import id_number, phone, reg_text  # noqa: F401 - re-exported to the tests here
from tests.conftest import make_config

REPO = Path(__file__).resolve().parents[2]
SMSC_PASSWORD = "e2e-pw"  # SMPP 3.4: at most 8 characters
WAIT_S = 20.0           # generous upper bound for anything that should take well under a second
STOP_TIMEOUT_S = 30.0   # runner.run must return within this after stop is set
SMSC_RETRY_DELAY_S = 0.2
SMSC_RESPONSE_TIMEOUT_S = 5.0
SMSC_MAX_RETRIES = 200  # an MO answered 0x64 during a DB outage must survive the whole outage
MAINTENANCE_S = 0.25    # runner's maintenance tick (concat expiry), shortened for the tests

# Short timers for the worker under test (all ordinary config keys).
E2E_ENV = {
    "SMSREG_SMPP_SYSTEM_ID": "smsreg",
    "SMSREG_SMPP_PASSWORD": SMSC_PASSWORD,
    "SMSREG_SMPP_RESPONSE_TIMEOUT_S": "1.0",
    "SMSREG_SMPP_ENQUIRE_LINK_S": "1",
    "SMSREG_SMPP_INACTIVITY_S": "5",
    "SMSREG_SMPP_RECONNECT_MIN_S": "0.05",
    "SMSREG_SMPP_RECONNECT_MAX_S": "0.5",
    "SMSREG_SMPP_CONCAT_TIMEOUT_S": "1",
    "SMSREG_SMPP_SHUTDOWN_GRACE_S": "4",
    "SMSREG_SMPP_WORKERS": "3",
    "SMSREG_SMPP_MAX_TPS": "500",
    "SMSREG_SMPP_WINDOW": "10",
    "SMSREG_DATABASE_POOL_MIN": "1",
    "SMSREG_DATABASE_CONNECT_TIMEOUT_S": "1",
    "SMSREG_DATABASE_RETRY_BUDGET_S": "0.5",
    "SMSREG_METRICS_LISTEN": "127.0.0.1:0",
    "SMSREG_LOGGING_LEVEL": "INFO",
}


# ---- test data --------------------------------------------------------------------------



PASSWORD_IN_REPLY = re.compile(r"TK: ([0-9]+), MK: ([A-Za-z0-9]+) ")


# ---- waiting and reading ----------------------------------------------------------------

def wait_for(predicate: Callable[[], Any], timeout: float = WAIT_S, interval: float = 0.05) -> Any:
    """Poll until predicate() is truthy; return its value, or the last (falsy) value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def rows(dsn: str, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
    """Read with a short-lived connection of the test's own (never the worker's)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        return c.execute(query, params).fetchall()


def replies_to(smsc: Simulator, destination: str) -> list[Reply]:
    return [r for r in smsc.replies if r.destination == destination]


def reply_counts(smsc: Simulator) -> Counter[str]:
    return Counter(r.destination for r in smsc.replies)


def wait_replied(smsc: Simulator, destinations: Iterable[str], timeout: float = WAIT_S) -> Counter[str]:
    """Wait until every destination has at least one reply; return the reply counts."""
    wanted = set(destinations)
    wait_for(lambda: wanted <= set(reply_counts(smsc)), timeout)
    counts = reply_counts(smsc)
    missing = sorted(wanted - set(counts))
    assert not missing, f"no reply within {timeout:.0f} s for {missing}"
    return counts


def settled(dsn: str) -> bool:
    """No reply is waiting or in flight in the database."""
    return not rows(dsn, "SELECT 1 FROM outbound_sms WHERE state IN ('queued', 'sending') LIMIT 1")


def wait_settled(dsn: str, timeout: float = WAIT_S) -> None:
    assert wait_for(lambda: settled(dsn), timeout), rows(
        dsn, "SELECT id, destination, state, attempts, error FROM outbound_sms WHERE state IN ('queued', 'sending')")


def http_get(url: str) -> tuple[int, str]:
    """(status, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# ---- the simulator and the worker -----------------------------------------------------------

@pytest.fixture
def smsc() -> Iterator[Simulator]:
    with Simulator(password=SMSC_PASSWORD, retry_delay_s=SMSC_RETRY_DELAY_S,
                   response_timeout_s=SMSC_RESPONSE_TIMEOUT_S, max_retries=SMSC_MAX_RETRIES) as sim:
        yield sim


def worker_env(address: tuple[str, int], **extra: str) -> dict[str, str]:
    """The SMSREG_* environment of a worker bound to address (the simulator or a relay to it)."""
    return {**E2E_ENV, "SMSREG_SMPP_HOST": address[0], "SMSREG_SMPP_PORT": str(address[1]), **extra}


@pytest.fixture
def make_worker_config(dsn: str, smsc: Simulator) -> Callable[..., config.Config]:
    """make_worker_config(database=dsn, smsc_address=(host, port), **SMSREG_env) → a worker's Config;
    by default against this test's database and simulator."""
    def make(*, database: str | None = None, smsc_address: tuple[str, int] | None = None,
             **env: str) -> config.Config:
        return make_config(database or dsn, **worker_env(smsc_address or smsc.address, **env))
    return make


@pytest.fixture
def worker_cfg(make_worker_config: Callable[..., config.Config]) -> config.Config:
    return make_worker_config()


@dataclass
class RunningWorker:
    """runner.run(cfg, stop) on a thread of the test process."""

    cfg: config.Config
    stop: threading.Event
    thread: threading.Thread
    worker: runner.Worker
    result: list[int] = field(default_factory=list)
    error: list[BaseException] = field(default_factory=list)

    @property
    def metrics_port(self) -> int:
        assert self.worker.http is not None
        return self.worker.http.port

    def shutdown(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Set stop, join, return runner.run's exit code (raise what it raised)."""
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"runner.run did not return within {timeout:.0f} s of stop"
        if self.error:
            raise self.error[0]
        return self.result[0]


@pytest.fixture
def start_worker(monkeypatch: pytest.MonkeyPatch, smsc: Simulator, worker_cfg: config.Config,
                 make_proxy: Any) -> Iterator[Callable[..., RunningWorker]]:
    """start_worker(cfg=None, wait_bound=True) → a RunningWorker; every one is stopped after the
    test and must exit with code 0. (Relays from make_proxy outlive the workers.)"""
    created: list[runner.Worker] = []
    lock = threading.Lock()

    class CapturingWorker(runner.Worker):
        def __init__(self, cfg: config.Config) -> None:
            super().__init__(cfg)
            with lock:
                created.append(self)

    monkeypatch.setattr(runner, "Worker", CapturingWorker)
    monkeypatch.setattr(runner, "MAINTENANCE_S", MAINTENANCE_S)
    running: list[RunningWorker] = []

    def start(cfg: config.Config | None = None, *, wait_bound: bool = True) -> RunningWorker:
        cfg = cfg or worker_cfg
        before = len(created)
        bound_before = smsc.bound_count
        stop = threading.Event()
        result: list[int] = []
        error: list[BaseException] = []

        def target() -> None:
            try:
                result.append(runner.run(cfg, stop))
            except Exception as exc:  # noqa: BLE001 - re-raised on the test's thread by shutdown()
                error.append(exc)

        thread = threading.Thread(target=target, name=f"e2e-runner-{len(running)}", daemon=True)
        thread.start()
        wait_for(lambda: len(created) > before or not thread.is_alive(), WAIT_S)
        if len(created) <= before:
            stop.set()
            raise error[0] if error else AssertionError("runner.run built no Worker")
        handle = RunningWorker(cfg, stop, thread, created[before], result, error)
        running.append(handle)
        if wait_bound:
            reader = handle.worker.reader  # fail fast, not after WAIT_S, when the session thread died

            def died() -> bool:
                return (reader.ident is not None and not reader.is_alive()) or not thread.is_alive()

            wait_for(lambda: smsc.bound_count > bound_before or died())
            assert not died(), "the worker's SMPP session thread or runner.run ended (see above)"
            assert smsc.bound_count > bound_before, "the worker did not bind to the simulator"
        return handle

    yield start
    codes = []
    for handle in running:
        if handle.thread.is_alive() or not handle.result:
            codes.append(handle.shutdown())
        else:
            codes.append(handle.result[0])
    assert codes == [0] * len(running), f"runner.run exit codes {codes}"


@pytest.fixture
def worker(start_worker: Callable[..., RunningWorker]) -> RunningWorker:
    """One worker, bound to the simulator."""
    return start_worker()


# ---- a TCP relay the test can cut -------------------------------------------------------------

class TcpProxy:
    """A loopback TCP relay to target, with network faults on demand.

    cut() resets every relayed connection and refuses new ones until restore(). hold() stops
    relaying one direction; release() then hands everything held over in one write, as a congested
    network coalesces segments, while a cut() loses it. Every byte a client sent (relayed or not)
    is kept per connection, for PDU taps.
    """

    def __init__(self, target: tuple[str, int], latency_s: float = 0.0) -> None:
        self.target = target
        self.latency_s = latency_s  # added to every chunk relayed, both ways
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._cut = threading.Event()
        self._closed = threading.Event()
        self.sent: list[bytearray] = []  # client → target, one buffer per accepted connection
        self.refused = 0
        self._held: dict[socket.socket, bytearray] | None = None
        self._held_upstream = False
        self._hold_lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name="e2e-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def dsn_via(self, dsn: str) -> str:
        """dsn rewritten to connect through this relay."""
        host, port = self.address
        return conninfo.make_conninfo(dsn, host=host, port=str(port))

    def cut(self) -> None:
        self._cut.set()
        with self._hold_lock:
            self._held = None  # what was held is lost with the connections
        with self._lock:
            socks, self._socks = self._socks, []
        for sock in socks:
            _reset(sock)

    def restore(self) -> None:
        self._cut.clear()

    def hold(self, *, upstream: bool = False) -> None:
        """Keep bytes of one direction (target→client by default) instead of relaying them."""
        with self._hold_lock:
            self._held, self._held_upstream = {}, upstream

    def release(self) -> None:
        """Relay everything held, one write per connection; held bytes of a cut connection are lost."""
        with self._hold_lock:
            held, self._held = self._held or {}, None
            for sock, data in held.items():
                with contextlib.suppress(OSError):
                    sock.sendall(data)

    def held_pdus(self) -> int:
        """How many whole PDUs are being held."""
        with self._hold_lock:
            buffers = [bytes(b) for b in (self._held or {}).values()]
        return sum(len(_headers(data)) for data in buffers)

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            for sock in (client, upstream):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            record = bytearray()
            with self._lock:
                self._socks += [client, upstream]
                self.sent.append(record)
            for src, dst, rec in ((client, upstream, record), (upstream, client, None)):
                threading.Thread(target=self._pump, args=(src, dst, rec), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
        upstream = record is not None
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record += data
                if self.latency_s:
                    time.sleep(self.latency_s)
                with self._hold_lock:
                    if self._held is not None and self._held_upstream == upstream:
                        self._held.setdefault(dst, bytearray()).extend(data)
                    else:
                        dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def pdus_sent(self) -> list[tuple[int, int, int]]:
        """(command_id, command_status, sequence) of every whole PDU the clients sent, in order."""
        with self._lock:
            buffers = [bytes(b) for b in self.sent]
        return [pdu for data in buffers for pdu in _headers(data)]


def _headers(data: bytes) -> list[tuple[int, int, int]]:
    """(command_id, command_status, sequence) of the whole SMPP PDUs at the start of data."""
    out = []
    pos = 0
    while len(data) - pos >= 16:
        length, command_id, status, seq = struct.unpack_from(">LLLL", data, pos)
        if length < 16 or len(data) - pos < length:
            break
        out.append((command_id, status, seq))
        pos += length
    return out


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@pytest.fixture
def make_proxy() -> Iterator[Callable[..., TcpProxy]]:
    """make_proxy((host, port), latency_s=0.0) → a running TcpProxy, closed after the test."""
    made: list[TcpProxy] = []

    def make(target: tuple[str, int], latency_s: float = 0.0) -> TcpProxy:
        proxy = TcpProxy(target, latency_s)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


def pg_address(dsn: str) -> tuple[str, int]:
    info = conninfo.conninfo_to_dict(dsn)
    return str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a `python -m smsreg` child: no inherited SMSREG_* but ours, no config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSREG_")}
    env.update({"PYTHONPATH": str(REPO), "SMSREG_CONFIG": "/dev/null", "PYTHONUNBUFFERED": "1", **extra})
    return env


def the_reply(smsc: Simulator, destination: str, timeout: float = WAIT_S) -> Reply:
    """Wait for the reply to destination; fail unless there is exactly one."""
    wait_replied(smsc, [destination], timeout)
    found = replies_to(smsc, destination)
    assert len(found) == 1, found
    return found[0]
