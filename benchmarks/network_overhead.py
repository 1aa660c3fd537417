"""What the agent's network policy adds to a trial's start (issue target: at most 2 s).

Run (as root, with slirp4netns and nftables): .venv/bin/python benchmarks/network_overhead.py

Runs ``true`` in the bwrap sandbox ``--repeats`` times per policy, in rotation, and
reports the wall time of each run, from the call to the sandbox to its return: so the
namespace, the stack (slirp4netns), the filter (nft), the egress capture and their
teardown are all included. ``none`` (the plain unshared network namespace, as before the
policy existed) is the baseline; the added time of ``internet``/``allow`` is the median's
difference to it. Also reported: the time ``agent_network`` takes to be ready (setup only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from posttrainbench.sandbox import BwrapSandbox, NetworkPolicy, SandboxRequest
from posttrainbench.sandbox.network import agent_network

POLICIES = {
    "none": NetworkPolicy(mode="none"),
    "internet": NetworkPolicy(),
    "allow": NetworkPolicy(mode="allow", allow=("192.0.2.7:443", "198.51.100.0/24")),
}


def time_run(sandbox: BwrapSandbox, policy: NetworkPolicy, scratch: Path, index: int) -> float:
    request = SandboxRequest(
        argv=["true"],
        cwd=Path("/"),
        env={"PATH": "/usr/bin:/bin"},
        time_limit_s=60,
        output_path=scratch / f"out-{index}.jsonl",
        network=policy,
        egress_log=scratch / f"egress-{index}.jsonl",
    )
    started = time.perf_counter()
    sandbox.run(request)
    return time.perf_counter() - started


def time_setup(policy: NetworkPolicy, scratch: Path, index: int) -> float:
    started = time.perf_counter()
    with agent_network(policy, scratch / f"setup-{index}.jsonl"):
        ready = time.perf_counter() - started
    return ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    sandbox = BwrapSandbox()
    reason = sandbox.unavailable_reason()
    if reason:
        sys.exit(f"bwrap cannot run here: {reason}")
    runs: dict[str, list[float]] = {name: [] for name in POLICIES}
    setups: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ptb-netbench-") as folder:
        scratch = Path(folder)
        time_run(sandbox, POLICIES["none"], scratch, -1)  # warm caches
        for index in range(args.repeats):
            for name, policy in POLICIES.items():
                runs[name].append(time_run(sandbox, policy, scratch, index))
            setups.append(time_setup(POLICIES["internet"], scratch, index))
    medians = {name: statistics.median(times) for name, times in runs.items()}
    report = {
        "repeats": args.repeats,
        "median_run_s": medians,
        "max_run_s": {name: max(times) for name, times in runs.items()},
        "added_s": {name: medians[name] - medians["none"] for name in POLICIES},
        "internet_setup_median_s": statistics.median(setups),
        "target_s": 2.0,
    }
    print(json.dumps(report, indent=2))
    print(f"\n{'policy':<10} {'median run':>11} {'max run':>9} {'added':>8}")
    for name in POLICIES:
        print(
            f"{name:<10} {medians[name]:>10.3f}s {report['max_run_s'][name]:>8.3f}s "
            f"{report['added_s'][name]:>+7.3f}s"
        )
    print(f"agent_network ready (internet, setup only): {report['internet_setup_median_s']:.3f}s")


if __name__ == "__main__":
    main()
