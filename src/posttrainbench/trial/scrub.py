"""What a finished trial keeps: no secret in any form, no CLI state, no extra checkpoints.

Run at finalize, after audit and evaluation have read everything they need:

* the agent CLIs' state folders (``.claude/``, ``.codex/``, ``.gemini/``, opencode's) are
  dropped from the workspace and the agent's home: they hold session logs with the API key
  in plain text, and their useful part (the transcript) is already in the trace;
* as upstream does, folders of model weights other than ``final_model`` are dropped
  (``keep_checkpoints`` keeps them);
* every text file the trial keeps is redacted (:class:`~posttrainbench._redact.Redactor`:
  plain, JSON, URL, hex and base64 forms), the raw stream record by record so that a
  secret cut across output lines is caught too. The submission snapshot is the scored
  artifact and is kept byte for byte (its hashes are in ``submission.json``).

Files are found with the no-follow walk of ``posttrainbench._safe_files``; a link is never
followed, deleted through or written through.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from posttrainbench._fileio import atomic_write_bytes
from posttrainbench._redact import Redactor
from posttrainbench._safe_files import UntrustedFileError, WalkBudget, open_dir, open_file, walk
from posttrainbench.records import ScrubSummary
from posttrainbench.trial.layout import TrialPaths

__all__ = ["STATE_DIRS", "redact_stream", "scrub_run_dir"]

STATE_DIRS = (
    ".claude",
    ".codex",
    ".gemini",
    ".opencode",
    ".config/opencode",
    ".local/share/opencode",
    ".local/state/opencode",
)
"""The agent CLIs' own state folders (relative to the workspace or the agent's home)."""
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")
_MAX_TEXT_BYTES = 256 << 20
"""Larger files are not text logs; they are left as they are."""


def scrub_run_dir(
    paths: TrialPaths, secrets: Sequence[str], *, keep_checkpoints: bool = False
) -> ScrubSummary:
    """Drop state folders and extra checkpoints, redact every kept text file; what was done."""
    dropped = [
        f"{home.name}/{name}"
        for home in (paths.workspace, paths.agent_home)
        for name in STATE_DIRS
        if _remove(home / name)
    ]
    if not keep_checkpoints:
        dropped += [
            f"workspace/{name}" for name in _checkpoint_dirs(paths) if _remove_at(paths, name)
        ]
    redact = Redactor(secrets)
    redacted: list[str] = []
    problem = None
    if redact:
        if paths.raw_stream.is_file() and redact_stream(paths.raw_stream, redact):
            redacted.append("agent/raw.jsonl")
        try:
            redacted += _redact_files(paths, redact)
        except (UntrustedFileError, OSError) as error:
            problem = f"not every file was redacted: {error}"
    return ScrubSummary(dropped=dropped, redacted=redacted, problem=problem)


def _remove(path: Path) -> bool:
    """Remove ``path`` without following a link; whether it was there and is gone."""
    try:
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path)  # fd-based on Linux: a link inside is removed, never followed
        else:
            path.unlink()
    except OSError:
        return False  # absent, or not removable: the trial still finishes
    return True


def _checkpoint_dirs(paths: TrialPaths) -> list[str]:
    """Workspace folders (outside final_model) that directly hold weight files."""
    folders: set[str] = set()
    try:
        workspace_fd = open_dir(paths.root, "workspace")
    except (UntrustedFileError, FileNotFoundError):
        return []
    try:
        for entry in walk(workspace_fd, WalkBudget()):
            if entry.kind == "file" and entry.relative.endswith(_WEIGHT_SUFFIXES):
                folder = entry.relative.rpartition("/")[0]
                if folder and folder.split("/")[0] != "final_model":
                    folders.add(folder)
    except UntrustedFileError:
        pass  # what was found so far is dropped; the rest stays
    finally:
        os.close(workspace_fd)
    # The outermost folders only (a checkpoint inside another is dropped with it).
    return sorted(f for f in folders if not any(f.startswith(f"{o}/") for o in folders))


def _remove_at(paths: TrialPaths, relative: str) -> bool:
    parts = relative.split("/")
    if any(paths.workspace.joinpath(*parts[:depth]).is_symlink() for depth in range(1, len(parts))):
        return False  # found through folders; one replaced by a link since is left alone
    return _remove(paths.workspace / relative)


def redact_stream(raw_stream: Path, redact: Redactor) -> bool:
    """Redact the ``line`` of each raw record, a secret cut across records included."""
    records = []
    for text in raw_stream.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(text))
        except json.JSONDecodeError:
            records.append({"line": text})
    lines = list(redact.lines(str(record.get("line", "")) for record in records))
    changed = False
    for record, line in zip(records, lines, strict=True):
        if record.get("line") != line:
            record["line"], changed = line, True
    if changed:
        out = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        atomic_write_bytes(raw_stream, out.encode("utf-8"))
    return changed


def _redact_files(paths: TrialPaths, redact: Redactor) -> list[str]:
    """Redact every text file under the run folder but the snapshot and the raw stream."""
    redacted: list[str] = []
    skip = {paths.submitted_model.name, paths.raw_stream.relative_to(paths.root).as_posix()}
    root_fd = open_dir(paths.root)
    try:
        for entry in walk(root_fd, WalkBudget(), skip=frozenset({paths.submitted_model.name})):
            if entry.kind != "file" or entry.relative in skip or entry.size > _MAX_TEXT_BYTES:
                continue
            if _redact_file(paths.root, entry.relative, redact):
                redacted.append(entry.relative)
    finally:
        os.close(root_fd)
    return redacted


def _redact_file(root: Path, relative: str, redact: Redactor) -> bool:
    parent, _, name = relative.rpartition("/")
    dir_fd = open_dir(root, parent)
    try:
        fd = open_file(dir_fd, name, relative)
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(_MAX_TEXT_BYTES + 1)
    if b"\0" in data[:8192]:
        return False  # binary
    text = data.decode("utf-8", errors="surrogateescape")
    cleaned = "\n".join(redact.lines(text.split("\n")))
    if cleaned == text:
        return False
    atomic_write_bytes(root / relative, cleaned.encode("utf-8", errors="surrogateescape"))
    return True
