"""The write journal: content-addressed copies of what the agent wrote, kept after deletion.

During solve the harness records every file the agent closes after writing, or moves into
place, in the folders it can write (workspace, its /tmp and $HOME): one
:class:`JournalEntry` per event in ``index.jsonl``, and the file's bytes once per distinct
content under ``blobs/<sha256>`` when it is a data-like file under the size cap. The audit
scans the blobs like workspace files, so data the agent deleted, or wrote to a folder that
is emptied later, is still seen. The writer side is :class:`Journal`; the watcher that
feeds it lives with the trial runner (``trial.journal_watch``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from posttrainbench.audit._files import WEIGHT_SUFFIXES

__all__ = ["Journal", "JournalEntry", "JournalLimits", "blob_path", "read_journal"]

INDEX = "index.jsonl"
BLOBS = "blobs"


class JournalLimits(BaseModel):
    """Bounds on what the journal keeps (its own size is bounded by ``max_total_bytes``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_file_bytes: int = Field(default=64 << 20, ge=1)
    """Files larger than this are indexed (path, size) but not copied."""
    max_total_bytes: int = Field(default=4 << 30, ge=1)
    """Copies stop once the blobs take this much; later files are indexed, not copied."""


class JournalEntry(BaseModel):
    """One file the agent wrote, at the moment the journal saw it."""

    model_config = ConfigDict(extra="forbid")

    time: float
    """Unix time of the observation."""
    path: str
    """Host path of the file."""
    size: int
    sha256: str | None = None
    """Content hash (None when the file was not read: too large, weights, vanished)."""
    stored: bool = False
    """True when ``blobs/<sha256>`` holds the content."""
    note: str = ""
    """Why the content was not stored, when it was not."""


class Journal:
    """Appends entries and stores blobs under ``root`` (thread-safe)."""

    def __init__(self, root: Path, limits: JournalLimits | None = None) -> None:
        self.root = root
        self.limits = limits or JournalLimits()
        (root / BLOBS).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._stored_bytes = sum(p.stat().st_size for p in (root / BLOBS).iterdir())
        self._seen: dict[str, tuple[int, int]] = {}
        self.entries = 0

    def record(self, path: Path, fd: int | None = None) -> None:
        """Journal ``path`` as it is now (unchanged since the last record: nothing).

        ``fd``, when given, is the file opened earlier: its content is read even if the
        path was deleted since.
        """
        try:
            info = os.fstat(fd) if fd is not None else path.lstat()
        except OSError:
            return
        if not stat.S_ISREG(info.st_mode):
            return
        key = (info.st_size, info.st_mtime_ns)
        if self._seen.get(str(path)) == key:
            return
        self._seen[str(path)] = key
        entry = JournalEntry(time=time.time(), path=str(path), size=info.st_size)
        if path.suffix.lower() in WEIGHT_SUFFIXES:
            entry.note = "weights: not copied"
        elif info.st_size > self.limits.max_file_bytes:
            entry.note = f"larger than {self.limits.max_file_bytes} bytes: not copied"
        else:
            self._store(path, fd, entry)
        with self._lock, (self.root / INDEX).open("a", encoding="utf-8") as index:
            index.write(entry.model_dump_json() + "\n")
            self.entries += 1

    def _store(self, path: Path, fd: int | None, entry: JournalEntry) -> None:
        try:
            data = _read(path, fd, self.limits.max_file_bytes + 1)
        except OSError as error:
            entry.note = f"vanished before it was read: {error.strerror}"
            return
        entry.size = len(data)
        entry.sha256 = hashlib.sha256(data).hexdigest()
        blob = self.root / BLOBS / entry.sha256
        with self._lock:
            if blob.exists():
                entry.stored = True
                return
            if self._stored_bytes + len(data) > self.limits.max_total_bytes:
                entry.note = f"journal full ({self.limits.max_total_bytes} bytes): not copied"
                return
            self._stored_bytes += len(data)
        partial = blob.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(blob)
        entry.stored = True

    @property
    def stored_bytes(self) -> int:
        """Bytes held by the blobs."""
        return self._stored_bytes


def _read(path: Path, fd: int | None, limit: int) -> bytes:
    if fd is not None:
        return os.pread(fd, limit, 0)
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        return os.pread(handle, limit, 0)
    finally:
        os.close(handle)


def read_journal(root: Path) -> Iterator[JournalEntry]:
    """The entries of the journal at ``root``, in order (none when it does not exist)."""
    index = root / INDEX
    if not index.is_file():
        return
    with index.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                yield JournalEntry.model_validate(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash


def blob_path(root: Path, sha256: str) -> Path:
    """Where the content with hash ``sha256`` is stored."""
    return root / BLOBS / sha256
