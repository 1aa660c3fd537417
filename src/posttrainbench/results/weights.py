"""Benchmark weights of the leaderboard average: w_b = 1/(instruct_b − base_b), normalised.

A benchmark where post-training can gain little (the instruct model barely beats the base
model) weighs more, so every benchmark contributes comparably to the average. The paper's
weights, and the instruct and base rows they come from, ship in ``data/published.json``.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrainbench.errors import UserError

__all__ = [
    "PublishedReference",
    "PublishedRow",
    "load_weights_file",
    "normalise_weights",
    "published_reference",
    "published_weights",
    "weights_from_scores",
]

_EXAMPLE = '{"gsm8k": 0.5, "humaneval": 0.5}'


class PublishedRow(BaseModel):
    """One row of the paper's main table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """Who the row is: an agent, or a reference row (instruct, base zero-shot)."""
    scores: dict[str, float]
    """Per-benchmark columns (×100), keyed by benchmark id."""
    average: float
    """The published weighted average (×100), rounded to one decimal."""


class PublishedReference(BaseModel):
    """The paper's published numbers that the aggregation is checked against."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    """Where the numbers were taken from."""
    benchmarks: list[str]
    """Benchmark ids in the paper's column order."""
    weights: dict[str, float]
    """The published, rounded weights (they sum to 0.9999, not exactly 1)."""
    rows: list[PublishedRow]
    """Rows with every column: ``instruct``, ``base-zero-shot`` and agents."""

    def row(self, name: str) -> PublishedRow:
        """The row called ``name``.

        Raises:
            KeyError: No row has that name.
        """
        for candidate in self.rows:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


@cache
def published_reference() -> PublishedReference:
    """The paper's weights and reference rows, read from the packaged data file."""
    text = (
        resources.files("posttrainbench.results")
        .joinpath("data/published.json")
        .read_text(encoding="utf-8")
    )
    return PublishedReference.model_validate_json(text)


def published_weights() -> dict[str, float]:
    """The paper's weights, normalised to sum exactly 1 (the rounded ones sum to 0.9999)."""
    return normalise_weights(published_reference().weights)


def normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Scale positive weights so that they sum to 1.

    Raises:
        ValueError: ``weights`` is empty or has a weight that is not positive and finite.
    """
    if not weights:
        raise ValueError("no weights to normalise")
    bad = [key for key, value in weights.items() if not (math.isfinite(value) and value > 0)]
    if bad:
        raise ValueError(f"weights must be positive and finite: {', '.join(sorted(bad))}")
    total = math.fsum(weights.values())
    return {key: value / total for key, value in sorted(weights.items())}


def weights_from_scores(
    instruct: Mapping[str, float], base: Mapping[str, float]
) -> dict[str, float]:
    """Weights w_b = 1/(instruct_b − base_b), normalised to sum 1.

    Scores may be fractions or ×100: normalisation makes the weights scale-free.

    Args:
        instruct: Per benchmark, the instruct models' score (mean over base models).
        base: Per benchmark, the base models' zero-shot score (mean over base models).

    Raises:
        UserError: The two do not cover the same benchmarks, or an instruct score does not
            exceed its base score (the weight would be infinite or negative).
    """
    if set(instruct) != set(base) or not instruct:
        raise UserError(
            "Instruct and base scores must cover the same, non-empty set of benchmarks; "
            f"instruct has {sorted(instruct)}, base has {sorted(base)}."
        )
    not_above = [b for b in sorted(instruct) if instruct[b] <= base[b]]
    if not_above:
        detail = ", ".join(f"{b} (instruct {instruct[b]:g} <= base {base[b]:g})" for b in not_above)
        raise UserError(
            f"Cannot weigh {detail}: w = 1/(instruct − base) needs instruct above base. "
            "Check those baseline results, or pass a weights file."
        )
    return normalise_weights({b: 1.0 / (instruct[b] - base[b]) for b in instruct})


def load_weights_file(path: Path) -> dict[str, float]:
    """Read a user's weights file (``.json`` or ``.toml``: ``{benchmark: weight}``).

    Weights need not sum to 1: they are normalised.

    Raises:
        UserError: The file is missing, unreadable, not JSON/TOML, not a flat mapping of
            benchmark ids to positive numbers, or empty.
    """
    data = _parse_weights_file(path)
    if not isinstance(data, dict) or not data:
        raise UserError(
            f"Weights file {path} must be a non-empty mapping of benchmark id to weight, "
            f"e.g. {_EXAMPLE}."
        )
    problems = [
        f"{key!r}: {value!r}"
        for key, value in data.items()
        if isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ]
    if problems:
        raise UserError(
            f"Weights file {path}: every weight must be a positive number; "
            f"bad entries: {', '.join(problems)}."
        )
    return normalise_weights({str(key): float(value) for key, value in data.items()})


def _parse_weights_file(path: Path) -> object:
    suffix = path.suffix.lower()
    if suffix not in {".json", ".toml"}:
        raise UserError(f"Weights file {path}: use a .json or .toml file, e.g. {_EXAMPLE}.")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"Weights file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"Cannot read weights file {path}: {error}") from None
    try:
        return json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        kind = suffix[1:].upper()
        raise UserError(f"Weights file {path} is not valid {kind}: {error}") from None
