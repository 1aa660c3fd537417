"""Reading files an agent wrote: no link followed, no special file opened, every cost bounded.

Everything under a trial's ``workspace/`` is written by an adversary. The harness reads it
(to snapshot the submission, to audit the run) only through these primitives:

* directories and files are opened one path component at a time, each relative to its
  parent's descriptor with ``O_NOFOLLOW``, starting from a folder the harness trusts, so a
  component replaced by a link (``workspace/task -> /etc``) is refused, never followed;
* a file is opened with ``O_NONBLOCK`` and accepted only if ``fstat`` says it is a regular
  file (a FIFO can neither block the open nor a read);
* walks never follow links, keep at most ``max_depth`` descriptors open, and stop with
  :class:`UntrustedFileError` beyond the bounds of :class:`FileBounds` (file count, depth,
  path length, time), instead of hanging, crashing or running for hours.

The bounds live in one place, :class:`FileBounds`, and are read from ``PTB_*`` variables
by :meth:`FileBounds.from_env`.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "Entry",
    "FileBounds",
    "UntrustedFileError",
    "WalkBudget",
    "open_beneath",
    "open_dir",
    "open_file",
    "read_bounded",
    "walk",
]

_GIB = 1 << 30
_MIB = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UntrustedFileError(Exception):
    """Agent-written files the harness refuses to read: the message says which and why."""


@dataclass(frozen=True)
class FileBounds:
    """Every limit on what the harness reads or keeps of agent-written files."""

    max_files: int = 100_000
    """Entries (files, folders, links) one walk visits before it gives up."""
    max_depth: int = 64
    """Folder nesting one walk descends into."""
    max_path_chars: int = 1024
    """Length of a path relative to the walked folder (a 4,096-char chain is refused)."""
    max_seconds: float = 600.0
    """Wall time of one walk (or of one snapshot: walk and copy)."""
    max_read_bytes: int = 64 * _MIB
    """Bytes :func:`read_bounded` returns of one small file (configs, JSON)."""
    max_submission_bytes: int = 64 * _GIB
    """Apparent size of final_model; a larger one (a sparse 1 TB file) is rejected, not copied.
    ``PTB_MAX_SUBMISSION_GB``."""
    max_output_line_chars: int = 1 * _MIB
    """Characters of one agent output line kept in ``agent/raw.jsonl`` (the rest is cut)."""
    max_output_bytes: int = 1 * _GIB
    """Bytes of agent output kept in ``agent/raw.jsonl`` per trial; later lines are dropped
    and the cut recorded. ``PTB_MAX_AGENT_OUTPUT_MB``."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FileBounds:
        """The defaults, with ``PTB_MAX_SUBMISSION_GB`` / ``PTB_MAX_AGENT_OUTPUT_MB`` applied."""
        env = os.environ if env is None else env
        bounds = cls()
        if env.get("PTB_MAX_SUBMISSION_GB"):
            gigabytes = _positive(env, "PTB_MAX_SUBMISSION_GB")
            bounds = _replace(bounds, max_submission_bytes=int(gigabytes * _GIB))
        if env.get("PTB_MAX_AGENT_OUTPUT_MB"):
            megabytes = _positive(env, "PTB_MAX_AGENT_OUTPUT_MB")
            bounds = _replace(bounds, max_output_bytes=int(megabytes * _MIB))
        return bounds


def _positive(env: Mapping[str, str], name: str) -> float:
    from posttrainbench.errors import UserError

    try:
        value = float(env[name])
    except ValueError:
        value = -1.0
    if value <= 0:
        raise UserError(f"{name} must be a positive number, not '{env[name]}'.")
    return value


def _replace(bounds: FileBounds, **changes: int) -> FileBounds:
    from dataclasses import replace

    return replace(bounds, **changes)


@dataclass
class WalkBudget:
    """What one walk (or several sharing it) may still spend: entries and time."""

    bounds: FileBounds = field(default_factory=FileBounds)
    entries: int = 0
    started: float = field(default_factory=time.monotonic)

    def spend(self, where: str) -> None:
        """Count one entry; raise when the count or the time is over."""
        self.entries += 1
        if self.entries > self.bounds.max_files:
            raise UntrustedFileError(f"more than {self.bounds.max_files} files (at {where})")
        if time.monotonic() - self.started > self.bounds.max_seconds:
            raise UntrustedFileError(
                f"reading took longer than {self.bounds.max_seconds:.0f} s (at {where})"
            )


Kind = Literal["file", "dir", "link", "special"]


@dataclass(frozen=True)
class Entry:
    """One name found by :func:`walk`, as ``lstat`` saw it (links are not followed)."""

    relative: str
    """Path relative to the walked folder, ``/``-separated."""
    kind: Kind
    """``file`` (regular), ``dir``, ``link`` (symbolic) or ``special`` (FIFO, socket, device)."""
    size: int
    nlink: int
    """Hard links to the inode (``st_nlink``)."""
    device: int
    inode: int
    link_target: str = ""
    """What a symbolic link says (``readlink``), unresolved."""


def open_dir(anchor: Path, relative: str | Path = "") -> int:
    """A descriptor of ``anchor/relative``, following no link in ``relative``.

    ``anchor`` is a folder the harness trusts (a trial's root); each component of
    ``relative`` is opened with ``O_NOFOLLOW`` from its parent's descriptor, so a link
    anywhere below ``anchor`` raises :class:`UntrustedFileError` instead of being followed.
    """
    fd = os.open(anchor, _DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        return open_beneath(fd, relative, f"{anchor}/{relative}")
    finally:
        os.close(fd)


def open_beneath(dir_fd: int, relative: str | Path, where: str = "") -> int:
    """A new descriptor of folder ``relative`` below ``dir_fd``, following no link on the way."""
    fd = os.dup(dir_fd)
    try:
        for part in _parts(relative):
            child = _open_at(fd, part, _DIR_FLAGS, where or str(relative))
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_file(dir_fd: int, name: str, where: str = "") -> int:
    """A read descriptor of regular file ``name`` in ``dir_fd``; links and FIFOs are refused."""
    fd = _open_at(dir_fd, name, _FILE_FLAGS, where or name)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UntrustedFileError(f"{where or name} is not a regular file")
    return fd


def read_bounded(anchor: Path, relative: str | Path, limit: int | None = None) -> bytes:
    """The first ``limit`` bytes (default ``FileBounds.max_read_bytes``) of a regular file."""
    limit = FileBounds().max_read_bytes if limit is None else limit
    parts = _parts(relative)
    if not parts:
        raise UntrustedFileError(f"{anchor} is not a file")
    dir_fd = open_dir(anchor, "/".join(parts[:-1]))
    try:
        fd = open_file(dir_fd, parts[-1], f"{anchor}/{relative}")
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def walk(
    dir_fd: int, budget: WalkBudget | None = None, skip: frozenset[str] = frozenset()
) -> Iterator[Entry]:
    """Every entry below the folder ``dir_fd``, depth first in name order, links not followed.

    Folders named in ``skip`` are listed but not entered. Raises
    :class:`UntrustedFileError` beyond the budget's bounds (count, depth, path length,
    time). ``dir_fd`` stays open and owned by the caller.
    """
    yield from _walk(dir_fd, budget or WalkBudget(), skip, "", 0)


def _walk(
    dir_fd: int, budget: WalkBudget, skip: frozenset[str], prefix: str, depth: int
) -> Iterator[Entry]:
    bounds = budget.bounds
    if depth > bounds.max_depth:
        raise UntrustedFileError(f"folders nested deeper than {bounds.max_depth} (at {prefix})")
    with os.scandir(dir_fd) as listing:
        names = sorted(entry.name for entry in listing)
    for name in names:
        relative = f"{prefix}{name}"
        budget.spend(relative)
        if len(relative) > bounds.max_path_chars:
            raise UntrustedFileError(
                f"a path longer than {bounds.max_path_chars} characters ({relative[:80]}...)"
            )
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while we looked: nothing to read
        kind = _kind(info.st_mode)
        target = os.readlink(name, dir_fd=dir_fd) if kind == "link" else ""
        yield Entry(relative, kind, info.st_size, info.st_nlink, info.st_dev, info.st_ino, target)
        if kind == "dir" and name not in skip:
            child = _open_at(dir_fd, name, _DIR_FLAGS, relative)
            try:
                yield from _walk(child, budget, skip, f"{relative}/", depth + 1)
            finally:
                os.close(child)


def _kind(mode: int) -> Kind:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    return "special"


def _open_at(dir_fd: int, name: str, flags: int, where: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as error:
        import errno

        if error.errno in {errno.ELOOP, errno.ENOTDIR}:
            message = f"{where} is a link or not a folder; links are not followed"
            raise UntrustedFileError(message) from error
        if error.errno == errno.ENAMETOOLONG:
            raise UntrustedFileError(f"{where}: name too long") from error
        raise


def _parts(relative: str | Path) -> list[str]:
    parts = [part for part in Path(relative).parts if part not in {"", "."}]
    if any(part == ".." or part.startswith("/") for part in parts):
        raise UntrustedFileError(f"{relative} leaves its folder")
    return parts
