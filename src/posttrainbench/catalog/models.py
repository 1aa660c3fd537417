"""Base models: the published catalog, model families, and resolving what the user named."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from posttrainbench.errors import UserError

__all__ = [
    "CATALOG",
    "BaseModelEntry",
    "ModelFamily",
    "ResolvedModel",
    "family_of",
    "resolve_model",
]


class ModelFamily(StrEnum):
    """Families whose chat template the harness owns."""

    QWEN3 = "qwen3"
    GEMMA3 = "gemma3"
    SMOLLM3 = "smollm3"


# Chosen from config.json's architecture, never from a substring of the path: an agent
# that renames a folder must not change which template scores its model.
_FAMILY_BY_ARCHITECTURE = {
    "Qwen3ForCausalLM": ModelFamily.QWEN3,
    "Gemma3ForCausalLM": ModelFamily.GEMMA3,
    "Gemma3ForConditionalGeneration": ModelFamily.GEMMA3,
    "SmolLM3ForCausalLM": ModelFamily.SMOLLM3,
}


@dataclass(frozen=True)
class BaseModelEntry:
    """A base model of the published benchmark and its instruct counterpart."""

    hf_id: str
    family: ModelFamily
    instruct_id: str


CATALOG: dict[str, BaseModelEntry] = {
    entry.hf_id: entry
    for entry in (
        BaseModelEntry("Qwen/Qwen3-1.7B-Base", ModelFamily.QWEN3, "Qwen/Qwen3-1.7B"),
        BaseModelEntry("Qwen/Qwen3-4B-Base", ModelFamily.QWEN3, "Qwen/Qwen3-4B"),
        BaseModelEntry(
            "HuggingFaceTB/SmolLM3-3B-Base", ModelFamily.SMOLLM3, "HuggingFaceTB/SmolLM3-3B"
        ),
        BaseModelEntry("google/gemma-3-4b-pt", ModelFamily.GEMMA3, "google/gemma-3-4b-it"),
    )
}


@dataclass(frozen=True)
class ResolvedModel:
    """A base model located on disk."""

    name: str
    """What the user asked for: an HF id or a local path."""
    path: Path
    """Directory holding config.json, weights and tokenizer."""
    family: ModelFamily
    hf_id: str | None
    """Hugging Face id when the model came from the hub cache."""

    @property
    def slug(self) -> str:
        """Short filesystem-safe name used in trial ids."""
        base = self.hf_id or self.path.name
        return base.split("/")[-1].lower().replace("_", "-")


def family_of(model_dir: Path) -> ModelFamily:
    """The family of a model directory, from the architecture in its config.json."""
    config_path = model_dir / "config.json"
    if model_dir.is_dir() and not config_path.exists():
        raise UserError(
            f"{model_dir} is not a model folder: it has no config.json. Give a Hugging Face "
            "model directory (config.json, weights, tokenizer) or a hub id such as "
            "Qwen/Qwen3-1.7B-Base."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{config_path} is missing or not valid JSON: {error}") from error
    for architecture in config.get("architectures") or []:
        if architecture in _FAMILY_BY_ARCHITECTURE:
            return _FAMILY_BY_ARCHITECTURE[architecture]
    known = ", ".join(sorted(_FAMILY_BY_ARCHITECTURE))
    raise UserError(
        f"{model_dir}: architecture {config.get('architectures')} has no harness chat "
        f"template. Supported architectures: {known}."
    )


def _hub_snapshot(hf_id: str) -> Path:
    """The cached snapshot of ``hf_id`` at its pinned (or cached) revision, offline-safe."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "") in {"1", "true", "True"}
    try:
        return Path(snapshot_download(hf_id, local_files_only=offline))
    except LocalEntryNotFoundError as error:
        raise UserError(
            f"Model '{hf_id}' is not in the Hugging Face cache and the hub is offline. "
            f"Download it first on a connected machine (huggingface-cli download {hf_id}) "
            "or pass a local model directory."
        ) from error
    except Exception as error:
        raise UserError(f"Cannot fetch model '{hf_id}' from the hub: {error}") from error


def resolve_model(name: str) -> ResolvedModel:
    """Locate a base model given as a local directory or a Hugging Face id."""
    local = Path(name).expanduser()
    if local.is_dir():
        path = local.resolve()
        return ResolvedModel(name=str(path), path=path, family=family_of(path), hf_id=None)
    if name.startswith((".", "/", "~")):
        raise UserError(f"Model directory '{name}' does not exist.")
    if name.count("/") != 1:
        raise UserError(
            f"'{name}' is neither a local model directory nor a Hugging Face id "
            f"(owner/name). Published base models: {', '.join(CATALOG)}."
        )
    path = _hub_snapshot(name)
    return ResolvedModel(name=name, path=path, family=family_of(path), hf_id=name)
