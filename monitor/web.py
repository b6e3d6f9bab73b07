"""Serve `/healthz` and `/metrics` over HTTP from a background thread.

A small threaded WSGI server (the standard library's wsgiref): the probes must answer even
while the event loop is busy, and a stuck loop must show up as a stale heartbeat, not as a
probe that hangs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from monitor.metrics import Metrics

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes arrive every few seconds; they are not worth a log line each."""


class ProbeServer:
    """`/healthz` answers 200 or 503 with a JSON body; `/metrics` the Prometheus text."""

    def __init__(self, host: str, port: int, metrics: Metrics, health: HealthCheck) -> None:
        self.metrics = metrics
        self.health = health
        self._server = make_server(
            host, port, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="probes", daemon=True
        )

    def start(self) -> None:
        """Start answering in the background."""
        self._thread.start()
        logger.info("health and metrics on port %d (/healthz, /metrics)", self.port)

    def stop(self) -> None:
        """Stop answering and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        if path == "/metrics":
            body, content_type = self.metrics.render()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == "/healthz":
            try:
                healthy, details = self.health()
            except Exception as exc:  # a probe must answer, whatever broke
                healthy, details = False, {"error": type(exc).__name__}
            body = json.dumps({"healthy": healthy, **details}).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz or /metrics\n"]
