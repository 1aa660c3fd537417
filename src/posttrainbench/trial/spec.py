"""TrialSpec: what one trial is, and the deterministic id derived from it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from posttrainbench.sandbox.limits import LimitSettings
from posttrainbench.sandbox.network import INTERNET, NetworkPolicy

__all__ = ["TrialSpec", "slug"]

_SLUG = re.compile(r"[^a-z0-9.]+")


def slug(text: str, limit: int = 24) -> str:
    """``text`` as a short lower-case file-name part (letters, digits, '.', '-')."""
    return _SLUG.sub("-", text.lower()).strip("-")[:limit] or "x"


class TrialSpec(BaseModel):
    """One agent x base model x benchmark x time budget x replicate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1)
    """Agent scaffold name from the agent registry (e.g. ``reference``, ``noop``)."""
    agent_config: str = ""
    """Scaffold-specific configuration (the part after ``:`` in ``--agent name:config``)."""
    model: str = Field(min_length=1)
    """Base model: a Hugging Face id or a local directory (stored as an absolute path)."""
    benchmark: str = Field(min_length=1)
    """Benchmark id from the benchmark registry."""
    hours: float = Field(gt=0, le=168)
    """Time budget for the agent, in hours."""
    gpus: int = Field(default=0, ge=0, le=16)
    """GPUs given to the agent (0 on a CPU-only host)."""
    replicate: int = Field(default=1, ge=1)
    """Replicate number; replicates differ only in this field."""
    experiment: str = "default"
    """Experiment the trial belongs to (its folder under the runs directory)."""
    sandbox: str = "auto"
    """Sandbox backend; not part of the trial's identity."""
    honeytokens: bool = False
    """Plant decoy API keys in the agent's environment (audited); not part of the identity."""
    audit_llm_judge: bool = False
    """Also ask the LLM judge (``PTB_JUDGE_*`` settings) about the trial in the audit phase;
    not part of the identity."""
    limits: LimitSettings = LimitSettings()
    """Memory, process and disk limits of the agent; not part of the identity."""
    network: NetworkPolicy = INTERNET
    """What the agent's network may reach; part of the identity unless it is the default
    (so trials recorded before the policy existed keep their ids)."""
    protocol: Literal["paper", "greedy"] = "paper"
    """Final-evaluation protocol (``posttrainbench.evaluation.protocol``): ``paper`` samples
    with the base model's settings over upstream's fixed seeds; ``greedy`` decodes once.
    Not part of the identity (an evaluation setting: ``ptb rescore`` can re-score)."""

    @field_validator("model")
    @classmethod
    def _local_model_is_absolute(cls, value: str) -> str:
        # The same folder named from two working directories is the same trial.
        local = Path(value)
        return str(local.resolve()) if local.is_dir() else value

    @field_validator("experiment")
    @classmethod
    def _experiment_is_a_folder_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
            raise ValueError("experiment names use letters, digits, '.', '_' and '-' only")
        return value

    def identity(self) -> dict[str, object]:
        """The fields that make two specs the same trial."""
        exclude = {"sandbox", "honeytokens", "audit_llm_judge", "limits", "protocol"}
        if self.network == INTERNET:
            exclude.add("network")
        return self.model_dump(exclude=exclude)

    @property
    def trial_id(self) -> str:
        """Readable, deterministic id: equal specs always map to the same run directory."""
        digest = hashlib.sha256(
            json.dumps(self.identity(), sort_keys=True).encode("utf-8")
        ).hexdigest()[:10]
        model = slug(self.model.rstrip("/").split("/")[-1])
        agent = slug(f"{self.agent}-{self.agent_config}" if self.agent_config else self.agent)
        hours = f"{self.hours:g}h"
        return f"{agent}_{slug(self.benchmark)}_{model}_{hours}_r{self.replicate}_{digest}"
