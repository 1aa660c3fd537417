"""The LLM judge of judge-scored benchmarks, through any OpenAI-compatible endpoint.

Settings come from the harness's environment (never from the agent's): ``PTB_JUDGE_MODEL``
(default ``gpt-5-mini``, as published), ``PTB_JUDGE_BASE_URL`` (default: OpenAI),
``PTB_JUDGE_API_KEY`` or else ``OPENAI_API_KEY``, ``PTB_JUDGE_CONCURRENCY``,
``PTB_JUDGE_MAX_ATTEMPTS``, ``PTB_JUDGE_BACKOFF_S`` and ``PTB_JUDGE_REASONING_EFFORT``
(empty: not sent). A missing key is a :class:`~posttrainbench.errors.UserError` raised
before any model is evaluated.

Every failed call (connection, timeout, 429, 5xx, or a reply the benchmark cannot parse)
is retried with exponential backoff; after the last attempt :class:`JudgeError` is raised,
so the evaluation fails with the reason instead of counting the item as a win or a loss.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["JUDGE_KEY_VARS", "JudgeError", "JudgeSettings", "OpenAIJudge", "judge_api_key"]

JUDGE_KEY_VARS = ("PTB_JUDGE_API_KEY", "OPENAI_API_KEY")
"""Environment variables holding the judge's API key, in order of preference."""

_T = TypeVar("_T")


class JudgeError(Exception):
    """The judge gave no usable answer after every retry (or refused the credentials)."""


class JudgeSettings(BaseModel):
    """How to reach the judge and how hard to try; recorded with the metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "gpt-5-mini"
    """Judge model name as the endpoint knows it."""
    base_url: str | None = None
    """OpenAI-compatible base URL (``.../v1``); None means OpenAI's."""
    reasoning_effort: str | None = "medium"
    """Sent as ``reasoning_effort`` when set (the paper used medium)."""
    concurrency: int = Field(default=16, ge=1)
    """Judge calls in flight at once."""
    max_attempts: int = Field(default=5, ge=1)
    """Attempts per judge call, the first included."""
    backoff_s: float = Field(default=2.0, ge=0)
    """Wait before the first retry; doubles each retry, capped at ``max_backoff_s``."""
    max_backoff_s: float = Field(default=60.0, ge=0)
    timeout_s: float = Field(default=600.0, gt=0)
    """Timeout of one HTTP request."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JudgeSettings:
        """Settings from ``PTB_JUDGE_*`` variables, defaults for those unset."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field, var in (
            ("model", "PTB_JUDGE_MODEL"),
            ("base_url", "PTB_JUDGE_BASE_URL"),
            ("concurrency", "PTB_JUDGE_CONCURRENCY"),
            ("max_attempts", "PTB_JUDGE_MAX_ATTEMPTS"),
            ("backoff_s", "PTB_JUDGE_BACKOFF_S"),
            ("timeout_s", "PTB_JUDGE_TIMEOUT_S"),
        ):
            if env.get(var):
                values[field] = env[var]
        if "PTB_JUDGE_REASONING_EFFORT" in env:
            values["reasoning_effort"] = env["PTB_JUDGE_REASONING_EFFORT"] or None
        try:
            return cls.model_validate(values)
        except ValueError as error:
            raise UserError(f"Invalid PTB_JUDGE_* setting: {error}") from error


def judge_api_key(env: Mapping[str, str] | None = None) -> str:
    """The judge's API key from the harness environment; a clear error when absent."""
    env = os.environ if env is None else env
    for var in JUDGE_KEY_VARS:
        if env.get(var):
            return env[var]
    raise UserError(
        "This benchmark is scored by an LLM judge, but no judge API key is set. Export "
        f"{' or '.join(JUDGE_KEY_VARS)} (and PTB_JUDGE_BASE_URL for an endpoint other than "
        "OpenAI's) before evaluating."
    )


class OpenAIJudge:
    """A :class:`~posttrainbench.benchmarks.Judge` over the OpenAI chat completions API.

    Args:
        settings: Endpoint, model, concurrency and retry policy.
        api_key: The judge's key (see :func:`judge_api_key`).
        sleep: Awaitable used for backoff waits (tests may pass a no-op).
    """

    def __init__(
        self,
        settings: JudgeSettings,
        api_key: str,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._api_key = api_key
        self._sleep = sleep
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self._tls: ssl.SSLContext | None = None
        self.calls = 0
        """HTTP calls made, retries included."""
        self.retries = 0
        """Calls that failed and were retried."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenAIJudge:
        """A judge configured from the harness environment (raises when the key is missing)."""
        return cls(JudgeSettings.from_env(env), judge_api_key(env))

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import certifi

            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls

    def _semaphore(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; inspect runs one loop per evaluation.
        loop = id(asyncio.get_running_loop())
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self.settings.concurrency)
        return self._semaphores[loop]

    async def _call(self, client: AsyncOpenAI, messages: list[dict[str, str]]) -> str:
        request: dict[str, Any] = {"model": self.settings.model, "messages": messages}
        if self.settings.reasoning_effort:
            request["reasoning_effort"] = self.settings.reasoning_effort
        async with self._semaphore():
            self.calls += 1
            completion = await client.chat.completions.create(**request)
        content = completion.choices[0].message.content if completion.choices else None
        if not content:
            raise ValueError("the judge returned an empty reply")
        return str(content)

    async def ask(self, messages: list[dict[str, str]], parse: Callable[[str], _T]) -> _T:
        """Send ``messages``; return ``parse(reply)``, retrying failures with backoff.

        Raises:
            JudgeError: Every attempt failed, or the endpoint refused the key or model.
        """
        import openai

        fatal = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
        last: Exception | None = None
        # One client per question, closed on the loop that opened it (a client kept across
        # inspect's event loops would be closed on a dead loop).
        async with openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.settings.base_url,
            timeout=self.settings.timeout_s,
            max_retries=0,  # retries are ours, so that unparseable replies retry too
            # Building a TLS context costs ~0.1 s of CPU: build it once, not per client.
            http_client=openai.DefaultAsyncHttpxClient(verify=self._tls_context()),
        ) as client:
            for attempt in range(self.settings.max_attempts):
                if attempt:
                    self.retries += 1
                    delay = self.settings.backoff_s * 2 ** (attempt - 1)
                    await self._sleep(min(delay, self.settings.max_backoff_s))
                try:
                    return parse(await self._call(client, messages))
                except fatal as error:
                    raise JudgeError(
                        f"judge {self.settings.model} refused the request: {error}"
                    ) from error
                except (openai.OpenAIError, ValueError) as error:
                    last = error
        raise JudgeError(
            f"judge {self.settings.model} failed {self.settings.max_attempts} times; "
            f"last error: {type(last).__name__}: {last}"
        ) from last
