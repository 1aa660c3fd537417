"""``result.json``: the final, published outcome of one trial."""

from __future__ import annotations

from posttrainbench.records import Record

__all__ = ["TrialResult"]


class TrialResult(Record):
    """What a trial scored, and why that is its score."""

    trial_id: str
    experiment: str
    agent: str
    agent_config: str
    model: str
    benchmark: str
    hours: float
    replicate: int
    score: float | None
    """The score that counts: the raw score, or the base score when a fallback applies."""
    raw_score: float | None
    """What the submitted model scored (None when it could not be evaluated)."""
    base_score: float | None
    """The base model's score, when it was needed for a fallback."""
    stderr: float | None
    fallback_reason: str | None
    """Why the base score replaced the raw score (no model, failed evaluation, flagged)."""
    audit_verdict: str
    solve_seconds: float
    """Wall time the agent ran (summed over resumed attempts)."""
    solve_outcome: str
    """How the agent ended: exited, timed_out, time_over."""
    harness_version: str
    finished_at: str
    prompt_tokens: int | None = None
    """Input tokens the agent used (cached ones included); None when not reported."""
    completion_tokens: int | None = None
    """Output tokens the agent used; None when not reported."""
    cost_usd: float | None = None
    """What the agent's LLM calls cost in US dollars; None when unknown."""
    cut_short: str | None = None
    """How the time budget cut the agent's work short (stopped at its limit, or the agent
    reported stopping early for time, e.g. the reference recipe's ``step 117 of 500``);
    None when it finished its work. Informational: the score is whatever was submitted."""
    isolated: bool = True
    """False when the agent ran in the unisolated ``process`` sandbox (``--sandbox process``):
    nothing stopped it from reaching the host, other trials or the harness. Shown on the
    leaderboard with a marker."""
