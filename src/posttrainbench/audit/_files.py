"""Walking the workspace safely: no symlink is followed, every real file is seen once."""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from posttrainbench._safe_files import (
    Entry,
    UntrustedFileError,
    WalkBudget,
    open_beneath,
    open_dir,
    open_file,
)
from posttrainbench._safe_files import walk as safe_walk

__all__ = [
    "NOT_AGENT_CODE_DIRS",
    "WEIGHT_SUFFIXES",
    "WorkspaceFile",
    "file_hashes",
    "relative",
    "walk",
]

WEIGHT_SUFFIXES = frozenset(
    {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".msgpack", ".h5"}
)
"""Tensor files: never data-like, and too large to read for nothing."""
NOT_AGENT_CODE_DIRS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", "node_modules"})
"""Folders of installed packages and tool state: checks of the agent's *code* skip them
(a package's client code is not the agent's); content scans read them like any folder."""


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


def walk(
    root: Path,
    budget: WalkBudget | None = None,
    unread: list[tuple[Path, str]] | None = None,
    skip: frozenset[str] = frozenset(),
) -> Iterator[WorkspaceFile]:
    """Regular files under ``root``, with the in-tree links that name them.

    Every folder is entered unless named in ``skip`` (content scans skip none: ``.git``
    or ``node_modules`` hold what the agent put there like any other folder). Links are
    never followed (see ``posttrainbench._safe_files``): ``root`` itself being a link
    yields nothing, a link that leaves ``root`` is not read, one that stays inside only
    names its target.
    Raises ``UntrustedFileError`` beyond the walk bounds (file count, depth, path length,
    time), which the audit reports as the detector's error.

    Args:
        root: The folder to walk.
        budget: Bounds of the walk (defaults: ``WalkBudget()``).
        unread: When given, gets ``(path, why)`` for each entry that is
            not yielded: links leaving ``root`` (or dangling) and special files (FIFOs,
            sockets, devices), so a report can say what it did not read.
        skip: Folder names not entered.
    """
    try:
        root_fd = open_dir(root.parent, root.name)
    except (UntrustedFileError, FileNotFoundError, NotADirectoryError):
        return
    files: list[str] = []
    links: dict[str, str] = {}
    try:
        for entry in safe_walk(root_fd, budget, skip=skip):
            if entry.kind == "file":
                files.append(entry.relative)
            elif entry.kind == "link":
                links[entry.relative] = entry.link_target
            elif entry.kind == "special" and unread is not None:
                unread.append((root / entry.relative, "special file (FIFO, socket or device)"))
    finally:
        os.close(root_fd)
    aliases: dict[str, list[Path]] = {}
    known = set(files)
    for name, target in links.items():
        resolved = _lexical_target(root, name, target, links)
        if resolved in known:
            aliases.setdefault(resolved, []).append(root / name)
        elif unread is not None and not _is_dir_link(root, resolved):
            why = f"link to {target[:200]} (outside the folder or missing): not followed"
            unread.append((root / name, why))
    for name in files:
        yield WorkspaceFile(root / name, tuple(aliases.get(name, ())))


def _is_dir_link(root: Path, resolved: str | None) -> bool:
    """A link to a folder inside ``root`` (its files are walked under their own names)."""
    return (
        resolved is not None and (root / resolved).is_dir() and not (root / resolved).is_symlink()
    )


def _lexical_target(root: Path, name: str, target: str, links: dict[str, str]) -> str | None:
    """Where an in-tree link points, relative to ``root``, following in-tree links lexically."""
    for _ in range(8):
        base = posixpath.dirname(name)
        if target.startswith("/"):
            if not target.startswith(f"{root}/"):
                return None
            joined = target[len(str(root)) + 1 :]
        else:
            joined = posixpath.join(base, target)
        name = posixpath.normpath(joined)
        if name.startswith("..") or name.startswith("/"):
            return None
        if name not in links:
            return name
        target = links[name]
    return None


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside, else as it is."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def file_hashes(folder: Path, *, trusted: bool = False) -> dict[str, dict[str, object]]:
    """``{relative path: {"size", "sha256"}}``, the form prepare records (trial.manifest).

    An agent-written folder (``trusted=False``, e.g. ``task/``) is read without following
    any link: a link is listed with ``"sha256": "link"`` and ``folder`` itself being a link
    reads as empty. A harness-given folder (``trusted=True``: the base model, whose HF
    snapshot links into ``blobs/``) has its links resolved within ``folder`` (or the HF
    repo folder above a snapshot); one leaving it is listed as ``"link outside"``.
    """
    if not trusted:
        return _untrusted_hashes(folder)
    root = folder.resolve()
    allowed = root.parent.parent if root.parent.name == "snapshots" else root
    entries: dict[str, dict[str, object]] = {}
    files: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        target = path.resolve()
        relative_name = path.relative_to(folder).as_posix()
        if path.is_symlink() and not target.is_relative_to(allowed):
            entries[relative_name] = {"size": 0, "sha256": "link outside"}
        elif target.is_file():
            files[relative_name] = target
    # Weight shards are GBs each: hashing them on several threads (hashlib releases the
    # GIL) divides the integrity check's time by the cores free.
    with ThreadPoolExecutor(max(1, min(4, len(files)))) as pool:
        digests = dict(zip(files, pool.map(_sha256, files.values()), strict=True))
    for relative_name, target in files.items():
        entries[relative_name] = {"size": target.stat().st_size, "sha256": digests[relative_name]}
    return dict(sorted(entries.items()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _untrusted_hashes(folder: Path) -> dict[str, dict[str, object]]:
    try:
        folder_fd = open_dir(folder.parent, folder.name)
    except (UntrustedFileError, FileNotFoundError, NotADirectoryError):
        return {}
    entries: dict[str, dict[str, object]] = {}
    try:
        for entry in safe_walk(folder_fd):
            if entry.kind == "link":
                entries[entry.relative] = {"size": 0, "sha256": "link"}
            elif entry.kind == "special":
                entries[entry.relative] = {"size": 0, "sha256": "special file"}
            elif entry.kind == "file":
                entries[entry.relative] = {"size": entry.size, "sha256": _hash_at(folder_fd, entry)}
    finally:
        os.close(folder_fd)
    return entries


def _hash_at(folder_fd: int, entry: Entry) -> str:
    parent, _, name = entry.relative.rpartition("/")
    dir_fd = open_beneath(folder_fd, parent)
    try:
        fd = open_file(dir_fd, name, entry.relative)
    finally:
        os.close(dir_fd)
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
