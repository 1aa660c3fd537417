"""``ptb site`` in a real headless Chromium, opened from file://."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from posttrainbench.cli import app
from posttrainbench.results import TrialFiles, aggregate, build_site, resolve_weights
from posttrainbench.results.site import trial_page_name

from .conftest import FLAGGED_ID, HOSTILE, Experiment, OpenPage


def _site(experiment: Experiment, out: Path) -> Path:
    result = CliRunner().invoke(app, ["site", str(out), "--runs-dir", str(experiment.runs_dir)])
    assert result.exit_code == 0, result.output
    return out


def test_leaderboard_shows_the_stores_numbers(
    experiment: Experiment, tmp_path: Path, open_page: OpenPage
) -> None:
    out = _site(experiment, tmp_path / "site")
    page, errors = open_page((out / "index.html").as_uri())
    rows = page.locator("#leaderboard-table tbody tr")
    by_agent = {rows.nth(i).get_attribute("data-agent"): rows.nth(i) for i in range(rows.count())}
    # 0.6/1.3 * 0.5 + 0.7/1.3 * 0.4, weights from the store's baselines.
    assert by_agent["alpha"].locator("td.average").inner_text() == "44.6"
    # Beta: one fallback (marked *), every cell present.
    board = aggregate(experiment.results, resolve_weights(experiment.results))
    beta = next(e for e in board.entries if e.agent == "beta")
    assert beta.average is not None
    assert by_agent["beta"].locator("td.average").inner_text() == f"{100 * beta.average:.1f}*"
    assert "store" in page.locator("#leaderboard ~ p.note").first.inner_text()
    # Time & cost: 0.5 h of 1 h per trial, 8 trials x 1,200 tokens x $0.50.
    alpha_time = page.locator("#time-table tr", has_text="alpha").inner_text()
    assert "0.50 h" in alpha_time and "50%" in alpha_time
    assert "9,600" in alpha_time and "4.00" in alpha_time
    assert errors == []


def test_model_selector_switches_the_breakdown(
    experiment: Experiment, tmp_path: Path, open_page: OpenPage
) -> None:
    out = _site(experiment, tmp_path / "site")
    page, errors = open_page((out / "index.html").as_uri())
    beta_gsm8k = page.locator("#benchmark-table tr", has_text="beta").locator(
        "td[data-benchmark=gsm8k]"
    )
    assert beta_gsm8k.inner_text() == "55.0"  # mean of model-a 60 and model-b (80 + 20) / 2
    page.select_option("#model-select", "org/model-a")
    assert beta_gsm8k.inner_text() == "60.0"
    page.select_option("#model-select", "org/model-b")
    assert beta_gsm8k.inner_text() == "50.0"
    assert errors == []


def test_trial_page_shows_findings_trace_and_monitor(
    experiment: Experiment, tmp_path: Path, open_page: OpenPage
) -> None:
    out = _site(experiment, tmp_path / "site")
    index, _ = open_page((out / "index.html").as_uri())
    index.click(f"text={FLAGGED_ID}")
    index.wait_for_url(f"**/{trial_page_name(FLAGGED_ID)}")
    page, errors = open_page((out / "trials" / trial_page_name(FLAGGED_ID)).as_uri())
    finding = page.locator("#findings tr.finding")
    assert "37 GSM8K test questions" in finding.inner_text()
    assert "workspace/train.jsonl" in finding.inner_text()
    assert "audit verdict flagged" in page.locator("dd.fallback").inner_text()
    assert page.locator("dd.score").inner_text() == "20.0"
    trace = page.locator("#trace").inner_text()
    assert "I will train on the test set." in trace and 'Bash({"cmd": "ls"})' in trace
    # What the agent wrote is shown as text, never run.
    assert HOSTILE in trace
    assert page.evaluate("window.__pwned") is None
    assert page.locator("figure.monitor polyline").count() == 4
    assert errors == []


def test_trial_without_run_dir_still_gets_a_page(experiment: Experiment, tmp_path: Path) -> None:
    board = aggregate(experiment.results, resolve_weights(experiment.results))
    written = build_site(board, experiment.results, tmp_path / "site")
    assert written == 1 + len(experiment.results)
    page = (tmp_path / "site" / "trials" / trial_page_name("alpha-model-a-gsm8k-1")).read_text()
    assert "No run directory" in page and "50.0" in page


def test_the_pages_read_the_files_the_run_layout_names(experiment: Experiment) -> None:
    files = experiment.run_dir(FLAGGED_ID)
    assert isinstance(files, TrialFiles)
    assert files.trace.exists() and files.monitor.exists() and files.audit.exists()


def test_plots_command_draws_the_stores_leaderboard(experiment: Experiment, tmp_path: Path) -> None:
    out = tmp_path / "plots"
    result = CliRunner().invoke(app, ["plots", str(out), "--runs-dir", str(experiment.runs_dir)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        f"{name}.{ext}" for name in ("benchmarks", "leaderboard", "time") for ext in ("png", "svg")
    ]
    # Reference lines from the store's baselines: instruct 79.2, base zero-shot 14.6.
    svg = (out / "leaderboard.svg").read_text()
    assert "44.6" in svg and "instruct 79.2" in svg and "base zero-shot 14.6" in svg


def test_site_of_an_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["site", str(tmp_path / "s"), "--runs-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "No trial results" in str(result.exception)
