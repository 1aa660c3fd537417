"""IFEval: 541 prompts with verifiable formatting instructions ("answer in 3 bullet points").

Upstream's ``ifeval`` task runs inspect_evals' ``ifeval`` unchanged: ``google/IFEval``
(train split, the only one) at inspect_evals' pinned revision, the prompt sent as it is
(no system prompt), and inspect_evals' ``instruction_following`` scorer, which checks
each instruction strictly and loosely with Google's ``instruction_following_eval`` code.
This module reads the same file offline and scores with that same scorer; the headline
``accuracy`` is inspect_evals' ``final_acc`` (the mean of prompt- and instruction-level,
strict and loose accuracy) with its ``final_stderr``; the other eight figures are kept as
extras. Upstream's default max tokens: 4000. Outside the paper's weighted average (it has
no published weight).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem
from posttrainbench.benchmarks.data import HubDataset
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Metric, Scorer

__all__ = ["IFEVAL", "IfEval", "ifeval_scorer"]

IFEVAL = HubDataset(
    repo_id="google/IFEval",
    revision="966cd89545d6b6acfd7638bc708b98261ca58e84",
    files=("ifeval_input_data.jsonl",),
)
"""The pinned source (inspect_evals' ``IFEVAL_DATASET_REVISION``)."""

CHECKER = "instruction_following_eval"
"""The module of Google's instruction checkers that inspect_evals' scorer imports."""


@cache
def _read(path: Path) -> tuple[dict[str, Any], ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def _records() -> tuple[dict[str, Any], ...]:
    return _read(IFEVAL.path(IFEVAL.files[0]))


def _headline(name: str) -> Metric:
    """One figure of inspect_evals' ``if_metric`` under our name (``accuracy``/``stderr``)."""
    from inspect_ai.scorer import SampleScore, Value, metric
    from inspect_evals.ifeval.ifeval import if_metric

    source = {"accuracy": "final_acc", "stderr": "final_stderr"}[name]

    @metric(name=name)
    def figure() -> Metric:
        def compute(scores: list[SampleScore]) -> Value:
            values = if_metric()(scores)  # type: ignore[arg-type]
            assert isinstance(values, dict)
            return float(values[source])

        return compute

    return figure()


def ifeval_scorer() -> Scorer:
    """inspect_evals' ``instruction_following`` scorer, reporting ``accuracy``/``stderr``.

    Raises:
        UserError: Google's instruction checkers are not installed (the message says how).
    """
    import importlib.util

    from inspect_ai.scorer import scorer
    from inspect_evals.ifeval.ifeval import if_metric, instruction_following

    if importlib.util.find_spec(CHECKER) is None:
        raise UserError(
            "IFEval is scored with Google's instruction checkers, which are not installed: "
            "pip install 'instruction_following_eval @ "
            "git+https://github.com/josejg/instruction_following_eval' (what inspect_evals' "
            "ifeval extra installs; it also needs the NLTK 'punkt_tab' data)."
        )

    @scorer(metrics=[_headline("accuracy"), _headline("stderr"), if_metric()])
    def instruction_following_checked() -> Scorer:
        return instruction_following()

    return instruction_following_checked()


class IfEval(Benchmark):
    """IFEval: verifiable instructions, scored strictly and loosely per instruction."""

    id = "ifeval"
    title = "IFEval (instruction following)"
    default_limit = None
    generation = GenerationSettings(
        max_tokens=4000, temperature=0.0, fallback_max_tokens=(3000, 2000)
    )
    allowed_training_data = "None: no IFEval prompt may be trained on."
    data_sources = (IFEVAL,)

    @override
    def test_items(self) -> list[TestItem]:
        """The 541 prompts in the dataset's order (no reference answer: checked by rule)."""
        return [
            TestItem(id=f"ifeval-{record['key']}", question=str(record["prompt"]), answer="")
            for record in _records()
        ]

    @override
    def iter_test_texts(self) -> Iterator[str]:
        """The prompts (there are no answers) for contamination scanning."""
        for item in self.test_items():
            yield item.question

    @override
    def task(self, limit: int | None = None) -> Task:
        """inspect_evals' ifeval: the prompt as it is, plain generation, its scorer."""
        from inspect_ai.dataset import Sample
        from inspect_ai.solver import generate

        samples = [
            Sample(
                id=f"ifeval-{record['key']}",
                input=str(record["prompt"]),
                metadata={
                    "prompt": record["prompt"],
                    "instruction_id_list": record["instruction_id_list"],
                    "kwargs": record["kwargs"],
                },
            )
            for record in _records()[:limit]
        ]
        return self._build_task(samples, [generate()], ifeval_scorer())
