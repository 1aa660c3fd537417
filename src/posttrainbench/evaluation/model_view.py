"""The model folder evaluation loads: the submission's weights with the base model's tokenizer.

A submission's tokenizer is code-like data: a ``normalizer`` with ``Replace`` rules can
rewrite every test question before the model sees it, and a changed chat template or
``generation_config.json`` steers decoding. So evaluation never reads them. It loads a
harness-built folder instead: links to the submission's ``config.json`` and safetensors
weights only (never its pickles or Python files: see :mod:`posttrainbench._model_files`),
plus the base model's tokenizer files. The rule for added tokens: when the submission
resized its embedding (its ``vocab_size`` differs from the base's), the submission's added
tokens that the base lacks are appended to the base tokenizer as plain added tokens (no
normalizer, no pre-tokenizer change), and only where they get the same id as in the
submission; otherwise the base tokenizer is used as is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrainbench._model_files import is_loaded_file

__all__ = ["TOKENIZER_FILES", "TokenizerUse", "build_model_view"]

TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.json",
        "vocab.txt",
        "merges.txt",
        "tokenizer.model",
        "spiece.model",
    }
)
"""Files that make a tokenizer: always taken from the base model."""
_NEVER_FROM_SUBMISSION = TOKENIZER_FILES | {
    "generation_config.json",
    "chat_template.jinja",
    "chat_template.json",
}


class TokenizerUse(BaseModel):
    """Which tokenizer the evaluation used (recorded in ``metrics.json``)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    """``base``, or ``base+added`` when the submission's added tokens were appended."""
    added_tokens: list[str] = []
    """Tokens appended from the submission (embedding resized)."""
    ignored_files: list[str] = []
    """Submission files evaluation did not read (its tokenizer, template, generation config)."""


def _vocab_size(model_dir: Path) -> int | None:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    size = config.get("vocab_size") or config.get("text_config", {}).get("vocab_size")
    return int(size) if isinstance(size, int) else None


def _submission_added_tokens(submission: Path) -> list[tuple[int, str]]:
    """``(id, content)`` of the added tokens in the submission's ``tokenizer.json``."""
    try:
        data = json.loads((submission / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    tokens = data.get("added_tokens") or []
    return sorted(
        (int(token["id"]), str(token["content"]))
        for token in tokens
        if isinstance(token, dict) and "id" in token and "content" in token
    )


def _append_added_tokens(view: Path, submission: Path) -> list[str]:
    """Append the submission's new added tokens to the base tokenizer in ``view``."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(view))
    vocab = tokenizer.get_vocab()
    appended: list[str] = []
    for token_id, content in _submission_added_tokens(submission):
        if content in vocab or token_id != len(tokenizer):
            continue  # known already, or it would get another id than in the submission
        tokenizer.add_tokens([content])
        appended.append(content)
    if appended:
        tokenizer.save_pretrained(str(view))
    return appended


def build_model_view(submission: Path, base: Path, view: Path) -> TokenizerUse:
    """Fill ``view`` (created afresh) with the submission's weights and the base tokenizer.

    Args:
        submission: The submitted model folder (read only).
        base: The base model folder: the tokenizer's source.
        view: The folder to build; evaluation loads it as the model.
    """
    if view.exists():
        shutil.rmtree(view)
    view.mkdir(parents=True)
    ignored = []
    for entry in sorted(submission.iterdir()):
        if entry.name in _NEVER_FROM_SUBMISSION or not is_loaded_file(entry.name):
            ignored.append(entry.name)  # its tokenizer, and anything a loader could run
            continue
        (view / entry.name).symlink_to(entry.resolve())
    for name in sorted(TOKENIZER_FILES):
        if (base / name).is_file():
            shutil.copyfile(base / name, view / name)
    added: list[str] = []
    resized = _vocab_size(submission) != _vocab_size(base)
    if resized:
        added = _append_added_tokens(view, submission)
    return TokenizerUse(
        source="base+added" if added else "base", added_tokens=added, ignored_files=ignored
    )
