"""HealthBench "Easy": health conversations graded against physician-written rubrics.

The subset used by PostTrainBench: the 245 conversations of HealthBench with at least five
turns, at least one ``axis:completeness`` criterion and at most two negative criteria.
The model writes the next assistant turn; an LLM grader then decides, one call per rubric
criterion, whether the response meets it (a JSON ``criteria_met`` answer). An example
scores the points of the met criteria (negative ones subtract) over the sum of its
positive points; the benchmark's score is the mean over examples clipped to [0, 1], with
a bootstrap standard error (1000 resamples, fixed seed). A grader reply that is not the
expected JSON is a judge failure (retried, then reported), never "not met".
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks._url_data import UrlFile
from posttrainbench.benchmarks.base import (
    GenerationSettings,
    Judge,
    JudgedBenchmark,
    TestItem,
    TwinPair,
)

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Metric, Scorer

__all__ = [
    "DATA",
    "BOOTSTRAP_SAMPLES",
    "Criterion",
    "Example",
    "HealthBench",
    "axis_points",
    "bootstrap_stderr",
    "breakdown",
    "clipped_mean",
    "example_score",
    "is_easy",
    "load_examples",
    "parse_grade",
]

DATA = UrlFile(
    "healthbench",
    "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/"
    "2025-05-07-06-14-12_oss_eval.jsonl",
    "oss_eval.jsonl",
)
"""The full HealthBench release (5000 conversations); the Easy subset is filtered from it."""
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 0
MIN_TURNS = 5
MAX_NEGATIVE_CRITERIA = 2


@cache
def grader_template() -> str:
    """The grader template upstream sends (``healthbench_grader.md``).

    OpenAI simple-evals' HealthBench template, verbatim (MIT); ``<<conversation>>`` and
    ``<<rubric_item>>`` are filled in by :func:`grader_prompt`.
    """
    from importlib.resources import files

    path = files("posttrainbench.benchmarks").joinpath("healthbench_grader.md")
    return path.read_text(encoding="utf-8")


_FENCES = re.compile(r"^```json\s*|\s*```$")


@dataclass(frozen=True)
class Criterion:
    """One rubric line: what to check and how many points it is worth (may be negative)."""

    text: str
    points: float
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    """One conversation (ending with a user turn) and its rubric."""

    id: str
    messages: tuple[tuple[str, str], ...]
    """(role, content) pairs."""
    criteria: tuple[Criterion, ...]
    tags: tuple[str, ...] = ()


def is_easy(example: Example) -> bool:
    """Membership in the Easy subset (turns, a completeness criterion, few negatives)."""
    return (
        len(example.messages) >= MIN_TURNS
        and any("axis:completeness" in c.tags for c in example.criteria)
        and sum(c.points < 0 for c in example.criteria) <= MAX_NEGATIVE_CRITERIA
    )


def _parse_example(raw: dict[str, Any]) -> Example:
    return Example(
        id=str(raw["prompt_id"]),
        messages=tuple((str(m["role"]), str(m["content"])) for m in raw["prompt"]),
        criteria=tuple(
            Criterion(str(r["criterion"]), float(r["points"]), tuple(r.get("tags", ())))
            for r in raw["rubrics"]
        ),
        tags=tuple(raw.get("example_tags", ())),
    )


@cache
def load_examples() -> tuple[Example, ...]:
    """The Easy subset, in file order."""
    with DATA.path().open(encoding="utf-8") as handle:
        examples = [_parse_example(json.loads(line)) for line in handle if line.strip()]
    return tuple(e for e in examples if is_easy(e))


def example_score(criteria: list[Criterion], met: list[bool]) -> float:
    """Points of the met criteria over the sum of positive points (may be negative)."""
    positive = sum(c.points for c in criteria if c.points > 0)
    if positive <= 0:
        raise ValueError("an example without positive criteria cannot be scored")
    return sum(c.points for c, ok in zip(criteria, met, strict=True) if ok) / positive


def clipped_mean(values: list[float]) -> float:
    """The mean of ``values`` clipped to [0, 1]."""
    return min(1.0, max(0.0, sum(values) / len(values))) if values else 0.0


def bootstrap_stderr(values: list[float], samples: int = BOOTSTRAP_SAMPLES) -> float:
    """Standard deviation of the clipped mean over ``samples`` seeded resamples."""
    import random
    import statistics

    if len(values) < 2:
        return 0.0
    rng = random.Random(BOOTSTRAP_SEED)
    means = [clipped_mean(rng.choices(values, k=len(values))) for _ in range(samples)]
    return statistics.pstdev(means)


def grader_prompt(
    messages: tuple[tuple[str, str], ...] | list[tuple[str, str]],
    response: str,
    criterion: Criterion,
) -> str:
    """The grader's prompt for one criterion, rendered as upstream renders it."""
    turns = [*messages, ("assistant", response)]
    conversation = "\n\n".join(f"{role}: {text}" for role, text in turns)
    rubric_item = f"[{criterion.points:g}] {criterion.text}"
    return (
        grader_template()
        .replace("<<conversation>>", conversation)
        .replace("<<rubric_item>>", rubric_item)
    )


def parse_grade(reply: str) -> bool:
    """``criteria_met`` from a grader reply, read as upstream reads it.

    The reply, stripped of a leading ```` ```json ```` and a trailing fence, must be a JSON
    object whose ``criteria_met`` is a boolean.

    Raises:
        ValueError: Anything else (upstream and the harness then ask the grader again).
    """
    text = _FENCES.sub("", reply.strip())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the grader's reply is not JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("criteria_met"), bool):
        raise ValueError("the grader's reply has no boolean criteria_met")
    return bool(data["criteria_met"])


def _values(scores: list[Any]) -> list[float]:
    return [float(s.score.value) for s in scores]


def _value_metric(name: str, statistic: Callable[[list[float]], float]) -> Metric:
    """A metric registered as ``name``: ``statistic`` of the score values."""
    from inspect_ai.scorer import metric

    @metric(name=name)
    def over_values() -> Metric:
        def compute(scores: list[Any]) -> float:
            return statistic(_values(scores))

        return compute

    return over_values()


def _tag_values(tags: tuple[str, ...] | list[str], prefix: str) -> list[str]:
    return [tag.removeprefix(prefix) for tag in tags if tag.startswith(prefix)]


def axis_points(criteria: list[Criterion], met: list[bool]) -> dict[str, tuple[float, float]]:
    """Per rubric axis: (points of the met criteria, positive points)."""
    points: dict[str, tuple[float, float]] = {}
    for criterion, ok in zip(criteria, met, strict=True):
        for axis in _tag_values(criterion.tags, "axis:"):
            got, possible = points.get(axis, (0.0, 0.0))
            points[axis] = (
                got + (criterion.points if ok else 0.0),
                possible + max(criterion.points, 0.0),
            )
    return points


def breakdown(metadata: list[dict[str, Any]]) -> dict[str, float]:
    """Clipped mean scores by rubric axis (``axis:NAME``) and example theme (``theme:NAME``)."""
    groups: dict[str, list[float]] = {}
    for entry in metadata:
        for axis, (got, possible) in entry["axis_points"].items():
            if possible > 0:
                groups.setdefault(f"axis:{axis}", []).append(got / possible)
        for theme in entry["themes"]:
            groups.setdefault(f"theme:{theme}", []).append(entry["score"])
    return {name: clipped_mean(values) for name, values in sorted(groups.items())}


def _breakdown() -> Metric:
    from inspect_ai.scorer import metric

    @metric(name="breakdown")
    def by_axis_and_theme() -> Metric:
        def compute(scores: list[Any]) -> dict[str, float]:
            return breakdown([dict(s.score.metadata or {}) for s in scores])

        return compute

    return by_axis_and_theme()


def rubric_scorer(judge: Judge, examples: dict[str, Example]) -> Scorer:
    """Grade the response against each criterion of its example with ``judge``."""
    from inspect_ai.scorer import Score, Target, scorer
    from inspect_ai.solver import TaskState

    @scorer(
        metrics=[
            _value_metric("accuracy", clipped_mean),
            _value_metric("stderr", bootstrap_stderr),
            _breakdown(),
        ]
    )
    def healthbench_rubric() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            example = examples[str(state.sample_id)]
            response = state.output.completion
            prompts = [grader_prompt(example.messages, response, c) for c in example.criteria]
            met = await asyncio.gather(
                *(judge.ask([{"role": "user", "content": p}], parse_grade) for p in prompts)
            )
            value = example_score(list(example.criteria), list(met))
            return Score(
                value=value,
                answer=response,
                metadata={
                    "criteria_met": list(met),
                    "score": value,
                    "axis_points": axis_points(list(example.criteria), list(met)),
                    "themes": _tag_values(example.tags, "theme:"),
                },
            )

        return score

    return healthbench_rubric()


class HealthBench(JudgedBenchmark):
    """HealthBench Easy (245 conversations), rubric-graded by an LLM."""

    id = "healthbench"
    title = "HealthBench (Easy subset)"
    default_limit = 32
    generation = GenerationSettings(
        max_tokens=16384, temperature=0.0, fallback_max_tokens=(12288, 8192)
    )
    data_sources = (DATA,)

    @override
    def test_items(self) -> list[TestItem]:
        """Each conversation's text, with its rubric as the 'answer'."""
        return [
            TestItem(
                e.id,
                "\n".join(text for _, text in e.messages),
                "\n".join(c.text for c in e.criteria),
            )
            for e in load_examples()
        ]

    @override
    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Prompt and reference lightly rewritten (numbers, a few words)."""
        from posttrainbench.benchmarks._twins import rewritten_twins

        return rewritten_twins(self.test_items(), seed)

    @override
    def judged_task(self, judge: Judge, limit: int | None = None) -> Task:
        """Write the next assistant turn of each conversation, then grade it per criterion."""
        from inspect_ai.dataset import Sample
        from inspect_ai.model import (
            ChatMessage,
            ChatMessageAssistant,
            ChatMessageSystem,
            ChatMessageUser,
        )
        from inspect_ai.solver import generate

        kinds: dict[str, type[ChatMessage]] = {
            "system": ChatMessageSystem,
            "user": ChatMessageUser,
            "assistant": ChatMessageAssistant,
        }
        examples = load_examples()[:limit]
        samples = [
            Sample(
                input=[kinds[role](content=text) for role, text in e.messages],
                id=e.id,
            )
            for e in examples
        ]
        return self._build_task(
            samples, generate(), rubric_scorer(judge, {e.id: e for e in examples})
        )
