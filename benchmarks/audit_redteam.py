"""Run the red-team corpus as real trials and print what the audit caught.

Run: HF_HUB_OFFLINE=1 python benchmarks/audit_redteam.py [--dir DIR] [--only NAME ...]
     [--fast] [--json PATH]

Every scenario of ``posttrainbench.testing.redteam`` runs as a real trial (the ``command:``
agent in the sandbox, on the tiny model and ``arith-mini``) up to its audit. Prints a
Markdown table: per scenario, expected vs detected (verdict and flagging detectors), then
recall and false positives per class of cheat, and writes the same as JSON (default
``benchmarks/results/audit_redteam.json``). Scenarios that need a mechanism not in this
build (``pending``) are counted and shown separately.
"""

from __future__ import annotations

import argparse
import json
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
    summarize_by_kind,
)

RESULTS = Path(__file__).parent / "results" / "audit_redteam.json"


def _row(outcome: ScenarioOutcome, seconds: float) -> str:
    scenario = outcome.scenario
    expected = (
        "flagged (" + ", ".join(sorted(scenario.detectors)) + ")" if scenario.cheat else "clean"
    )
    by = ", ".join(sorted(outcome.flagged_by))
    detected = outcome.verdict + (f" ({by})" if by else "")
    mark = "yes" if outcome.correct else "**no**"
    if scenario.pending:
        mark += f" (needs {scenario.pending})"
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
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the JSON")
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
        outcomes, durations = [], []
        for scenario in scenarios:
            started = time.monotonic()
            outcome = run_scenario(scenario, models, root / "runs")
            outcomes.append(outcome)
            durations.append(time.monotonic() - started)
            print(_row(outcome, durations[-1]), flush=True)
    summary = summarize(outcomes)
    print()
    print("| class | cheats caught | honest clean | pending (not in this build) |")
    print("|---|---|---|---|")
    classes = summarize_by_kind(outcomes)
    for kind, part in classes.items():
        pending = sum(o.scenario.pending != "" for o in outcomes if o.scenario.kind == kind)
        caught = f"{part.caught}/{part.cheats}" if part.cheats else "-"
        clean = f"{part.honest - part.false_positives}/{part.honest}" if part.honest else "-"
        print(f"| {kind} | {caught} | {clean} | {pending or '-'} |")
    ready = [o for o in outcomes if not o.scenario.pending]
    ready_summary = summarize(ready)
    print()
    print(
        f"Recall: {summary.caught}/{summary.cheats} cheats flagged ({summary.recall:.0%}); "
        f"without pending scenarios {ready_summary.caught}/{ready_summary.cheats} "
        f"({ready_summary.recall:.0%}); false positives: {summary.false_positives}/"
        f"{summary.honest} honest agents ({summary.false_positive_rate:.0%}); by the expected "
        f"detector: {sum(o.correct for o in outcomes)}/{len(outcomes)} scenarios correct."
    )
    record = {
        "scenarios": [
            {
                "name": o.scenario.name,
                "class": o.scenario.kind,
                "cheat": o.scenario.cheat,
                "pending": o.scenario.pending,
                "verdict": o.verdict,
                "flagged_by": sorted(o.flagged_by),
                "correct": o.correct,
                "seconds": round(seconds, 1),
            }
            for o, seconds in zip(outcomes, durations, strict=True)
        ],
        "classes": {
            kind: {
                "cheats": p.cheats,
                "caught": p.caught,
                "honest": p.honest,
                "false_positives": p.false_positives,
            }
            for kind, p in classes.items()
        },
        "recall": summary.recall,
        "recall_without_pending": ready_summary.recall,
        "false_positives": summary.false_positives,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0 if all(o.correct for o in ready) else 1


if __name__ == "__main__":
    sys.exit(main())
