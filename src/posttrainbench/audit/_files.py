"""Walking the workspace safely: no symlink is followed, every real file is seen once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WEIGHT_SUFFIXES", "WorkspaceFile", "file_hashes", "relative", "walk"]

WEIGHT_SUFFIXES = frozenset(
    {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".msgpack", ".h5"}
)
"""Tensor files: never data-like, and too large to read for nothing."""
_SKIPPED_DIRS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", "node_modules"})


@dataclass(frozen=True)
class WorkspaceFile:
    """A regular file of the workspace and the names that link to it."""

    path: Path
    aliases: tuple[Path, ...] = ()
    """Symlinks inside the workspace that point here (HF snapshot names of cache blobs)."""

    @property
    def names(self) -> tuple[Path, ...]:
        """Every path under which the agent saw this file, the file itself first."""
        return (self.path, *self.aliases)


def walk(root: Path) -> Iterator[WorkspaceFile]:
    """Regular files under ``root``, with the in-tree links that name them.

    Links are never followed: one that leaves ``root`` is ignored (the harness must not be
    steered into reading host files), one that stays inside only names its target.
    """
    if not root.is_dir():
        return
    real_root = root.resolve()
    files: list[Path] = []
    aliases: dict[Path, list[Path]] = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(name for name in dirnames if name not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(directory) / name
            if path.is_symlink():
                target = path.resolve()
                if target.is_relative_to(real_root) and target.is_file():
                    aliases.setdefault(target, []).append(path)
            elif path.is_file():
                files.append(path)
    for path in files:
        yield WorkspaceFile(path, tuple(aliases.get(path.resolve(), ())))


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside, else as it is."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def file_hashes(folder: Path) -> dict[str, dict[str, object]]:
    """``{relative path: {"size", "sha256"}}``, the form prepare records (trial.manifest).

    Links are resolved only within ``folder`` (or the HF repo folder above a snapshot);
    a link leaving it is listed with ``"sha256": "link outside"`` instead of being read.
    """
    root = folder.resolve()
    allowed = root.parent.parent if root.parent.name == "snapshots" else root
    entries: dict[str, dict[str, object]] = {}
    for path in sorted(folder.rglob("*")):
        target = path.resolve()
        relative_name = path.relative_to(folder).as_posix()
        if path.is_symlink() and not target.is_relative_to(allowed):
            entries[relative_name] = {"size": 0, "sha256": "link outside"}
        elif target.is_file():
            digest = hashlib.sha256()
            with target.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
            entries[relative_name] = {"size": target.stat().st_size, "sha256": digest.hexdigest()}
    return entries
