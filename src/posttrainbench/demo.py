"""``ptb demo``: two real trials of a tiny locally built model on the toy ``arith`` benchmark."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from posttrainbench.executors import run_local
from posttrainbench.results import TrialResult
from posttrainbench.sandbox import NO_NETWORK
from posttrainbench.trial import TrialSpec

__all__ = ["DEMO_AGENTS", "run_demo"]

DEMO_AGENTS = ("noop", "reference")
"""The base model unchanged, and the fixed SFT recipe."""


def run_demo(
    out_dir: Path,
    *,
    hours: float = 0.1,
    sandbox: str = "auto",
    log: Callable[[str], None] = print,
) -> list[TrialResult]:
    """Build the tiny base model (once) and run one trial per demo agent under ``out_dir``."""
    from posttrainbench.testing import build_tiny_model

    model_dir = out_dir / "base-model"
    if not (model_dir / "config.json").exists():
        log(f"building the tiny base model in {model_dir}")
        build_tiny_model(model_dir, seed=0, preset="demo")
    specs = [
        TrialSpec(
            agent=agent,
            model=str(model_dir.resolve()),
            benchmark="arith",
            hours=hours,
            experiment="demo",
            sandbox=sandbox,
            network=NO_NETWORK,  # its agents need none: no namespace to start, no root needed
        )
        for agent in DEMO_AGENTS
    ]
    return run_local(specs, out_dir / "runs", log=log, echo_agent=True)
