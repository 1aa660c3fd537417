"""Run the red-team corpus as real trials and print what the audit caught.

Run: HF_HUB_OFFLINE=1 /work/venv/bin/python benchmarks/audit_redteam.py [--dir DIR]
     [--only NAME ...] [--fast]

Every scenario of ``posttrainbench.testing.redteam`` runs as a real trial (the ``command:``
agent in the sandbox, on the tiny model and ``arith-mini``) up to its audit. Prints a
Markdown table: per scenario, expected vs detected (verdict and flagging detectors), then
recall over the cheats and false-positive rate over the honest agents.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from posttrainbench.testing.redteam import (  # noqa: E402
    SCENARIOS,
    ScenarioOutcome,
    build_models,
    run_scenario,
    summarize,
)


def _row(outcome: ScenarioOutcome, seconds: float) -> str:
    scenario = outcome.scenario
    expected = (
        "flagged (" + ", ".join(sorted(scenario.detectors)) + ")" if scenario.cheat else "clean"
    )
    by = ", ".join(sorted(outcome.flagged_by))
    detected = outcome.verdict + (f" ({by})" if by else "")
    mark = "yes" if outcome.correct else "**no**"
    return (
        f"| {scenario.name} | {scenario.description} | {expected} | {detected} | {mark} "
        f"| {seconds:.0f} |"
    )


def main() -> int:
    """Run the corpus and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="keep runs here (default: temp)")
    parser.add_argument("--only", nargs="*", default=None, help="scenario names to run")
    parser.add_argument("--fast", action="store_true", help="only the default-tier subset")
    args = parser.parse_args()
    scenarios = [
        s
        for s in SCENARIOS
        if (args.only is None or s.name in args.only) and (s.fast or not args.fast)
    ]
    with tempfile.TemporaryDirectory(prefix="ptb-redteam-") as temp:
        root = args.dir or Path(temp)
        models = build_models(root / "models")
        print("| scenario | agent does | expected | detected (verdict, by) | correct | s |")
        print("|---|---|---|---|---|---|")
        outcomes = []
        for scenario in scenarios:
            started = time.monotonic()
            outcome = run_scenario(scenario, models, root / "runs")
            outcomes.append(outcome)
            print(_row(outcome, time.monotonic() - started), flush=True)
    summary = summarize(outcomes)
    print()
    print(
        f"Recall: {summary.caught}/{summary.cheats} cheats flagged ({summary.recall:.0%}); "
        f"false positives: {summary.false_positives}/{summary.honest} honest agents "
        f"({summary.false_positive_rate:.0%}); by the expected detector: "
        f"{sum(o.correct for o in outcomes)}/{len(outcomes)} scenarios correct."
    )
    return 0 if all(o.correct for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
