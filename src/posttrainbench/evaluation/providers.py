"""Which backend generates the model's answers.

``hf`` runs the model in process (CPU or GPU), ``vllm`` starts a managed ``vllm serve``,
``openai`` uses an existing OpenAI-compatible endpoint.

``auto`` (the default) picks ``vllm`` when the package is importable and a GPU is present,
else ``hf``. The option of ``ptb eval`` or ``PTB_EVAL_PROVIDER`` overrides it; the
``openai`` provider reads ``PTB_EVAL_BASE_URL``, ``PTB_EVAL_MODEL`` and
``PTB_EVAL_API_KEY`` unless an :class:`Endpoint` is passed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from posttrainbench.errors import UserError

__all__ = ["Endpoint", "Provider", "gpu_available", "select_provider"]


class Provider(StrEnum):
    """Generation backends."""

    AUTO = "auto"
    HF = "hf"
    VLLM = "vllm"
    OPENAI = "openai"


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible server that already serves the model under evaluation."""

    base_url: str
    """``http://host:port/v1``."""
    model: str
    """Model name the server expects in requests."""
    api_key: str = "none"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Endpoint:
        """The endpoint named by ``PTB_EVAL_BASE_URL`` / ``PTB_EVAL_MODEL`` / ``_API_KEY``."""
        env = os.environ if env is None else env
        base_url, model = env.get("PTB_EVAL_BASE_URL"), env.get("PTB_EVAL_MODEL")
        if not base_url or not model:
            raise UserError(
                "The 'openai' evaluation provider needs an endpoint: set PTB_EVAL_BASE_URL "
                "(e.g. http://127.0.0.1:8000/v1) and PTB_EVAL_MODEL (its served model name)."
            )
        return cls(base_url=base_url, model=model, api_key=env.get("PTB_EVAL_API_KEY") or "none")


def gpu_available() -> bool:
    """True when torch sees a CUDA device."""
    import torch

    return bool(torch.cuda.is_available())


def select_provider(requested: str | None = None, env: Mapping[str, str] | None = None) -> Provider:
    """The provider to use: ``requested``, else ``PTB_EVAL_PROVIDER``, else automatic."""
    env = os.environ if env is None else env
    name = requested or env.get("PTB_EVAL_PROVIDER") or Provider.AUTO.value
    try:
        provider = Provider(name)
    except ValueError:
        choices = ", ".join(p.value for p in Provider)
        raise UserError(
            f"Unknown evaluation provider '{name}'. Choose one of: {choices}."
        ) from None
    if provider is not Provider.AUTO:
        return provider
    if importlib.util.find_spec("vllm") is not None and gpu_available():
        return Provider.VLLM
    return Provider.HF
