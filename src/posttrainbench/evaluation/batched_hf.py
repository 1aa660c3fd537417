"""inspect model API ``ptb-hf``: the ``hf`` provider with all requests decoded together.

inspect's own ``hf`` provider hands ``model.generate`` one small batch at a time and seeds
the process, not the request. This API keeps inspect's model loading, chat templating
and tokenization (it subclasses ``HuggingFaceAPI``) but queues every request of an
evaluation and decodes them in one pass of
:func:`~posttrainbench.evaluation._batched_decode.decode_all`: length-bucketed large
batches, a static KV cache, a compiled decode step on CUDA, and each request sampled with
its own seed (``GenerateConfig.seed``, set per sample by the paper protocol).

Requests are collected until none has arrived for :data:`QUIET_S` seconds, then decoded in
a worker thread; requests arriving meanwhile form the next pass. The evaluation engine
lets all samples run at once (``max_connections``), so one pass holds them all.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.model._providers.hf import HuggingFaceAPI
from inspect_ai.tool import ToolChoice, ToolInfo

from posttrainbench.evaluation._batched_decode import DecodeSettings, Request, decode_all
from posttrainbench.evaluation._sampling import SamplingParams
from posttrainbench.evaluation.progress import PROGRESS_LABEL
from posttrainbench.progress import progress_line

__all__ = ["API_NAME", "QUIET_S", "BatchedHFAPI"]

API_NAME = "ptb-hf"
QUIET_S = 0.5
"""Seconds without a new request after which the queued requests are decoded."""


class BatchedHFAPI(HuggingFaceAPI):
    """``HuggingFaceAPI`` whose requests are decoded together, each with its own seed.

    Model arguments beyond the ``hf`` provider's: ``stop_ids`` (token ids ending a turn),
    ``sampling`` (:class:`SamplingParams`), ``decode_batch_size`` and ``max_new_tokens``.
    """

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect's signature)
        **model_args: Any,
    ) -> None:
        self.stop_ids: list[int] = list(model_args.pop("stop_ids"))
        self.settings = DecodeSettings(
            batch_size=int(model_args.pop("decode_batch_size", 256)),
            sampling=model_args.pop("sampling", SamplingParams()),
        )
        self.default_max_tokens = int(model_args.pop("max_new_tokens", 512))
        super().__init__(model_name, base_url, api_key, config, **model_args)
        self._queue: list[tuple[Request, asyncio.Future[list[int]]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        """Queue the request; its tokens come back when its pass is decoded."""
        if tools:  # tool calls: inspect's own path
            return await super().generate(input, tools, tool_choice, config)
        chat = self.hf_chat(input, tools)
        call_args = {k: v for k, v in (self.tokenizer_call_args or {}).items() if "pad" not in k}
        prompt = list(self.tokenizer(chat, **call_args)["input_ids"])
        limit = config.max_tokens or self.default_max_tokens
        request = Request(prompt, int(config.seed or 0), limit)
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        tokens = await future
        ended = bool(tokens) and tokens[-1] in self.stop_ids
        text = self.tokenizer.decode(
            tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        output = ModelOutput.from_content(
            self.model_name, text, stop_reason="stop" if ended else "max_tokens"
        )
        output.usage = ModelUsage(
            input_tokens=len(prompt),
            output_tokens=len(tokens),
            total_tokens=len(prompt) + len(tokens),
        )
        return output

    async def _drain(self) -> None:
        """Decode queued requests, pass after pass, each once the queue is quiet."""
        while self._queue:
            seen = -1
            while seen != len(self._queue):
                seen = len(self._queue)
                await asyncio.sleep(QUIET_S)
            batch, self._queue = self._queue, []
            try:
                outputs = await asyncio.to_thread(self._decode, [r for r, _ in batch])
            except Exception as error:
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), tokens in zip(batch, outputs, strict=True):
                future.set_result(tokens)

    def _decode(self, requests: list[Request]) -> list[list[int]]:
        start = time.monotonic()

        def progress(done: int, total: int) -> None:
            elapsed = time.monotonic() - start
            rate = done / elapsed if done and elapsed > 0 else None
            print(progress_line(PROGRESS_LABEL, done, total, "samples", rate), flush=True)

        pad = self.tokenizer.pad_token_id
        return decode_all(
            self.model,
            requests,
            self.settings,
            pad_id=int(pad if pad is not None else self.stop_ids[-1]),
            stop_ids=self.stop_ids,
            progress=progress,
        )

    def max_connections(self) -> int:
        """Requests in flight: all of them (decoding batches them itself)."""
        return 100_000


@modelapi(name=API_NAME)
def batched_hf() -> type[BatchedHFAPI]:
    """Register :class:`BatchedHFAPI` with inspect."""
    return BatchedHFAPI
