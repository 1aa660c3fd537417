"""``ptb serve``: the live dashboard in a real headless Chromium, over a real store."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from posttrainbench.results import TrialRow
from posttrainbench.web import CSP, DashboardServer, dashboard_status, serve

from .conftest import Experiment, OpenPage, write_run_files

RUNNING_ID = "alpha-running"


@pytest.fixture
def running(experiment: Experiment) -> Experiment:
    """A trial in its solve phase, 90 minutes before its deadline."""
    paths = experiment.run_dir(RUNNING_ID)
    write_run_files(paths, experiment.results[0], deadline=time.time() + 90 * 60 + 30)
    experiment.store.upsert_trial(_row(paths.root, "solve"))
    return experiment


def _row(run_dir: object, phase: str) -> TrialRow:
    return TrialRow(
        RUNNING_ID, "exp", "alpha", "org/model-a", "gsm8k", 2.0, 1, str(run_dir), phase, ""
    )


@pytest.fixture
def server(running: Experiment) -> Iterator[DashboardServer]:
    dashboard = serve(running.store, port=0, interval_s=0.2)
    dashboard.start_in_thread()
    yield dashboard
    dashboard.shutdown()
    dashboard.server_close()


def test_status_reads_phase_time_left_monitor_and_trace(running: Experiment) -> None:
    status = dashboard_status(running.store)
    trial = next(t for t in status["trials"] if t["trial_id"] == RUNNING_ID)
    assert trial["phase"] == "solve"
    assert 89 * 60 < trial["time_left_s"] <= 91 * 60
    assert trial["monitor"]["gpu_util"] == 40.0 and trial["monitor"]["memory_used"] == 0.4
    assert trial["history"] == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert [line["kind"] for line in trial["trace"]] == ["agent", "agent", "tool", "observation"]
    assert status["phases"] == {"done": 1, "solve": 1}


def test_dashboard_updates_when_a_phase_changes(
    running: Experiment, server: DashboardServer, open_page: OpenPage
) -> None:
    page, errors = open_page(server.url)
    row = page.locator(f"#trials tr[data-trial-id='{RUNNING_ID}']")
    row.wait_for()
    assert row.locator("td.phase").inner_text() == "solve"
    assert row.locator("td.time-left").inner_text() in {"1:30", "1:29"}
    assert row.locator("td.gpu").inner_text().startswith("40%")
    assert "I will train on the test set." in row.locator("td.trace").inner_text()
    assert page.evaluate("window.__pwned") is None

    running.store.upsert_trial(_row(running.run_dir(RUNNING_ID).root, "evaluate"))
    from playwright.sync_api import expect

    # The page polls every 0.2 s; no reload. (expect() polls without eval, which the CSP forbids.)
    expect(row.locator("td.phase")).to_have_text("evaluate", timeout=10_000)
    assert row.locator("td.time-left").inner_text() == "—"
    assert errors == []


def test_server_serves_only_its_routes(server: DashboardServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    with urllib.request.urlopen(server.url + "api/status") as response:
        assert response.headers["Content-Security-Policy"] == CSP
        assert {t["trial_id"] for t in json.load(response)["trials"]} >= {RUNNING_ID}
    for path in ("../index.sqlite", "index.sqlite", "api/../../etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(server.url + path)
        assert error.value.code == 404


def test_serve_reports_a_busy_port(server: DashboardServer, tmp_path: object) -> None:
    from typer.testing import CliRunner

    from posttrainbench.cli import app

    port = str(server.server_address[1])
    result = CliRunner().invoke(app, ["serve", "--runs-dir", str(tmp_path), "--port", port])
    assert result.exit_code != 0
    assert "Cannot listen" in str(result.exception)


def test_loopback_server_refuses_foreign_host_names(server: DashboardServer) -> None:
    request = urllib.request.Request(server.url + "api/status", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 403
