"""The one LLM-judge client: judge-scored benchmarks and the audit's judge both use it.

Every failed call (connection, timeout, 429, 5xx, or a reply the benchmark cannot parse)
is retried with exponential backoff; after the last attempt :class:`JudgeError` is raised,
so the evaluation fails with the reason instead of counting the item as a win or a loss.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from posttrainbench.judge.settings import JudgeError, JudgeSettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["OpenAIJudge"]

_T = TypeVar("_T")


class OpenAIJudge:
    """A :class:`~posttrainbench.benchmarks.Judge` over the OpenAI chat completions API.

    Args:
        settings: Endpoint, model, concurrency and retry policy.
        api_key: The judge's key (see :meth:`JudgeSettings.api_key`).
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
        settings = JudgeSettings.from_env(env)
        return cls(settings, settings.api_key(env))

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

    def ask_all(
        self, conversations: Sequence[list[dict[str, str]]], parse: Callable[[str], _T]
    ) -> list[_T | JudgeError]:
        """Ask every conversation at once (up to ``concurrency`` in flight), from sync code.

        Each entry is the parsed reply, or the :class:`JudgeError` of a call that failed.
        """

        async def one(messages: list[dict[str, str]]) -> _T | JudgeError:
            try:
                return await self.ask(messages, parse)
            except JudgeError as error:
                return error

        async def every() -> list[_T | JudgeError]:
            return list(await asyncio.gather(*(one(m) for m in conversations)))

        return asyncio.run(every())
