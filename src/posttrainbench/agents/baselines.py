"""The baseline "agents": they submit a model without training anything.

``baseline-zero-shot`` submits the base model, ``baseline-few-shot`` the base model scored
with few-shot examples from allowed data, ``baseline-instruct`` the official instruct
counterpart (beyond the budget: a reference point, not an achievable score). The agent
names are the ones aggregation, weights and upstream fallbacks look for in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import override

from posttrainbench.agents.base import Agent, AgentContext, AgentInvocation
from posttrainbench.errors import UserError
from posttrainbench.results.aggregate import (
    BASELINE_FEW_SHOT,
    BASELINE_INSTRUCT,
    BASELINE_ZERO_SHOT,
)

__all__ = [
    "BASELINE_FEW_SHOT",
    "BASELINE_INSTRUCT",
    "BASELINE_KINDS",
    "BASELINE_ZERO_SHOT",
    "BaselineAgent",
    "few_shot",
    "instruct",
    "instruct_model_for",
    "zero_shot",
]

BASELINE_KINDS = {
    "zero-shot": BASELINE_ZERO_SHOT,
    "few-shot": BASELINE_FEW_SHOT,
    "instruct": BASELINE_INSTRUCT,
}
"""``ptb baseline KIND`` -> the agent name its results are stored under."""


@dataclass(frozen=True)
class BaselineAgent(Agent):
    """Copies a model (the base, or its instruct counterpart) to final_model."""

    name: str
    model: str = ""
    """The model to submit (an id or directory); empty: the base (instruct: the catalog's)."""
    eval_few_shot: int = 0
    """Examples from allowed data shown before each question at evaluation (0: none)."""
    env_keys: Sequence[str] = ()
    harness_submission: bool = True
    """The harness chose the submitted model: the audit is recorded, never a fallback."""

    @override
    def invocation(self, context: AgentContext) -> AgentInvocation:
        """Copy the model with the harness's Python inside the sandbox."""
        source = context.base_model
        mounts: list[Path] = []
        if self.name == BASELINE_INSTRUCT:
            source = instruct_model_for(context.base_model, self.model)
            mounts.append(_cache_root(source))
        return AgentInvocation(
            argv=[
                context.python,
                "-m",
                "posttrainbench.agents.noop",
                str(source),
                str(context.final_model),
            ],
            mounts=mounts,
        )


def _cache_root(model_dir: Path) -> Path:
    """The folder to expose: an HF cache repo whole (its snapshots link into blobs)."""
    if model_dir.parent.name == "snapshots":
        return model_dir.parent.parent
    return model_dir


def _hub_id(model_dir: Path) -> str | None:
    """``owner/name`` of a model directory in the hub cache (``models--o--n/snapshots/r``)."""
    if model_dir.parent.name != "snapshots":
        return None
    repo = model_dir.parent.parent.name
    if not repo.startswith("models--"):
        return None
    return repo.removeprefix("models--").replace("--", "/", 1)


def instruct_model_for(base_model: Path, explicit: str = "") -> Path:
    """The instruct model to submit for ``base_model``: ``explicit``, else the catalog's.

    Raises:
        UserError: No instruct counterpart is known, or it is not on this machine.
    """
    from posttrainbench.catalog import resolve_model
    from posttrainbench.catalog.models import CATALOG

    if explicit:
        return resolve_model(explicit).path
    hub_id = _hub_id(base_model)
    entry = CATALOG.get(hub_id or "")
    if entry is None:
        raise UserError(
            f"No instruct counterpart is known for {hub_id or base_model}: give one with "
            "--instruct-model (catalog models: " + ", ".join(CATALOG) + ")."
        )
    return resolve_model(entry.instruct_id).path


def zero_shot(config: str) -> BaselineAgent:
    """``baseline-zero-shot``: the base model, zero-shot. Takes no configuration."""
    if config:
        raise UserError(f"{BASELINE_ZERO_SHOT} takes no configuration.")
    return BaselineAgent(BASELINE_ZERO_SHOT)


def few_shot(config: str) -> BaselineAgent:
    """``baseline-few-shot`` or ``baseline-few-shot:k=N`` (default 5 examples)."""
    from posttrainbench.evaluation.few_shot import DEFAULT_SHOTS

    if not config:
        return BaselineAgent(BASELINE_FEW_SHOT, eval_few_shot=DEFAULT_SHOTS)
    key, _, value = config.partition("=")
    if key != "k" or not value.isdigit() or int(value) < 1:
        raise UserError(f"Bad {BASELINE_FEW_SHOT} config '{config}': expected k=N (N >= 1).")
    return BaselineAgent(BASELINE_FEW_SHOT, eval_few_shot=int(value))


def instruct(config: str) -> BaselineAgent:
    """``baseline-instruct`` (the catalog's counterpart) or ``baseline-instruct:model=M``."""
    if not config:
        return BaselineAgent(BASELINE_INSTRUCT)
    key, _, value = config.partition("=")
    if key != "model" or not value:
        raise UserError(f"Bad {BASELINE_INSTRUCT} config '{config}': expected model=ID_OR_DIR.")
    return BaselineAgent(BASELINE_INSTRUCT, model=value)
