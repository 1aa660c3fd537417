"""``data.lock``: the exact dataset files a cache holds, as ``ptb data fetch`` resolved them.

One entry per data source: the revision it was asked for, the commit (or package version,
or URL) it resolved to, and the SHA-256 of every file the benchmark reads. The lock is
TOML, written only by the fetch step and read at evaluation, which refuses any file whose
digest differs from its entry.

Location: ``data.lock`` in the data cache directory, so that copying the cache to another
machine carries it along. ``PTB_DATA_LOCK`` points evaluation (and ``ptb data fetch``) at
another copy instead, e.g. one committed to a project next to its experiment files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from posttrainbench._fileio import atomic_write_text
from posttrainbench.errors import UserError

__all__ = ["LOCK_ENV", "LOCK_NAME", "DataLock", "LockEntry", "file_sha256"]

LOCK_NAME = "data.lock"
"""File name of the lock inside the data cache directory."""

LOCK_ENV = "PTB_DATA_LOCK"
"""Environment variable naming a lock file to use instead of the cache's own."""

_HEADER = (
    "# Written by `ptb data fetch`: the dataset files evaluation may read, by SHA-256.\n"
    "# Do not edit; fetch again to update it.\n"
)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LockEntry(BaseModel):
    """One data source as it was fetched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    """The dataset (``owner/name``), package, or ``source/file`` of a URL file."""
    kind: str
    """``hub``, ``package`` or ``url``."""
    requested: str
    """What the benchmark asked for: a revision (possibly a branch), a package, a URL."""
    revision: str
    """What it resolved to: a hub commit SHA, the package version, or the URL."""
    files: dict[str, str]
    """SHA-256 per file path (relative to the source) that the benchmark reads."""


class DataLock(BaseModel):
    """The whole lock file: entries by source name."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    """Format version of the lock file."""
    dataset: list[LockEntry] = []
    """One entry per fetched source, sorted by name."""

    def entry(self, source: str) -> LockEntry | None:
        """The entry of ``source``, if the lock has one."""
        return next((entry for entry in self.dataset if entry.source == source), None)

    def with_entry(self, entry: LockEntry) -> DataLock:
        """A copy with ``entry`` replacing any previous entry of its source."""
        others = [existing for existing in self.dataset if existing.source != entry.source]
        return DataLock(dataset=sorted([*others, entry], key=lambda e: e.source))

    @classmethod
    def read(cls, path: Path) -> DataLock:
        """The lock at ``path``.

        Raises:
            UserError: The file is not a valid lock (the message names it).
        """
        try:
            return cls.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
            raise UserError(
                f"{path} is not a readable data lock ({type(error).__name__}: {error}). "
                "Delete it and run `ptb data fetch` again."
            ) from error

    def write(self, path: Path) -> None:
        """Write the lock as TOML (strings quoted JSON-style, which TOML accepts)."""
        lines = [_HEADER, f"version = {self.version}\n"]
        for entry in self.dataset:
            lines.append("\n[[dataset]]\n")
            for key in ("source", "kind", "requested", "revision"):
                lines.append(f"{key} = {json.dumps(getattr(entry, key))}\n")
            lines.append("[dataset.files]\n")
            lines.extend(
                f"{json.dumps(name)} = {json.dumps(sha)}\n" for name, sha in entry.files.items()
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, "".join(lines))


def lock_path(cache_dir: Path) -> Path:
    """The lock evaluation reads: ``PTB_DATA_LOCK``, else ``data.lock`` in ``cache_dir``."""
    override = os.environ.get(LOCK_ENV)
    return Path(override).expanduser() if override else cache_dir / LOCK_NAME


def load_lock(cache_dir: Path) -> DataLock | None:
    """The lock for ``cache_dir`` (None when there is none)."""
    path = lock_path(cache_dir)
    return DataLock.read(path) if path.is_file() else None
