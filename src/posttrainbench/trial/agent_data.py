"""The benchmark data the agent's ``task/evaluate.py`` reads, and nothing else of the cache.

The data cache may hold other datasets and instruct models, so it is never mounted
whole. Instead a small directory in the run directory mirrors the cache layout for
exactly the benchmark's resolved files, as private copies, plus the few small metadata
files the loaders read (a branch's ``refs/`` entry, a URL file's SHA-256 pin, the
benchmark's entries of ``data.lock``). Data shipped in a Python package is copied too
(``packaged/<distribution>/<file>``), and the package's own file is masked inside the
sandbox by an empty file (``package_masks``). The agent's environment points ``PTB_DATA_CACHE`` at
the directory.

Copies, not links: the kernel watch (``trial.open_watch``) marks inodes, and a cached
file's inode is shared with every other trial and with the harness's own evaluations; a
trial's copy is opened by nobody but this trial's processes.
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
    PackagedData,
    locked_entries,
)

__all__ = ["AgentData", "CACHE_ENV", "build_agent_data", "package_masks"]


@dataclass
class AgentData:
    """The agent's data directory and the cached files it links to."""

    root: Path
    """The directory ``PTB_DATA_CACHE`` points at inside the sandbox."""
    files: list[Path] = field(default_factory=list)
    """The private copies of the data files (all inside ``root``)."""
    missing: list[str] = field(default_factory=list)
    """Messages for data that is not cached (the agent's evaluate.py will say the same)."""


def build_agent_data(benchmark: Benchmark, root: Path) -> AgentData:
    """(Re)build ``root`` for ``benchmark``: a private copy of each of its data files."""
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
            elif isinstance(source, PackagedData):
                _copy(source.path(), source.copy_path(root), data)
                _mask_file(root, source).touch(mode=0o444)
        except DatasetUnavailable as error:
            data.missing.append(str(error))
    return data


def package_masks(benchmark: Benchmark, root: Path) -> list[tuple[Path, Path]]:
    """(empty file, package file it hides) for each packaged data file of ``benchmark``.

    The empty files lie in ``root`` (built by ``build_agent_data``), so the kernel watch
    records an agent that opens the package's file by its installed path.
    """
    masks = []
    for source in benchmark.data_sources:
        if isinstance(source, PackagedData) and (mask := _mask_file(root, source)).is_file():
            try:
                masks.append((mask, source.installed_path()))
            except DatasetUnavailable:
                continue
    return masks


def _mask_file(root: Path, source: PackagedData) -> Path:
    mask = root / "masked" / source.distribution / source.resource
    mask.parent.mkdir(parents=True, exist_ok=True)
    return mask


def _copy(cached: Path, target: Path, data: AgentData) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    target.chmod(0o444)
    data.files.append(target)


def _link_hub_file(source: HubDataset, filename: str, root: Path, data: AgentData) -> None:
    cached = source.path(filename)  # <cache>/datasets--o--n/snapshots/<commit>/<filename>
    depth = len(Path(filename).parts)
    snapshot = cached.parents[depth - 1]
    repo_dir = snapshot.parent.parent
    mirror = root / repo_dir.name
    _copy(cached, mirror / "snapshots" / snapshot.name / filename, data)
    ref = repo_dir / "refs" / source.revision
    if snapshot.name != source.revision and ref.is_file():  # a branch name: copy its ref
        (mirror / "refs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ref, mirror / "refs" / source.revision)


def _link_url_file(source: UrlFile, root: Path, data: AgentData) -> None:
    cached = source.path()  # checks the pin
    target = root / "url" / source.source / source.filename
    _copy(cached, target, data)
    pin = cached.with_name(cached.name + ".sha256")
    if pin.is_file():
        shutil.copyfile(pin, target.with_name(target.name + ".sha256"))
