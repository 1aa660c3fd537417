"""Benchmark data published as plain files at fixed URLs (HealthBench, Arena-Hard answers).

The file lives in the data cache under ``url/<source>/<filename>``. A file is pinned by
its SHA-256: the one given here, else the one recorded next to it when it was first
fetched; a cached file that no longer matches its pin is refused. Evaluation never
downloads; ``ptb data fetch`` calls :meth:`UrlFile.fetch`.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import override

from posttrainbench._fileio import atomic_write_text
from posttrainbench.benchmarks._lock import file_sha256 as _sha256
from posttrainbench.benchmarks.data import (
    CACHE_ENV,
    DatasetUnavailable,
    DataSource,
    DataStatus,
    LockEntry,
    data_cache_dir,
    single_file_status,
    verified,
)
from posttrainbench.errors import UserError

__all__ = ["UrlFile"]


@dataclass(frozen=True)
class UrlFile(DataSource):
    """One data file downloaded from a fixed, versioned URL."""

    source: str
    """Short name of the source, used as the cache folder (e.g. ``healthbench``)."""
    url: str
    """Where ``ptb data fetch`` downloads it from."""
    filename: str
    """Name of the cached copy."""
    sha256: str | None = None
    """Expected digest; None trusts the first fetch and pins what it got."""

    @property
    @override
    def name(self) -> str:
        return f"{self.source}/{self.filename}"

    @property
    def cache_path(self) -> Path:
        """Where the file is (or would be) cached."""
        return data_cache_dir() / "url" / self.source / self.filename

    def _pin_path(self) -> Path:
        return self.cache_path.with_name(self.cache_path.name + ".sha256")

    def _pin(self) -> str | None:
        if self.sha256:
            return self.sha256
        pin = self._pin_path()
        return pin.read_text(encoding="utf-8").strip() if pin.is_file() else None

    def path(self) -> Path:
        """The cached file, checked against its pin.

        Raises:
            DatasetUnavailable: Not cached, or its content differs from the pinned digest.
        """
        path = self.cache_path
        if not path.is_file():
            raise DatasetUnavailable(
                f"Data file {self.filename} of {self.source} is not in the data cache "
                f"({path}), and evaluation never downloads. Run `ptb data fetch` on a "
                f"machine with internet (it downloads {self.url}), then copy the cache here "
                f"or point {CACHE_ENV} at it."
            )
        pin = self._pin()
        if pin is not None and _sha256(path) != pin:
            raise DatasetUnavailable(
                f"{path} does not match its pinned SHA-256 {pin}: the cached data was "
                "changed. Delete it and fetch it again with `ptb data fetch`."
            )
        return verified(self.name, self.filename, path)

    @override
    def status(self) -> DataStatus:
        return single_file_status(self.url, self._pin() or "unpinned", self.filename, self.path)

    @override
    def fetch(self) -> LockEntry:
        target = self.cache_path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            with urllib.request.urlopen(self.url, timeout=120) as response:
                partial.write_bytes(response.read())
        except OSError as error:
            raise UserError(
                f"Cannot download {self.url}: {error}. `ptb data fetch` needs internet."
            ) from error
        digest = _sha256(partial)
        if self.sha256 and digest != self.sha256:
            partial.unlink()
            raise UserError(f"{self.url} has SHA-256 {digest}, expected {self.sha256}.")
        partial.replace(target)
        if not self.sha256:
            atomic_write_text(self._pin_path(), digest + "\n")
        return LockEntry(
            source=self.name,
            kind="url",
            requested=self.url,
            revision=self.url,
            files={self.filename: digest},
        )
