"""The outcome of one evaluation, as persisted in ``metrics.json``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Metrics"]


class Metrics(BaseModel):
    """Score of one model on one benchmark (``accuracy`` is what aggregation reads)."""

    model_config = ConfigDict(extra="forbid")

    accuracy: float
    """Benchmark score in [0, 1]."""
    stderr: float | None
    """Standard error of ``accuracy``."""
    n: int
    """Items evaluated."""
    benchmark: str
    max_tokens: int
    """Generation limit used (the retry ladder may lower it)."""
    temperature: float = 0.0
    """Sampling temperature pinned by the benchmark (0: greedy)."""
    provider: str | None = None
    """Generation backend: ``hf``, ``vllm`` or ``openai``."""
    log_file: str | None = None
    """The inspect-ai log of this evaluation, relative to the metrics file."""
    decode: dict[str, str | int] = Field(default_factory=dict)
    """How the ``hf`` provider decoded (device, batch size; static cache on GPU)."""
    extras: dict[str, float | int | str] = Field(default_factory=dict)
    """Benchmark-specific figures (e.g. HealthBench by-axis scores, judge call counts)."""
    protocol: str = "greedy"
    """``paper`` (seeded sampling, mean over seeds) or ``greedy``; older records: greedy."""
    seeds: list[int] = Field(default_factory=list)
    """Evaluation seeds (paper protocol); empty for greedy."""
    per_seed: list[dict[str, float | int | None]] = Field(default_factory=list)
    """Accuracy, stderr and n of each seed when there were several (the score is their mean)."""
    sampling: dict[str, float | int | str] = Field(default_factory=dict)
    """Sampling settings used and where they came from (the base model's generation config)."""
    tokenizer: dict[str, str | list[str]] | None = None
    """Which tokenizer evaluation used (the base's; added tokens appended if resized)."""
