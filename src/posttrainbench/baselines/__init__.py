"""Baseline rows of the leaderboard: base models zero-shot and few-shot, instruct models.

Each row is a trial whose "agent" submits a model without training (``baseline-zero-shot``,
``baseline-few-shot``, ``baseline-instruct``), so its results are stored, aggregated and
used for weights and fallbacks like any other trial's. Run them with ``ptb baseline``.
"""

from posttrainbench.baselines._agent import (
    BASELINE_KINDS,
    BaselineAgent,
    instruct_model_for,
)
from posttrainbench.baselines._fewshot import (
    DEFAULT_SHOTS,
    FEW_SHOT_SEED,
    FewShotExample,
    NoAllowedData,
    few_shot_examples,
    has_allowed_data,
    with_few_shot,
)
from posttrainbench.baselines._run import BASELINE_HOURS, BaselineRun, baseline_specs, run_baselines

__all__ = [
    "BASELINE_HOURS",
    "BASELINE_KINDS",
    "DEFAULT_SHOTS",
    "FEW_SHOT_SEED",
    "BaselineAgent",
    "BaselineRun",
    "FewShotExample",
    "NoAllowedData",
    "baseline_specs",
    "few_shot_examples",
    "has_allowed_data",
    "instruct_model_for",
    "run_baselines",
    "with_few_shot",
]
