from pathlib import Path

from posttrainbench.records import PrepareRecord
from posttrainbench.trial import EventLog, Phase


def test_phases_progress_and_attempts_count(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    assert log.current_phase() == "new"
    assert log.start(Phase.PREPARE) == 1
    prepared = PrepareRecord(deadline=5, given_files={}, base_model_files={}, twin_seed=7)
    log.end(Phase.PREPARE, "ok", prepared)
    assert log.start(Phase.SOLVE) == 1
    assert log.start(Phase.SOLVE) == 2  # resumed after a crash
    assert log.current_phase() == "solve"
    ended = log.ended(Phase.PREPARE)
    assert ended is not None and ended.record() == prepared
    assert log.record(Phase.PREPARE, PrepareRecord).deadline == 5


def test_a_torn_last_line_from_a_crash_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.start(Phase.PREPARE)
    with path.open("a") as handle:
        handle.write('{"phase": "prepare", "ev')
    assert len(log.records()) == 1
    assert log.attempts(Phase.PREPARE) == 1


def test_records_appended_after_a_torn_line_stay_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.start(Phase.PREPARE)
    with path.open("a") as handle:
        handle.write('{"phase": "prep')
    log.end(Phase.PREPARE, "ok")
    assert log.ended(Phase.PREPARE) is not None
