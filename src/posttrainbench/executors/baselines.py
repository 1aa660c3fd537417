"""Running baseline rows: one trial per base model and benchmark, stored like any trial."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posttrainbench.agents.baselines import BASELINE_FEW_SHOT, BASELINE_KINDS
from posttrainbench.errors import UserError
from posttrainbench.results import TrialResult

if TYPE_CHECKING:
    from posttrainbench.trial import TrialSpec

__all__ = ["BASELINE_HOURS", "BaselineRun", "baseline_specs", "run_baselines"]

BASELINE_HOURS = 0.25
"""Budget of a baseline trial: only the copy of the model runs in it."""


@dataclass(frozen=True)
class BaselineRun:
    """The trials of one ``ptb baseline`` call and the benchmarks it skipped (and why)."""

    results: list[TrialResult]
    skipped: dict[str, str]


def baseline_specs(
    kind: str,
    models: Sequence[str],
    benchmarks: Sequence[str],
    *,
    instruct_model: str = "",
    experiment: str = "baselines",
    hours: float = BASELINE_HOURS,
    sandbox: str = "auto",
) -> tuple[list[TrialSpec], dict[str, str]]:
    """The trial specs of a baseline kind, and the benchmarks skipped with the reason.

    Few-shot rows exist only for benchmarks with allowed non-test data.
    """
    from posttrainbench.benchmarks import get_benchmark
    from posttrainbench.evaluation.few_shot import has_allowed_data
    from posttrainbench.trial import TrialSpec

    if kind not in BASELINE_KINDS:
        raise UserError(f"Unknown baseline '{kind}'. Known: {', '.join(BASELINE_KINDS)}.")
    agent = BASELINE_KINDS[kind]
    if instruct_model and kind != "instruct":
        raise UserError("--instruct-model applies to the instruct baseline only.")
    if instruct_model and len(models) > 1:
        raise UserError("--instruct-model names the counterpart of one --model only.")
    config = f"model={instruct_model}" if instruct_model else ""
    specs: list[TrialSpec] = []
    skipped: dict[str, str] = {}
    for benchmark in benchmarks:
        bench = get_benchmark(benchmark)
        if agent == BASELINE_FEW_SHOT and not has_allowed_data(bench):
            skipped[benchmark] = (
                f"no allowed non-test data to draw examples from ({bench.allowed_training_data})"
            )
            continue
        for model in models:
            specs.append(
                TrialSpec(
                    agent=agent,
                    agent_config=config,
                    model=model,
                    benchmark=benchmark,
                    hours=hours,
                    experiment=experiment,
                    sandbox=sandbox,
                )
            )
    return specs, skipped


def run_baselines(
    kind: str,
    models: Sequence[str],
    benchmarks: Sequence[str],
    runs_dir: Path,
    *,
    instruct_model: str = "",
    experiment: str = "baselines",
    hours: float = BASELINE_HOURS,
    sandbox: str = "auto",
    log: Callable[[str], None] = print,
) -> BaselineRun:
    """Run (or resume) the baseline trials of ``kind``; results land in the runs store.

    Args:
        kind: ``zero-shot``, ``few-shot`` or ``instruct``.
        models: Base models (Hugging Face ids or local directories).
        benchmarks: Benchmark ids.
        runs_dir: The runs directory whose store aggregation reads.
        instruct_model: The instruct model to submit (default: the catalog's counterpart).
        experiment: Experiment folder of the trials.
        hours: Budget of each trial (only a model copy runs in it).
        sandbox: Sandbox backend.
        log: Progress messages.
    """
    from posttrainbench.executors.trials import run_trials

    specs, skipped = baseline_specs(
        kind,
        models,
        benchmarks,
        instruct_model=instruct_model,
        experiment=experiment,
        hours=hours,
        sandbox=sandbox,
    )
    for benchmark, reason in skipped.items():
        log(f"{BASELINE_KINDS[kind]}: skipping {benchmark}: {reason}")
    return BaselineRun(results=run_trials(specs, runs_dir, log=log), skipped=skipped)
