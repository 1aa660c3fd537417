"""Run the sandbox attack corpus as real trials; print attack -> held/broken, and overhead.

    python benchmarks/sandbox_attacks.py [--only NAME ...] [--json OUT] [--sandbox bwrap]

Each attack is a ``command:`` agent on ``arith-mini`` with the tiny model, run by its own
harness process (see ``posttrainbench.testing.sandbox_attacks``). The start overhead of
the network namespace and the limits is measured in the same run: ``true`` started by bare
bwrap, then by the sandbox backend with network ``none`` and ``internet``, each with and
without limits (cgroups, watchdog, prlimit); medians of several starts, the added seconds
against the bare start, and what that adds to ``ptb demo``.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from posttrainbench.sandbox import Sandbox, SandboxRequest, get_sandbox
from posttrainbench.sandbox.limits import default_limits, limit_mechanism
from posttrainbench.sandbox.network import NetworkPolicy
from posttrainbench.testing.sandbox_attacks import ATTACKS, LIMITS, run_attack
from posttrainbench.testing.tiny_model import build_tiny_model

_STARTS = 5
_BUDGET_S = 2.0
"""The issue's bound on what the network namespace and limits may add to a start."""


def _bare_bwrap(root: Path) -> None:
    subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--die-with-parent", "true"],
        check=True,
        cwd=root,
    )


def start_overhead(root: Path, sandbox: str) -> dict[str, dict[str, float]]:
    """Median seconds to run ``true``: bare bwrap, then the backend per network and limits.

    ``bare_bwrap`` is ``bwrap --ro-bind / / true`` as a subprocess (no mounts, network,
    identity or limits of ours); each other row is the sandbox backend's ``run`` with that
    network policy (``internet``: namespace, slirp4netns, nftables filter and egress
    capture) and with or without the attack trials' limits (cgroups, watchdog, prlimit).
    ``added_s`` is the median minus the bare start.
    """
    backend = get_sandbox(None if sandbox == "auto" else sandbox)
    work = root / "overhead"
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Callable[[int], object]] = {"bare_bwrap": lambda _: _bare_bwrap(work)}
    for network in ("none", "internet"):
        for limited in (False, True):
            label = f"{network}{'+limits' if limited else ''}"
            runs[label] = functools.partial(
                _sandboxed_true, backend, work, root / label, NetworkPolicy(mode=network), limited
            )
    medians = {}
    for label, run in runs.items():
        times = []
        for index in range(_STARTS):
            started = time.perf_counter()
            run(index)
            times.append(time.perf_counter() - started)
        medians[label] = statistics.median(times)
    bare = medians["bare_bwrap"]
    return {
        label: {"median_s": round(value, 3), "added_s": round(value - bare, 3)}
        for label, value in medians.items()
    }


def _sandboxed_true(
    backend: Sandbox, work: Path, logs: Path, network: NetworkPolicy, limited: bool, index: int
) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    request = SandboxRequest(
        argv=["true"],
        cwd=work,
        env={"PATH": "/usr/bin:/bin"},
        time_limit_s=60,
        output_path=logs / f"{index}.jsonl",
        limits=default_limits(LIMITS, (work,)) if limited else None,
        network=network,
        egress_log=logs / f"egress-{index}.jsonl" if network.mode != "none" else None,
    )
    backend.run(request)


_DEMO_STARTS = 2
"""Sandbox starts in ``ptb demo``: one agent per trial (noop, reference), network none."""
_DEMO_SECONDS = 210.0
"""``ptb demo`` end to end on the 2-core machine (README, Performance: about 3.5 min)."""


def overhead_report(overhead: dict[str, dict[str, float]]) -> dict[str, object]:
    """The overhead rows, the bound's verdict and the effect on ``ptb demo``."""
    worst = max(row["added_s"] for label, row in overhead.items() if label != "bare_bwrap")
    demo_added = _DEMO_STARTS * overhead["none+limits"]["added_s"]
    backend = overhead["none"]["median_s"]
    netns_and_limits = round(overhead["internet+limits"]["median_s"] - backend, 3)
    return {
        "starts": overhead,
        "worst_added_s": worst,
        "within_budget": worst <= _BUDGET_S,
        "netns_and_limits_over_backend_s": netns_and_limits,
        "demo_added_s": round(demo_added, 3),
        "demo_added_percent": round(100 * demo_added / _DEMO_SECONDS, 2),
    }


def print_overhead(report: dict[str, object]) -> None:
    """The start-overhead table."""
    starts = report["starts"]
    assert isinstance(starts, dict)
    print(f"\n{'start of `true`':22} {'median s':>9} {'added s':>8}")
    for label, row in starts.items():
        print(f"{label:22} {row['median_s']:9.3f} {row['added_s']:8.3f}")
    print(
        f"worst added {report['worst_added_s']} s (bound {_BUDGET_S} s: "
        f"{'met' if report['within_budget'] else 'MISSED'}); ptb demo ({_DEMO_STARTS} starts, "
        f"network none): +{report['demo_added_s']} s = {report['demo_added_percent']} % "
        f"of about {_DEMO_SECONDS:.0f} s; namespace + limits alone (internet+limits minus "
        f"none): {report['netns_and_limits_over_backend_s']} s"
    )


def main() -> None:
    """Run the corpus and print the table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="attack names to run (default: all)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--no-overhead", action="store_true", help="skip the start overhead")
    args = parser.parse_args()
    attacks = [a for a in ATTACKS if args.only is None or a.name in args.only]
    unknown = set(args.only or ()) - {a.name for a in ATTACKS}
    if unknown:
        parser.error(f"unknown attacks: {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="ptb-attacks-") as scratch:
        root = Path(scratch)
        overhead = None if args.no_overhead else overhead_report(start_overhead(root, args.sandbox))
        model = build_tiny_model(root / "models" / "base", seed=0, preset="test")
        rows: list[dict[str, object]] = []
        held = 0
        for attack in attacks:
            print(f"… {attack.name}", file=sys.stderr, flush=True)
            outcome = run_attack(attack, model, root, args.sandbox)
            verdict = attack.check(outcome)
            held += verdict.held
            rows.append(
                {
                    "attack": attack.name,
                    "target": attack.target,
                    "defence_by": attack.owner,
                    "network": attack.network,
                    "held": verdict.held,
                    "evidence": verdict.evidence,
                    "seconds": round(outcome.seconds, 1),
                }
            )
    report = {
        "sandbox": args.sandbox,
        "limit_mechanism": limit_mechanism(),
        "start_overhead": overhead,
        "held": held,
        "total": len(rows),
        "attacks": rows,
    }
    print(f"{'attack':26} {'target':28} {'by':10} {'result':7} evidence")
    for row in rows:
        result = "held" if row["held"] else "BROKEN"
        evidence = str(row["evidence"])[:90]
        print(f"{row['attack']:26} {row['target']:28} {row['defence_by']:10} {result:7} {evidence}")
    print(f"\n{report['held']}/{report['total']} held; limits by {report['limit_mechanism']}")
    if overhead is not None:
        print_overhead(overhead)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
