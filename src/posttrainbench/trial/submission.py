"""The submission snapshot: ``final_model/`` validated and copied where the agent cannot reach.

Rule: the submission is what the agent's own workspace holds. At collect, every name under
``workspace/final_model`` (the folder itself included) must be a folder, a regular file,
or a symbolic link that resolves to a regular file inside the workspace; a link that
leaves the workspace, a hard link shared with a file outside it (``st_nlink`` larger than
the names of that inode inside the workspace), a FIFO, socket or device, or anything
beyond :class:`~posttrainbench._safe_files.FileBounds` (size, count, depth, path length,
time) rejects the submission with its reason, and the trial scores the base model.

An accepted submission is copied into ``submission/`` of the trial, read-only, each file
opened without following links and checked to be the inode that was validated (a link
swapped in after validation is refused, not followed), and hashed while copied. Audit and
evaluation read only this snapshot; ``submission.json`` records its hashes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from posttrainbench._safe_files import (
    Entry,
    FileBounds,
    UntrustedFileError,
    WalkBudget,
    open_dir,
    open_file,
    walk,
)
from posttrainbench.records import FileHash, SubmissionRecord
from posttrainbench.trial.layout import TrialPaths

__all__ = ["FileHash", "SubmissionRecord", "remove_tree", "snapshot_submission"]

_CHUNK = 1 << 20
_KINDS = {"special": "a FIFO, socket or device", "dir": "a folder"}


class Rejected(Exception):
    """final_model breaks the submission rule; the message is the reason recorded."""


@dataclass(frozen=True)
class _Source:
    """A regular file to copy: where it is under the workspace, what was validated."""

    name: str
    """Path inside the snapshot."""
    at: str
    """Path relative to the workspace of the file itself (links already resolved)."""
    size: int
    device: int
    inode: int
    nlink: int


def snapshot_submission(paths: TrialPaths, bounds: FileBounds | None = None) -> SubmissionRecord:
    """Validate ``workspace/final_model`` and copy it into ``submission/`` (see module doc)."""
    bounds = bounds or FileBounds.from_env()
    staging = paths.submitted_model.with_name(paths.submitted_model.name + ".partial")
    for leftover in (staging, paths.submitted_model):
        remove_tree(leftover)
    budget = WalkBudget(bounds)
    try:
        model_at = _model_folder(paths)
        if model_at is None:
            return SubmissionRecord(present=False, reason="no final_model directory")
        folders, sources = _plan(paths, model_at, budget)
        _check_hard_links(paths, sources, budget)
        files = _copy(paths, folders, sources, staging, budget)
    except (Rejected, UntrustedFileError) as error:
        remove_tree(staging)
        return SubmissionRecord(present=False, reason=f"rejected: {error}")
    except OSError as error:  # e.g. a file the agent made unreadable (mode 000)
        remove_tree(staging)
        where = f" ({error.filename})" if error.filename else ""
        return SubmissionRecord(
            present=False, reason=f"rejected: cannot read final_model: {error.strerror}{where}"
        )
    _make_read_only(staging)
    staging.rename(paths.submitted_model)
    return SubmissionRecord(present=True, files=files)


def _model_folder(paths: TrialPaths) -> str | None:
    """final_model's path relative to the workspace, links resolved inside it; None if absent."""
    try:
        info = os.lstat(paths.final_model)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Rejected(f"final_model cannot be read: {error.strerror}") from error
    if stat.S_ISLNK(info.st_mode):
        at = _inside_workspace(paths, paths.final_model, "final_model")
        if not (paths.workspace / at).is_dir() or not at:
            raise Rejected(f"final_model links to {at or 'the workspace'}, not a model folder")
        return at
    if not stat.S_ISDIR(info.st_mode):
        return None
    return "final_model"


def _inside_workspace(paths: TrialPaths, link: Path, name: str) -> str:
    """Where ``link`` resolves, relative to the workspace; Rejected when it leaves it."""
    try:
        target = Path(os.path.realpath(link))
        workspace = Path(os.path.realpath(paths.workspace))
    except OSError as error:
        raise Rejected(f"{name} is a link that cannot be resolved: {error.strerror}") from error
    if not target.is_relative_to(workspace):
        raise Rejected(
            f"{name} is a symbolic link to {target}, outside the trial's workspace: "
            "a submission must be the agent's own files"
        )
    return target.relative_to(workspace).as_posix() if target != workspace else ""


def _plan(paths: TrialPaths, model_at: str, budget: WalkBudget) -> tuple[list[str], list[_Source]]:
    """The folders and files to copy; Rejected at the first entry that breaks the rule."""
    folders: list[str] = []
    sources: list[_Source] = []
    total = 0
    root_fd = open_dir(paths.root, f"workspace/{model_at}")
    try:
        for entry in walk(root_fd, budget):
            name = f"final_model/{entry.relative}"
            if entry.kind == "dir":
                folders.append(entry.relative)
                continue
            if entry.kind == "special":
                raise Rejected(f"{name} is {_KINDS['special']}, not a regular file")
            source = (
                _link_source(paths, entry, name, model_at)
                if entry.kind == "link"
                else _Source(
                    entry.relative,
                    f"{model_at}/{entry.relative}",
                    entry.size,
                    entry.device,
                    entry.inode,
                    entry.nlink,
                )
            )
            total += source.size
            if total > budget.bounds.max_submission_bytes:
                raise Rejected(
                    f"final_model is larger than the {_gib(budget.bounds.max_submission_bytes)} "
                    f"cap (at {name}; PTB_MAX_SUBMISSION_GB raises it)"
                )
            sources.append(source)
    finally:
        os.close(root_fd)
    return folders, sources


def _link_source(paths: TrialPaths, entry: Entry, name: str, model_at: str) -> _Source:
    link = paths.workspace.joinpath(*model_at.split("/"), *entry.relative.split("/"))
    at = _inside_workspace(paths, link, name)
    try:
        info = os.lstat(paths.workspace / at)
    except OSError as error:
        raise Rejected(f"{name} is a link to {at}, which cannot be read") from error
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get("dir" if stat.S_ISDIR(info.st_mode) else "special", "not a file")
        raise Rejected(f"{name} is a link to {at}, which is {kind}, not a regular file")
    return _Source(entry.relative, at, info.st_size, info.st_dev, info.st_ino, info.st_nlink)


def _check_hard_links(paths: TrialPaths, sources: list[_Source], budget: WalkBudget) -> None:
    """Rejected when a file has more hard links than names inside the workspace."""
    shared = [source for source in sources if source.nlink > 1]
    if not shared:
        return
    names: Counter[tuple[int, int]] = Counter()
    workspace_fd = open_dir(paths.root, "workspace")
    try:
        for entry in walk(workspace_fd, budget):
            if entry.kind == "file" and entry.nlink > 1:
                names[entry.device, entry.inode] += 1
    finally:
        os.close(workspace_fd)
    for source in shared:
        if source.nlink > names[source.device, source.inode]:
            raise Rejected(
                f"final_model/{source.name} is a hard link shared with a file outside the "
                "trial's workspace: a submission must be the agent's own files"
            )


def _copy(
    paths: TrialPaths,
    folders: list[str],
    sources: list[_Source],
    staging: Path,
    budget: WalkBudget,
) -> dict[str, FileHash]:
    staging.mkdir(parents=True)
    for folder in folders:
        (staging / folder).mkdir(parents=True, exist_ok=True)
    files: dict[str, FileHash] = {}
    for source in sources:
        budget.spend(f"final_model/{source.name}")
        files[source.name] = _copy_file(paths, source, staging / source.name)
    return files


def _copy_file(paths: TrialPaths, source: _Source, destination: Path) -> FileHash:
    parent, _, name = f"workspace/{source.at}".rpartition("/")
    where = f"final_model/{source.name}"
    dir_fd = open_dir(paths.root, parent)
    try:
        fd = open_file(dir_fd, name, where)
    finally:
        os.close(dir_fd)
    digest = hashlib.sha256()
    copied = 0
    with os.fdopen(fd, "rb") as reader:
        info = os.fstat(reader.fileno())
        if (info.st_dev, info.st_ino) != (source.device, source.inode):
            raise Rejected(f"{where} was replaced while the submission was collected")
        with destination.open("xb") as writer:
            while copied <= source.size and (chunk := reader.read(_CHUNK)):
                digest.update(chunk)
                writer.write(chunk)
                copied += len(chunk)
    if copied != source.size:
        raise Rejected(f"{where} changed size while the submission was collected")
    return FileHash(size=copied, sha256=digest.hexdigest())


def _make_read_only(folder: Path) -> None:
    for directory, _, names in os.walk(folder, topdown=False):
        for name in names:
            (Path(directory) / name).chmod(0o444)
        Path(directory).chmod(0o555)


def remove_tree(folder: Path) -> None:
    """Delete a harness-written folder, read-only ones (a snapshot) included."""
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_dir() and not folder.is_symlink():
        for directory, _, _ in os.walk(folder):
            Path(directory).chmod(0o755)
        shutil.rmtree(folder)
    else:
        folder.unlink()


def _gib(size: int) -> str:
    return f"{size / (1 << 30):g} GiB"
