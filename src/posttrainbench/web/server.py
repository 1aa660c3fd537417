"""The live dashboard: one HTML page that polls a small JSON endpoint over the store.

``GET /`` serves the page (inline CSS and JS, nothing fetched from elsewhere);
``GET /api/status`` returns every trial's phase, time left, latest resource sample and
latest trace lines, read from the store and the trials' run directories at each request.
The server binds 127.0.0.1 unless told otherwise, serves only these two routes (never a
file by path), and sends a Content-Security-Policy that forbids any other origin.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from posttrainbench.results import ResultStore, TrialRow
from posttrainbench.results.artifacts import read_deadline, read_monitor, read_trace
from posttrainbench.trial import TrialPaths

__all__ = ["DashboardServer", "dashboard_status", "serve"]

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:"
)
"""Inline code only, requests only to this server."""

_RUNNING = {"new", "prepare", "solve"}
"""Phases in which the solve deadline still matters."""
_HISTORY = 60
"""Monitor samples kept per trial for the sparkline."""
_TRACE_LINES = 5
"""Latest trace lines shown per trial."""


def _trial_status(row: TrialRow, now: float, scores: dict[str, float | None]) -> dict[str, Any]:
    status: dict[str, Any] = {
        "trial_id": row.trial_id,
        "experiment": row.experiment,
        "agent": row.agent,
        "model": row.model,
        "benchmark": row.benchmark,
        "hours": row.hours,
        "replicate": row.replicate,
        "phase": row.phase,
        "updated_at": row.updated_at,
        "score": scores.get(row.trial_id),
        "time_left_s": None,
        "monitor": None,
        "history": [],
        "trace": [],
    }
    if row.phase == "done":
        return status
    files = TrialPaths(Path(row.run_dir))
    deadline = read_deadline(files)
    if deadline is not None and row.phase in _RUNNING:
        status["time_left_s"] = max(0.0, deadline - now)
    samples = read_monitor(files, max_bytes=256 * 1024)[-_HISTORY:]
    if samples:
        status["monitor"] = samples[-1].model_dump()
        status["history"] = [s.gpu_util if s.gpu_util is not None else s.load for s in samples]
    status["trace"] = [line.model_dump() for line in read_trace(files, limit=_TRACE_LINES)]
    return status


def dashboard_status(store: ResultStore, experiment: str | None = None) -> dict[str, Any]:
    """What ``/api/status`` returns: every trial of ``experiment`` (or all) and a summary."""
    now = time.time()
    scores = {r.trial_id: r.score for r in store.results(experiment)}
    trials = [_trial_status(row, now, scores) for row in store.trials(experiment)]
    phases: dict[str, int] = {}
    for trial in trials:
        phases[trial["phase"]] = phases.get(trial["phase"], 0) + 1
    return {
        "generated_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "experiment": experiment,
        "phases": phases,
        "trials": trials,
    }


@cache
def _page_template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("posttrainbench.web", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )
    return environment.get_template("dashboard.html.jinja")


class DashboardServer(ThreadingHTTPServer):
    """An HTTP server of the dashboard over one store (``serve_forever`` to run it)."""

    daemon_threads = True

    def __init__(
        self,
        store: ResultStore,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        experiment: str | None = None,
        interval_s: float = 5.0,
    ) -> None:
        self.store = store
        self.experiment = experiment
        self.page = _page_template().render(
            experiment=experiment or "all experiments", interval_ms=int(interval_s * 1000)
        )
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """Where the dashboard is served."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"

    def host_allowed(self, host: str) -> bool:
        """Whether a request's ``Host`` header may be answered (any, unless on loopback)."""
        address, port = str(self.server_address[0]), self.server_address[1]
        if not address.startswith("127.") and address not in {"::1", "localhost"}:
            return True
        return host in {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]", address)}

    def start_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests, embedding); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="ptb-dashboard", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        path = urlsplit(self.path).path
        if not self.server.host_allowed(self.headers.get("Host", "")):
            # A loopback dashboard answers only loopback names: a web page that rebinds its
            # own DNS name to 127.0.0.1 cannot read the trials' traces.
            self._send(HTTPStatus.FORBIDDEN, "text/plain; charset=utf-8", b"forbidden host\n")
        elif path in {"/", "/index.html"}:
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", self.server.page.encode())
        elif path == "/api/status":
            status = dashboard_status(self.server.store, self.server.experiment)
            body = json.dumps(status, ensure_ascii=False).encode()
            self._send(HTTPStatus.OK, "application/json", body)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the API's name)
        """Quiet: a polling page would fill the terminal."""


def serve(
    store: ResultStore,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    experiment: str | None = None,
    interval_s: float = 5.0,
) -> DashboardServer:
    """A dashboard server bound to ``host:port`` (port 0: any free port), not yet serving."""
    return DashboardServer(
        store, host=host, port=port, experiment=experiment, interval_s=interval_s
    )
