"""smsreg.health.serve over real HTTP: /health 200/503, /metrics content negotiation, 404, shutdown."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from smsreg import errors, health, metrics

Checks = dict[str, bool]


@pytest.fixture
def stats() -> metrics.Metrics:
    return metrics.Metrics(CollectorRegistry())


@pytest.fixture
def state() -> Checks:
    """The live answer of the health callable; tests flip it between requests."""
    return {"smpp_bound": True, "database": True}


@pytest.fixture
def server(stats: metrics.Metrics, state: Checks) -> Iterator[health.HttpServerHandle]:
    handle = health.serve("127.0.0.1:0", stats.registry, lambda: dict(state))
    yield handle
    handle.close()


def get(handle: health.HttpServerHandle, path: str, method: str = "GET",
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_health_is_200_when_every_check_passes(server: health.HttpServerHandle) -> None:
    status, headers, body = get(server, "/health")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"smpp_bound": True, "database": True, "status": "ok"}


@pytest.mark.parametrize("failing", ["smpp_bound", "database"])
def test_health_is_503_when_a_check_fails(server: health.HttpServerHandle, state: Checks, failing: str) -> None:
    state[failing] = False
    status, _, body = get(server, "/health")
    assert status == 503
    answer = json.loads(body)
    assert answer[failing] is False
    assert answer["status"] == "fail"


def test_health_follows_the_live_state(server: health.HttpServerHandle, state: Checks) -> None:
    # Bodies of different lengths in turn: each response carries its own Content-Length.
    for bound, code in [(True, 200), (False, 503), (True, 200), (False, 503)]:
        state["smpp_bound"] = bound
        status, _, body = get(server, "/health")
        assert (status, json.loads(body)["smpp_bound"]) == (code, bound)


def test_a_raising_health_check_answers_503(stats: metrics.Metrics) -> None:
    def broken() -> Checks:
        raise RuntimeError("pool exploded")

    with health.serve("127.0.0.1:0", stats.registry, broken) as handle:
        status, _, body = get(handle, "/health")
    assert status == 503
    assert json.loads(body)["status"] == "fail"


def test_metrics_serves_the_registry_in_text_format(server: health.HttpServerHandle, stats: metrics.Metrics) -> None:
    stats.mo_received.labels("registration").inc(3)
    status, headers, body = get(server, "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert 'smsreg_mo_received_total{kind="registration"} 3.0' in text
    assert 'smsreg_mo_received_total{kind="receipt"} 0.0' in text


def test_metrics_honours_accept_for_openmetrics(server: health.HttpServerHandle) -> None:
    status, headers, body = get(server, "/metrics",
                                headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert status == 200
    assert headers["content-type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_metrics_gzip_when_asked(server: health.HttpServerHandle) -> None:
    status, headers, body = get(server, "/metrics", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.get("content-encoding") == "gzip"
    assert body[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/metricsx", "/health/db", "/admin"])
def test_any_other_path_is_404(server: health.HttpServerHandle, path: str) -> None:
    assert get(server, path)[0] == 404


def test_health_refuses_other_methods(server: health.HttpServerHandle) -> None:
    status, headers, _ = get(server, "/health", method="POST")
    assert status == 405
    assert "GET" in headers["allow"]


def test_a_slow_health_check_does_not_block_metrics(stats: metrics.Metrics) -> None:
    release = threading.Event()

    def slow() -> Checks:
        release.wait(10)
        return {"database": True}

    with health.serve("127.0.0.1:0", stats.registry, slow) as handle:
        waiting = threading.Thread(target=get, args=(handle, "/health"), daemon=True)
        waiting.start()
        started = time.monotonic()
        status, _, _ = get(handle, "/metrics")
        elapsed = time.monotonic() - started
        release.set()
        waiting.join(5)
    assert status == 200
    assert elapsed < 2, "requests are served on their own threads"


def test_listen_on_every_interface_reports_the_ephemeral_port(stats: metrics.Metrics) -> None:
    with health.serve(":0", stats.registry, lambda: {}) as handle:
        assert handle.port > 0
        assert get(handle, "/health")[0] == 200  # no checks: nothing failing


def test_close_releases_the_port_and_is_idempotent(stats: metrics.Metrics) -> None:
    handle = health.serve("127.0.0.1:0", stats.registry, lambda: {})
    port = handle.port
    handle.close()
    handle.close()
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()
    with health.serve(f"127.0.0.1:{port}", stats.registry, lambda: {}) as again:
        assert again.port == port


def test_close_returns_promptly_and_stops_the_thread(stats: metrics.Metrics) -> None:
    handle = health.serve("127.0.0.1:0", stats.registry, lambda: {})
    assert any(t.name == "smsreg-http" and t.daemon for t in threading.enumerate())
    started = time.monotonic()
    handle.close()
    assert time.monotonic() - started < 2
    assert not handle._thread.is_alive()


def test_port_in_use_raises(server: health.HttpServerHandle, stats: metrics.Metrics) -> None:
    with pytest.raises(OSError):
        health.serve(f"127.0.0.1:{server.port}", stats.registry, lambda: {})


@pytest.mark.parametrize("listen", ["9108", "localhost", "host:port", ":70000"])
def test_a_malformed_address_is_a_config_error(stats: metrics.Metrics, listen: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"metrics\.listen"):
        health.serve(listen, stats.registry, lambda: {})
