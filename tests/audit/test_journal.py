"""The write journal keeps what the agent wrote during solve, deleted files included."""

from __future__ import annotations

import time
from pathlib import Path

from posttrainbench.audit.journal import JournalLimits, blob_path, read_journal
from posttrainbench.records import JournalSummary
from posttrainbench.trial.journal_watch import JournalWatcher


def _settle() -> None:
    time.sleep(0.3)  # lets the watcher thread read the events before the next step


def _stored(journal: Path) -> dict[str, bytes]:
    return {
        Path(entry.path).name: blob_path(journal, entry.sha256).read_bytes()
        for entry in read_journal(journal)
        if entry.stored and entry.sha256
    }


def test_files_written_then_deleted_or_moved_are_kept(tmp_path: Path) -> None:
    workspace, tmp = tmp_path / "workspace", tmp_path / "agent_tmp"
    workspace.mkdir()
    tmp.mkdir()
    (workspace / "given.txt").write_text("present before solve")
    journal = tmp_path / "journal"
    with JournalWatcher(journal, [workspace, tmp, tmp_path / "missing"]):
        deep = workspace / "a" / "b" / "c"
        deep.mkdir(parents=True)
        (deep / "data.jsonl").write_text("nested secret\n")
        staged = tmp / "stage.part"
        staged.write_text("moved into place\n")
        staged.rename(tmp / "final.json")
        (workspace / "used.txt").write_text("read by training, then deleted\n")
        _settle()
        (workspace / "used.txt").unlink()
        with (workspace / "gone.txt").open("w") as handle:  # deleted while still open
            handle.write("deleted before it was closed\n")
            handle.flush()
            _settle()
            (workspace / "gone.txt").unlink()
            _settle()
    stored = _stored(journal)
    assert stored["data.jsonl"] == b"nested secret\n"
    assert stored["final.json"] == b"moved into place\n"
    assert stored["used.txt"] == b"read by training, then deleted\n"
    assert stored["gone.txt"] == b"deleted before it was closed\n"
    assert "given.txt" not in stored  # not written during solve
    summary = JournalSummary.load(journal / "summary.json")
    assert summary.inotify and summary.watched_dirs >= 5


def test_the_final_sweep_records_what_no_watch_saw(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    journal = tmp_path / "journal"
    with JournalWatcher(journal, [workspace], max_watches=0):
        (workspace / "late.txt").write_text("seen by the sweep")
    assert _stored(journal) == {"late.txt": b"seen by the sweep"}
    summary = JournalSummary.load(journal / "summary.json")
    assert summary.unwatched_dirs == 1 and summary.swept_files == 1


def test_size_caps_bound_the_journal(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    journal = tmp_path / "journal"
    limits = JournalLimits(max_file_bytes=100, max_total_bytes=150)
    with JournalWatcher(journal, [workspace], limits=limits):
        (workspace / "big.txt").write_bytes(b"x" * 101)
        (workspace / "one.txt").write_bytes(b"1" * 100)
        _settle()
        (workspace / "two.txt").write_bytes(b"2" * 100)
        (workspace / "w.safetensors").write_bytes(b"\0" * 10)
        _settle()
    notes = {Path(e.path).name: (e.stored, e.note) for e in read_journal(journal)}
    assert notes["one.txt"] == (True, "")
    assert "larger than 100" in notes["big.txt"][1]
    assert "journal full" in notes["two.txt"][1]
    assert notes["w.safetensors"] == (False, "weights: not copied")
    assert sum(p.stat().st_size for p in (journal / "blobs").iterdir()) <= 150
