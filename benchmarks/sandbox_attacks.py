"""Run the sandbox attack corpus as real trials; print attack -> held/broken, and overhead.

    python benchmarks/sandbox_attacks.py [--only NAME ...] [--json OUT] [--sandbox bwrap]

Each attack is a ``command:`` agent on ``arith-mini`` with the tiny model, run by its own
harness process (see ``posttrainbench.testing.sandbox_attacks``). The start overhead of
the limits is measured in the same run: the same trivial agent started in bwrap with and
without limits (cgroups, watchdog, prlimit), medians of several starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from posttrainbench.sandbox import SandboxRequest, get_sandbox
from posttrainbench.sandbox.limits import default_limits, limit_mechanism
from posttrainbench.testing.sandbox_attacks import ATTACKS, LIMITS, run_attack
from posttrainbench.testing.tiny_model import build_tiny_model

_STARTS = 7


def start_overhead(root: Path, sandbox: str) -> dict[str, float]:
    """Median seconds to run ``true`` in the sandbox, without and with limits."""
    backend = get_sandbox(None if sandbox == "auto" else sandbox)
    work = root / "overhead"
    work.mkdir(parents=True, exist_ok=True)
    medians = {}
    for label, limits in (("no_limits", None), ("limits", default_limits(LIMITS, (work,)))):
        times = []
        for index in range(_STARTS):
            request = SandboxRequest(
                argv=["true"],
                cwd=work,
                env={"PATH": "/usr/bin:/bin"},
                time_limit_s=60,
                output_path=root / f"overhead-{label}-{index}.jsonl",
                limits=limits,
            )
            started = time.perf_counter()
            backend.run(request)
            times.append(time.perf_counter() - started)
        medians[label] = statistics.median(times)
    medians["added_by_limits"] = medians["limits"] - medians["no_limits"]
    return medians


def main() -> None:
    """Run the corpus and print the table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="attack names to run (default: all)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--sandbox", default="auto")
    args = parser.parse_args()
    attacks = [a for a in ATTACKS if not args.only or a.name in args.only]
    with tempfile.TemporaryDirectory(prefix="ptb-attacks-") as scratch:
        root = Path(scratch)
        model = build_tiny_model(root / "models" / "base", seed=0, preset="test")
        overhead = start_overhead(root, args.sandbox)
        rows = []
        for attack in attacks:
            print(f"… {attack.name}", file=sys.stderr, flush=True)
            outcome = run_attack(attack, model, root, args.sandbox)
            verdict = attack.check(outcome)
            rows.append(
                {
                    "attack": attack.name,
                    "target": attack.target,
                    "defence_by": attack.owner,
                    "held": verdict.held,
                    "evidence": verdict.evidence,
                    "seconds": round(outcome.seconds, 1),
                }
            )
    report = {
        "sandbox": args.sandbox,
        "limit_mechanism": limit_mechanism(),
        "start_overhead_s": {key: round(value, 3) for key, value in overhead.items()},
        "held": sum(row["held"] for row in rows),
        "total": len(rows),
        "attacks": rows,
    }
    print(f"{'attack':24} {'target':28} {'by':10} {'result':7} evidence")
    for row in rows:
        result = "held" if row["held"] else "BROKEN"
        evidence = str(row["evidence"])[:90]
        print(f"{row['attack']:24} {row['target']:28} {row['defence_by']:10} {result:7} {evidence}")
    print(f"\n{report['held']}/{report['total']} held; limits by {report['limit_mechanism']}")
    print(f"start overhead (median of {_STARTS}): {report['start_overhead_s']}")
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
