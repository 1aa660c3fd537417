"""How the final evaluation samples and averages: the ``paper`` and ``greedy`` protocols.

``paper`` (the default) is upstream's final evaluation (``run_final_eval.sh``,
``per_sample_seed.py``, ``default_temperature.py``):

- fixed seeds :data:`FINAL_SEEDS`; judge-scored benchmarks use only the first;
- the sampling settings vLLM takes when a request sets none: the model's generation config
  values that differ from transformers' defaults (temperature, top_p, top_k, min_p,
  repetition_penalty), else vLLM's own (temperature 1.0). Upstream read the *submission's*
  file, which the agent writes; here it is always the **base model's** (recorded);
- a greedy configuration (temperature below vLLM's 1e-5) gets the first seed only, except
  where the seed also shuffles the items (GPQA's choice order);
- every request carries its own seed, ``sample_seed(run_seed, sample id, epoch, call)``;
- the score is the mean over the seeds (every numeric metric averaged).

Upstream runs one evaluation per seed; here all seeds go into **one** inspect task (each
item once per seed, ids ``ITEM@SEED`` when there are several), so the model is loaded once
and the seeds share batches. ``greedy`` is this project's older protocol: one greedy
decode, no seeds.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from posttrainbench.benchmarks import Benchmark
from posttrainbench.evaluation._sampling import sample_seed

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.solver import Solver

__all__ = [
    "FINAL_SEEDS",
    "Protocol",
    "Sampling",
    "SeedScore",
    "base_sampling",
    "sample_seed",
    "seed_scores",
    "seeded_task",
    "seeds_for",
]

FINAL_SEEDS = (72332, 87681, 38992, 92201, 13818)
"""Upstream's fixed seeds of the final evaluation."""
GREEDY_BELOW = 1e-5
"""vLLM decodes greedily below this temperature."""
SEED_KEY = "ptb_seed"
ITEM_KEY = "ptb_item"
# transformers' GenerationConfig defaults: vLLM ignores a value equal to them.
_HF_DEFAULTS = {
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 50,
    "min_p": None,
    "repetition_penalty": 1.0,
}


class Protocol(StrEnum):
    """How the final evaluation decodes and averages."""

    PAPER = "paper"
    """Upstream's seeded sampling with the base model's settings, mean over seeds."""
    GREEDY = "greedy"
    """One greedy decode per item (this project's protocol before ``paper``)."""


class Sampling(BaseModel):
    """Sampling settings of the final evaluation (vLLM's defaults unless overridden)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    """-1: no top-k."""
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    source: str = "vLLM defaults"
    """Where the values came from (the base model's generation config, the protocol)."""

    @property
    def greedy(self) -> bool:
        """Whether vLLM would decode greedily."""
        return self.temperature < GREEDY_BELOW


GREEDY = Sampling(temperature=0.0, source="greedy protocol")
"""The ``greedy`` protocol's settings."""


def base_sampling(base_dir: Path | None) -> Sampling:
    """The settings vLLM would take from ``base_dir``'s generation config (the paper rule)."""
    path = base_dir / "generation_config.json" if base_dir is not None else None
    if path is None or not path.is_file():
        return Sampling()
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    values = {
        key: config[key]
        for key, default in _HF_DEFAULTS.items()
        if config.get(key) is not None and config[key] != default
    }
    return Sampling(**values, source=f"base generation_config ({base_dir})")


def seeds_for(benchmark: Benchmark, sampling: Sampling) -> tuple[int, ...]:
    """The seeds a benchmark is evaluated with under the paper protocol."""
    if benchmark.judged:
        return FINAL_SEEDS[:1]
    if sampling.greedy and not benchmark.seed_shuffles:
        return FINAL_SEEDS[:1]
    return FINAL_SEEDS


def _per_sample_seed(inner: Solver) -> Solver:
    """Run ``inner`` with every generate() call seeded by :func:`sample_seed`."""
    from inspect_ai.solver import Generate, TaskState, solver

    @solver(name="per_sample_seed")
    def seeded() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            calls = 0
            run_seed = int(state.metadata[SEED_KEY])
            item = state.metadata[ITEM_KEY]

            async def seeded_generate(state: TaskState, *args: Any, **kwargs: Any) -> TaskState:
                nonlocal calls
                kwargs["seed"] = sample_seed(run_seed, item, state.epoch, calls)
                calls += 1
                return await generate(state, *args, **kwargs)

            return await inner(state, seeded_generate)

        return solve

    return seeded()


def seeded_task(task: Task, benchmark: Benchmark, seeds: tuple[int, ...]) -> Task:
    """``task`` with each item once per seed and every request seeded per item."""
    from inspect_ai import task_with
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.solver import chain

    samples = []
    for seed in seeds:
        for sample in task.dataset:
            copy = benchmark.for_seed(sample.model_copy(deep=True), seed)
            copy.metadata = {**(copy.metadata or {}), SEED_KEY: seed, ITEM_KEY: sample.id}
            if len(seeds) > 1:  # one seed keeps the ids (scorers may key on them)
                copy.id = f"{sample.id}@{seed}"
            samples.append(copy)
    dataset = MemoryDataset(samples, name=task.dataset.name)
    return task_with(task, dataset=dataset, solver=_per_sample_seed(chain(task.solver)))


class SeedScore(BaseModel):
    """The score of one seed."""

    model_config = ConfigDict(extra="forbid")

    seed: int
    accuracy: float
    stderr: float | None
    n: int


def seed_scores(log: Any) -> list[SeedScore]:
    """Accuracy and stderr per seed, from the samples of a seeded task's log."""
    from inspect_ai.scorer import value_to_float

    to_float = value_to_float()
    values: dict[int, list[float]] = {}
    for sample in log.samples or []:
        seed = int(sample.metadata[SEED_KEY])
        score = next(iter((sample.scores or {}).values()))
        values.setdefault(seed, []).append(to_float(score.value))
    result = []
    for seed, numbers in values.items():
        n = len(numbers)
        mean = sum(numbers) / n
        stderr = None
        if n > 1:
            variance = sum((x - mean) ** 2 for x in numbers) / (n - 1)
            stderr = math.sqrt(variance / n)
        result.append(SeedScore(seed=seed, accuracy=mean, stderr=stderr, n=n))
    return result
