"""PEFT LoRA adapter folders seen as merged checkpoints, merged block by block on the fly.

An adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``) stands for
``W + scale * B @ A`` on each targeted module of its base model. Rather than materialise
the merged model, :class:`MergedAdapter` reads each block of rows of ``W`` from the base
checkpoint and adds the matching rows of the low-rank update, so comparing an adapter
costs what comparing a full checkpoint costs, in the same bounded memory.

Supported: plain LoRA (``lora_A``/``lora_B``), LoRA on embeddings
(``lora_embedding_A``/``_B``), rsLoRA scaling, ``rank_pattern``/``alpha_pattern``,
``fan_in_fan_out``, full tensors saved by ``modules_to_save`` or
``save_embedding_layers``. Anything else (DoRA, other PEFT methods, LoRA biases) raises
:class:`CheckpointError`: an adapter that cannot be verified is reported, never guessed at.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench.audit._tensors import (
    CheckpointError,
    SafetensorsCheckpoint,
    TensorInfo,
    TensorSource,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "ADAPTER_CONFIG",
    "ADAPTER_WEIGHTS",
    "MergedAdapter",
    "is_adapter",
    "read_adapter_config",
]

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_PREFIX = "base_model.model."
_REGEX_CHARS = re.compile(r"[\\^$*+?{}\[\]|()]")
_LORA_KEY = re.compile(
    r"^(?P<module>.+)\.(?P<kind>lora_A|lora_B|lora_embedding_A|lora_embedding_B)"
    r"(?:\.default)?(?:\.weight)?$"
)


def is_adapter(directory: Path) -> bool:
    """Whether ``directory`` is a PEFT adapter folder rather than a full checkpoint."""
    return (directory / ADAPTER_CONFIG).is_file()


def read_adapter_config(directory: Path) -> dict[str, Any]:
    """The adapter's ``adapter_config.json`` as a dict."""
    path = directory / ADAPTER_CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not readable JSON ({error})") from error
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return config


@dataclass(frozen=True)
class _Update:
    """The low-rank update of one weight: ``scale * B @ A`` (transposed when ``transpose``)."""

    a_name: str
    b_name: str
    scale: float
    transpose: bool


class MergedAdapter(TensorSource):
    """An adapter folder merged onto ``base``, read lazily in blocks of rows."""

    def __init__(self, directory: Path, base: TensorSource) -> None:
        self.directory = directory
        self.config = read_adapter_config(directory)
        _check_supported(directory, self.config)
        weights = directory / ADAPTER_WEIGHTS
        self._adapter = SafetensorsCheckpoint(directory, files=[weights])
        self._base = base
        self._replaced: dict[str, str] = {}  # merged name -> adapter tensor holding it
        self._updates: dict[str, _Update] = {}  # merged name -> its low-rank update
        self._cached: tuple[str, torch.Tensor, torch.Tensor] | None = None
        self._index_adapter_tensors()
        names = set(base.names()) | set(self._replaced)
        self._names = sorted(names)

    def names(self) -> list[str]:
        """Names of the merged model's tensors, sorted."""
        return list(self._names)

    def info(self, name: str) -> TensorInfo:
        """The tensor that holds ``name`` before the update is added."""
        stored = self.resolve(name)
        if stored is None:
            raise KeyError(name)
        if stored in self._replaced:
            return self._adapter.info(self._replaced[stored])
        return self._base.info(stored)

    def read_rows(self, name: str, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` of the merged weight, flattened (float32 where updated)."""
        stored = self.resolve(name)
        if stored is None:
            raise KeyError(name)
        update = self._updates.get(stored)
        # Factors first: loading them reuses the adapter's read buffer, which the rows of a
        # replaced tensor may live in.
        factors = None if update is None else self._factors(update)
        if stored in self._replaced:
            rows = self._adapter.read_rows(self._replaced[stored], start, stop)
        else:
            rows = self._base.read_rows(stored, start, stop)
        if update is None or factors is None:
            return rows
        lora_a, lora_b = factors
        if update.transpose:
            delta = (lora_b @ lora_a[:, start:stop]).T
        else:
            delta = lora_b[start:stop] @ lora_a
        return rows.float() + update.scale * delta.reshape(-1)

    def close(self) -> None:
        """Close the adapter file (the base is closed by its owner)."""
        self._adapter.close()

    def _factors(self, update: _Update) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cached is None or self._cached[0] != update.a_name:
            lora_a = self._full(update.a_name)
            lora_b = self._full(update.b_name)
            self._cached = (update.a_name, lora_a, lora_b)
        return self._cached[1], self._cached[2]

    def _full(self, name: str) -> torch.Tensor:
        info = self._adapter.info(name)
        if len(info.shape) != 2:
            raise CheckpointError(f"{self.directory}: LoRA factor '{name}' is not a matrix")
        flat = self._adapter.read_rows(name, 0, info.shape[0]).float().clone()
        return flat.reshape(info.shape)

    def _index_adapter_tensors(self) -> None:
        factors: dict[str, dict[str, str]] = {}
        for key in self._adapter.names():
            name = key.removeprefix(_PREFIX)
            match = _LORA_KEY.match(name)
            if match:
                factors.setdefault(match["module"], {})[match["kind"]] = key
            elif "lora_" in name or "magnitude" in name:
                raise CheckpointError(f"{self.directory}: unsupported adapter tensor '{key}'")
            else:  # modules_to_save / save_embedding_layers: full tensors replacing the base's
                self._replaced[name.replace(".base_layer.", ".")] = key
        for module, kinds in factors.items():
            self._updates[f"{module}.weight"] = self._update(module, kinds)

    def _update(self, module: str, kinds: dict[str, str]) -> _Update:
        embedding = "lora_embedding_A" in kinds or "lora_embedding_B" in kinds
        a_kind, b_kind = (
            ("lora_embedding_A", "lora_embedding_B") if embedding else ("lora_A", "lora_B")
        )
        if set(kinds) != {a_kind, b_kind}:
            raise CheckpointError(f"{self.directory}: module '{module}' lacks a LoRA factor")
        a_name, b_name = kinds[a_kind], kinds[b_kind]
        a_shape, b_shape = self._adapter.info(a_name).shape, self._adapter.info(b_name).shape
        rank = a_shape[0] if a_shape else 0
        if len(a_shape) != 2 or len(b_shape) != 2 or b_shape[1] != rank or rank == 0:
            raise CheckpointError(f"{self.directory}: LoRA factors of '{module}' do not chain")
        transpose = embedding or bool(self.config.get("fan_in_fan_out"))
        target = f"{module}.weight"
        stored = self._replaced.get(target)
        shape = self._adapter.info(stored).shape if stored else _base_shape(self._base, target)
        expected = (a_shape[1], b_shape[0]) if transpose else (b_shape[0], a_shape[1])
        if shape != expected:
            raise CheckpointError(
                f"{self.directory}: LoRA update of '{module}' has shape {expected}, "
                f"the base weight {shape}"
            )
        return _Update(a_name, b_name, _scale(self.config, module, rank), transpose)


def _base_shape(base: TensorSource, name: str) -> tuple[int, ...] | None:
    stored = base.resolve(name)
    return None if stored is None else base.info(stored).shape


def _check_supported(directory: Path, config: dict[str, Any]) -> None:
    peft_type = config.get("peft_type")
    if peft_type != "LORA":
        raise CheckpointError(f"{directory}: PEFT type {peft_type!r} is not supported (LORA is)")
    if config.get("use_dora"):
        raise CheckpointError(f"{directory}: DoRA adapters are not supported")
    if config.get("lora_bias"):
        raise CheckpointError(f"{directory}: LoRA adapters with biases are not supported")
    if not (directory / ADAPTER_WEIGHTS).is_file():
        raise CheckpointError(f"{directory}: {ADAPTER_WEIGHTS} is missing")


def _scale(config: dict[str, Any], module: str, rank: int) -> float:
    """PEFT's scaling: alpha / r (alpha / sqrt(r) with rsLoRA), with per-module patterns."""
    alpha = _pattern_value(config.get("alpha_pattern") or {}, module)
    if alpha is None:
        alpha = config.get("lora_alpha", 8)
    if not isinstance(alpha, int | float) or isinstance(alpha, bool):
        raise CheckpointError(f"lora_alpha of '{module}' is not a number: {alpha!r}")
    divisor = math.sqrt(rank) if config.get("use_rslora") else rank
    return float(alpha) / divisor


def _pattern_value(patterns: dict[str, Any], module: str) -> Any:
    """The value of the pattern naming ``module`` (the module itself or a dotted suffix).

    PEFT also accepts regular expressions here; those are refused rather than run, since
    the config comes from the agent and a crafted pattern could stall the audit.
    """
    for pattern, value in patterns.items():
        if not isinstance(pattern, str) or _REGEX_CHARS.search(pattern):
            raise CheckpointError(f"rank/alpha pattern {pattern!r} is not a plain module name")
        if module == pattern or module.endswith(f".{pattern}"):
            return value
    return None
