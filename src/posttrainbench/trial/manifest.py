"""File manifests: what a folder holds, by relative path, size and SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["UnsafeLinkError", "fingerprint", "manifest", "sha256_file"]


class UnsafeLinkError(Exception):
    """A symbolic link points outside the folder being described."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (bounded memory for multi-GB weights)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def manifest(folder: Path) -> dict[str, dict[str, object]]:
    """``{relative path: {"size", "sha256"}}`` for every file under ``folder``.

    Links may point anywhere inside ``folder`` (HF snapshots link into blobs/), but a link
    that leaves it raises :class:`UnsafeLinkError`: the harness reads submissions outside
    the sandbox and must not be steered into reading host files.
    """
    root = folder.resolve()
    entries: dict[str, dict[str, object]] = {}
    for path in sorted(folder.rglob("*")):
        target = path.resolve()
        if path.is_symlink() and not target.is_relative_to(_allowed_root(folder, root)):
            raise UnsafeLinkError(f"{path} links outside {folder} (to {target})")
        if target.is_file():
            relative = path.relative_to(folder).as_posix()
            entries[relative] = {"size": target.stat().st_size, "sha256": sha256_file(target)}
    return entries


def _allowed_root(folder: Path, root: Path) -> Path:
    # A Hugging Face snapshot folder links to ../../blobs: allow the repo folder above it.
    if root.parent.name == "snapshots":
        return root.parent.parent
    return root


def fingerprint(folder: Path) -> str:
    """One hash standing for the whole content of ``folder``."""
    encoded = json.dumps(manifest(folder), sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()
