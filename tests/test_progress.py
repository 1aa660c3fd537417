"""Long work reports progress: plain periodic lines in a file or pipe, a rich bar on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from posttrainbench.progress import MIN_WINDOW_S, Progress, duration, progress_line, rate_text


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _plain(clock: _Clock, total: int | None = 100) -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    return Progress("eval", total, unit="samples", console=console, clock=clock), out


def test_lines_show_counts_rate_and_eta() -> None:
    assert (
        progress_line("eval", 64, 200, "samples", 12.3) == "eval: 64/200 samples · 12.3/s · ETA 11s"
    )
    assert progress_line("eval", 0, 200, "samples", None) == "eval: 0/200 samples"
    assert progress_line("trials", 2, None, "", None, "1 solve") == "trials: 2 · 1 solve"
    assert [duration(s) for s in (42, 185, 7620)] == ["42s", "3m05s", "2h07m"]


def test_not_a_terminal_prints_the_start_the_first_unit_every_interval_and_the_end() -> None:
    clock = _Clock()
    progress, out = _plain(clock)
    with progress:
        clock.now += 30.0  # loading the model: warm-up, not part of the rate
        progress.update(1)
        for done in range(2, 101):
            clock.now += 0.125
            progress.update(done)
    lines = out.getvalue().splitlines()
    assert lines[0] == "eval: 0/100 samples"
    assert lines[1] == "eval: 1/100 samples"  # no rate, no ETA yet: only the warm-up was seen
    # A line every 5 s of the 12.4 s after the first sample, then the last one.
    assert lines[2:] == [
        "eval: 41/100 samples · 8.0/s · ETA 7s",
        "eval: 81/100 samples · 8.0/s · ETA 2s",
        "eval: 100/100 samples · 8.0/s",
    ]


def test_no_eta_before_the_rate_is_measured_over_a_window() -> None:
    clock = _Clock()
    progress, out = _plain(clock)
    progress.interval_s = 0.0
    with progress:
        clock.now += 3.0
        progress.update(1)
        progress.update(32)  # the rest of the first batch, at the same instant
        clock.now += MIN_WINDOW_S / 2
        progress.update(64)
        clock.now += MIN_WINDOW_S
        progress.update(96, info="loss 0.5")
    lines = out.getvalue().splitlines()
    assert "ETA" not in "".join(lines[:-1]), lines
    # The rate counts from the end of the first batch: 64 samples in 4.5 s.
    assert lines[-1] == "eval: 96/100 samples · loss 0.5 · 14.2/s · ETA 0s", lines


def test_a_terminal_gets_a_bar() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    clock = _Clock()
    with Progress("sft", 10, unit="steps", console=console, clock=clock) as progress:
        assert progress.on_terminal
        for step in range(1, 11):
            clock.now += 1.0
            progress.update(step, info="loss 0.25")
    text = out.getvalue()
    assert "\x1b[" in text  # drawn with terminal control codes, not plain lines
    assert "sft" in text and "10/10" in text and "loss 0.25" in text
    assert "sft: 10/10" not in text


def test_no_rate_while_nothing_was_done_since_the_warm_up() -> None:
    # A queue of two long trials: one done, the other running for minutes.
    clock = _Clock()
    progress, out = _plain(clock)
    progress.interval_s = 0.0
    with progress:
        clock.now += 40.0
        progress.update(1, info="1 solve")
        clock.now += 10 * MIN_WINDOW_S
        progress.update(1, info="1 solve still")
    last = out.getvalue().splitlines()[-1]
    assert last == "eval: 1/100 samples · 1 solve still", last


def test_slow_rates_read_per_minute() -> None:
    assert rate_text(12.34) == "12.3/s"
    assert rate_text(2 / 170, "trials") == "0.7 trials/min"
    assert progress_line("trials", 1, 2, "", 1 / 80) == "trials: 1/2 · 0.8/min · ETA 1m20s"
