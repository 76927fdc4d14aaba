"""The worker's HTTP endpoint: GET /metrics (Prometheus exposition) and GET /health (JSON checks).

One threaded server on daemon threads; prometheus_client's own WSGI app serves /metrics, so
content negotiation (text 0.0.4 or OpenMetrics), gzip and `name[]` filtering behave as upstream.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import prometheus_client
from prometheus_client import CollectorRegistry

from smsreg import config

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, bool]]
StartResponse = Callable[..., Any]
CLOSE_TIMEOUT_S = 5.0
# How often serve_forever looks at the shutdown flag: close() takes up to this long.
POLL_INTERVAL_S = 0.1
# Tuples, copied into a fresh list per response: wsgiref adds Content-Length to the list it is given.
_JSON = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))
_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


class HttpServerHandle:
    """A running server: `.port` is the bound port (useful with port 0); `.close()` stops it."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._closed = False
        self.host: str = str(server.server_address[0])
        self.port: int = int(server.server_address[1])

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop accepting, close the socket and join the serving thread; idempotent.

        A request already being answered finishes on its own daemon thread.
        """
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(listen: str, registry: CollectorRegistry, health: HealthCheck) -> HttpServerHandle:
    """Bind `listen` ('host:port', ':port'; port 0 = ephemeral) and serve in a daemon thread.

    Raises ConfigError for a malformed address and OSError when the port cannot be bound.
    `health` is called on every GET /health and must be quick; if it raises, /health says 503.
    """
    host, port = config.parse_listen("metrics.listen", listen)
    server = _Server((host, port), _Handler, bind_and_activate=False, family=_family(host))
    try:
        server.server_bind()
        server.server_activate()
    except OSError:
        server.server_close()
        raise
    server.set_app(make_app(registry, health))
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL_S,), name="smsreg-http", daemon=True)
    thread.start()
    handle = HttpServerHandle(server, thread)
    logger.info("serving /metrics and /health on %s:%d", handle.host, handle.port, extra={"action": "http_listen"})
    return handle


def make_app(registry: CollectorRegistry, health: HealthCheck) -> Callable[[dict[str, Any], StartResponse],
                                                                         Iterable[bytes]]:
    """The WSGI application: /metrics, /health, 404 for any other path."""
    metrics_app = prometheus_client.make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path == "/health":
            if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
                start_response("405 Method Not Allowed", [*_TEXT, ("Allow", "GET, HEAD")])
                return [b"use GET\n"]
            status, body = health_response(health)
            start_response(status, list(_JSON))
            return [body]
        start_response("404 Not Found", list(_TEXT))
        return [b"not found: try /metrics or /health\n"]

    return app


def health_response(health: HealthCheck) -> tuple[str, bytes]:
    """Run the checks: 200 with status "ok" when every check is true, else 503 with "fail"."""
    try:
        checks = {name: bool(ok) for name, ok in health().items()}
    except Exception:  # a broken check must answer 503, not tear down the request thread
        logger.exception("health check raised", extra={"action": "health_error"})
        checks = {"health_check": False}
    healthy = all(checks.values())
    body = {**checks, "status": "ok" if healthy else "fail"}
    status = "200 OK" if healthy else "503 Service Unavailable"
    return status, json.dumps(body).encode() + b"\n"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    # Request threads are fire-and-forget: a slow scraper never delays shutdown.
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[WSGIRequestHandler], *,
                 bind_and_activate: bool, family: socket.AddressFamily) -> None:
        self.address_family = family
        super().__init__(address, handler, bind_and_activate=bind_and_activate)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can hang
        # start-up for seconds on a host with slow DNS; the name is only used in CGI variables.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # Prometheus scrapes every 15 s: access lines would drown the worker's own log.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("http %s", format % args)
