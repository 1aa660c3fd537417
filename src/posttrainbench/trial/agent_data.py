"""The benchmark data the agent's ``task/evaluate.py`` reads, and nothing else of the cache.

The data cache may hold other datasets and instruct models, so it is never mounted
whole. Instead a small directory in the run directory mirrors the cache layout for
exactly the benchmark's resolved files: links to the cached files (each mounted
read-only at its own path), plus copies of the few small metadata files the loaders
read (a branch's ``refs/`` entry, a URL file's SHA-256 pin, the benchmark's entries of
``data.lock``). The agent's environment points ``PTB_DATA_CACHE`` at it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from posttrainbench.benchmarks import Benchmark
from posttrainbench.benchmarks._lock import LOCK_NAME
from posttrainbench.benchmarks._url_data import UrlFile
from posttrainbench.benchmarks.data import (
    CACHE_ENV,
    DataLock,
    DatasetUnavailable,
    HubDataset,
    locked_entries,
)

__all__ = ["AgentData", "CACHE_ENV", "build_agent_data"]


@dataclass
class AgentData:
    """The agent's data directory and the cached files it links to."""

    root: Path
    """The directory ``PTB_DATA_CACHE`` points at inside the sandbox."""
    files: list[Path] = field(default_factory=list)
    """Resolved cached files to mount read-only (at their own host path)."""
    missing: list[str] = field(default_factory=list)
    """Messages for data that is not cached (the agent's evaluate.py will say the same)."""


def build_agent_data(benchmark: Benchmark, root: Path) -> AgentData:
    """(Re)build ``root`` for ``benchmark``; files of packaged data need no mount."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    data = AgentData(root=root)
    entries = locked_entries(benchmark.data_sources)
    if entries:  # the loaders read a branch-pinned dataset at the locked commit only
        DataLock(dataset=entries).write(root / LOCK_NAME)
    for source in benchmark.data_sources:
        try:
            if isinstance(source, HubDataset):
                for filename in source.files:
                    _link_hub_file(source, filename, root, data)
            elif isinstance(source, UrlFile):
                _link_url_file(source, root, data)
        except DatasetUnavailable as error:
            data.missing.append(str(error))
    return data


def _link(cached: Path, target: Path, data: AgentData) -> None:
    real = cached.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(real)
    data.files.append(real)


def _link_hub_file(source: HubDataset, filename: str, root: Path, data: AgentData) -> None:
    cached = source.path(filename)  # <cache>/datasets--o--n/snapshots/<commit>/<filename>
    depth = len(Path(filename).parts)
    snapshot = cached.parents[depth - 1]
    repo_dir = snapshot.parent.parent
    mirror = root / repo_dir.name
    _link(cached, mirror / "snapshots" / snapshot.name / filename, data)
    ref = repo_dir / "refs" / source.revision
    if snapshot.name != source.revision and ref.is_file():  # a branch name: copy its ref
        (mirror / "refs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ref, mirror / "refs" / source.revision)


def _link_url_file(source: UrlFile, root: Path, data: AgentData) -> None:
    cached = source.path()  # checks the pin
    target = root / "url" / source.source / source.filename
    _link(cached, target, data)
    pin = cached.with_name(cached.name + ".sha256")
    if pin.is_file():
        shutil.copyfile(pin, target.with_name(target.name + ".sha256"))
