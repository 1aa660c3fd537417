"""How the harness reaches its LLM judge: one settings model, parsed in one place.

The experiment file's ``[judge]`` section is a :class:`JudgeSettings`; the executor hands it
to the trials' harness processes (never to agents) as ``PTB_JUDGE_*`` variables
(:meth:`JudgeSettings.to_env`), and every judge user — judge-scored benchmarks and the
audit's ``llm_judge`` detector — reads it back with :meth:`JudgeSettings.from_env`:
``PTB_JUDGE_MODEL`` (default ``gpt-5-mini``, as published), ``PTB_JUDGE_BASE_URL``
(default: OpenAI), ``PTB_JUDGE_API_KEY`` or else ``OPENAI_API_KEY``,
``PTB_JUDGE_CONCURRENCY``, ``PTB_JUDGE_MAX_ATTEMPTS``, ``PTB_JUDGE_BACKOFF_S``,
``PTB_JUDGE_TIMEOUT_S`` and ``PTB_JUDGE_REASONING_EFFORT`` (empty: not sent).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from posttrainbench.errors import UserError

__all__ = ["JUDGE_KEY_VARS", "JudgeError", "JudgeSettings"]

JUDGE_KEY_VARS = ("PTB_JUDGE_API_KEY", "OPENAI_API_KEY")
"""Environment variables holding the judge's API key, in order of preference."""

_ENV_FIELDS = {
    "model": "PTB_JUDGE_MODEL",
    "base_url": "PTB_JUDGE_BASE_URL",
    "concurrency": "PTB_JUDGE_CONCURRENCY",
    "max_attempts": "PTB_JUDGE_MAX_ATTEMPTS",
    "backoff_s": "PTB_JUDGE_BACKOFF_S",
    "timeout_s": "PTB_JUDGE_TIMEOUT_S",
}
_EFFORT_VAR = "PTB_JUDGE_REASONING_EFFORT"


class JudgeError(Exception):
    """The judge gave no usable answer after every retry (or refused the credentials)."""


class JudgeSettings(BaseModel):
    """The OpenAI-compatible judge endpoint and how hard to try; recorded with the metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default="gpt-5-mini", min_length=1)
    """Judge model name as the endpoint knows it."""
    base_url: str | None = None
    """OpenAI-compatible base URL (``.../v1``); None means OpenAI's."""
    api_key_env: str | None = None
    """Host variable holding the judge's key (default: PTB_JUDGE_API_KEY, then
    OPENAI_API_KEY); its value is handed to the harness, never to the agent."""
    reasoning_effort: str | None = "medium"
    """Sent as ``reasoning_effort`` when set (the paper used medium)."""
    concurrency: int = Field(default=16, ge=1)
    """Judge calls in flight at once."""
    max_attempts: int = Field(default=5, ge=1)
    """Attempts per judge call, the first included."""
    backoff_s: float = Field(default=2.0, ge=0)
    """Wait before the first retry; doubles each retry, capped at ``max_backoff_s``."""
    max_backoff_s: float = Field(default=60.0, ge=0)
    """Longest wait between two attempts."""
    timeout_s: float = Field(default=600.0, gt=0)
    """Timeout of one HTTP request."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JudgeSettings:
        """Settings from ``PTB_JUDGE_*`` variables, defaults for those unset.

        Raises:
            UserError: A variable holds a value the settings reject.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            field: env[var] for field, var in _ENV_FIELDS.items() if env.get(var)
        }
        if _EFFORT_VAR in env:
            values["reasoning_effort"] = env[_EFFORT_VAR] or None
        try:
            return cls.model_validate(values)
        except ValueError as error:
            raise UserError(f"Invalid PTB_JUDGE_* setting: {error}") from error

    def to_env(self, host: Mapping[str, str]) -> dict[str, str]:
        """The ``PTB_JUDGE_*`` variables that :meth:`from_env` reads back as these settings.

        Raises:
            UserError: ``api_key_env`` names a variable that is not set on the host.
        """
        env = {
            var: str(getattr(self, field))
            for field, var in _ENV_FIELDS.items()
            if getattr(self, field) is not None
        }
        env[_EFFORT_VAR] = self.reasoning_effort or ""
        if self.api_key_env:
            if not host.get(self.api_key_env):
                raise UserError(
                    f"[judge] api_key_env names {self.api_key_env}, which is not set: set it "
                    "before running the experiment."
                )
            env["PTB_JUDGE_API_KEY"] = host[self.api_key_env]
        return env

    def api_key(self, env: Mapping[str, str] | None = None, *, required: bool = True) -> str:
        """The judge's key from the harness environment.

        Args:
            env: The environment to read (default: this process's).
            required: Raise when no key is set; otherwise return ``"none"`` (local servers).

        Raises:
            UserError: No key is set and one is required.
        """
        env = os.environ if env is None else env
        names = (self.api_key_env, *JUDGE_KEY_VARS) if self.api_key_env else JUDGE_KEY_VARS
        for var in names:
            if env.get(var):
                return env[var]
        if not required:
            return "none"
        raise UserError(
            "This needs the LLM judge, but no judge API key is set. Export "
            f"{' or '.join(names)} (and PTB_JUDGE_BASE_URL for an endpoint other than "
            "OpenAI's) before evaluating."
        )
