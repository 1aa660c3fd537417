"""Reads of the test split are recorded by process; evaluate.py alone is exempt."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from posttrainbench.audit import AuditContext
from posttrainbench.audit.contamination import contamination
from posttrainbench.audit.test_access import test_access as detect_access
from posttrainbench.benchmarks import TestItem as Item
from posttrainbench.trial import open_watch
from posttrainbench.trial.access_log import AccessRecorder

from .test_readers import MakeContext

GENERATE = "from posttrainbench.benchmarks import arith; arith.test_split()"


def _data_folder(tmp_path: Path) -> Path:
    """A folder holding one test-data file, as the trial's data copy does."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "test.jsonl").write_text('{"q": "held out"}\n')
    return data


def _run(recorder: AccessRecorder, argv: list[str], cwd: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", **recorder.env()}
    subprocess.run(argv, env=env, cwd=cwd, check=True, timeout=120)


def test_readers_of_the_test_split_are_recorded_and_flagged(
    tmp_path: Path, make_context: MakeContext
) -> None:
    data = _data_folder(tmp_path)
    task = tmp_path / "task"
    task.mkdir()
    evaluate = task / "evaluate.py"
    evaluate.write_text(
        f"import subprocess, sys\n{GENERATE}\nopen({str(data / 'test.jsonl')!r}).read()\n"
        "open('eval.log', 'w').write('logged')\n"
        f"subprocess.run([sys.executable, '-c', {GENERATE!r}], check=True)\n"
    )
    log = tmp_path / "agent" / "test_access.jsonl"
    recorder = AccessRecorder(tmp_path / ".fifo", log, watched=[data], exempt=evaluate)
    with recorder:
        _run(recorder, [sys.executable, str(evaluate)], tmp_path)  # exempt, children too
        _run(recorder, [sys.executable, "-c", "import posttrainbench.benchmarks.arith"], tmp_path)
        _run(recorder, [sys.executable, "-c", GENERATE], tmp_path)
        reader = f"open({str(data / 'test.jsonl')!r}).read()"
        _run(recorder, [sys.executable, "-c", reader], tmp_path)
        _run(recorder, ["/bin/sh", "-c", f"{sys.executable} -c '{GENERATE}'"], tmp_path)
        _run(recorder, ["cat", str(data / "test.jsonl")], tmp_path)  # no Python, no hook
    header, *records = [json.loads(line) for line in log.read_text().splitlines()]
    kernel = open_watch.unavailable_reason() is None
    assert header["event"] == "recorder"
    assert header["detail"].startswith("kernel watch" if kernel else "Python hook only")
    written = [r for r in records if r["event"] == "evaluate-write"]
    assert [r["detail"] for r in written] == [str((tmp_path / "eval.log").resolve())]
    records = [r for r in records if r not in written]
    expected = ["open", "posttrainbench.test_split", "posttrainbench.test_split"]
    if kernel:  # the Python reader again, and cat, which only the kernel sees
        expected += ["open (kernel)", "open (kernel)"]
    assert sorted(r["event"] for r in records) == sorted(expected)
    assert all("evaluate.py" not in r["cmdline"] for r in records)
    context: AuditContext = replace(make_context(), access_log=log)
    findings = detect_access(context)
    assert {f.severity for f in findings} == {"flag"}
    # One per command line (the shell's child has the same one); cat only with the kernel.
    assert len(findings) == (3 if kernel else 2)
    assert any(str(f.evidence["cmdline"]).endswith(GENERATE) for f in findings)
    assert all(f.evidence["recorded_by"] == header["detail"] for f in findings)


def test_files_evaluate_py_wrote_are_warnings_not_flags(
    tmp_path: Path, make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    written = context.workspace / ".local" / "share" / "inspect_ai" / "buffer.db"
    written.parent.mkdir(parents=True)
    written.write_text(gsm_items[0].question)
    (context.workspace / "copy.txt").write_text(gsm_items[0].question)  # the agent's copy
    Path(str(written) + "-wal").write_text(gsm_items[1].question)
    log = tmp_path / "access.jsonl"
    record = {"event": "evaluate-write", "detail": str(written.resolve()), "cmdline": "e"}
    log.write_text(json.dumps(record) + "\n")
    findings = contamination(replace(context, access_log=log))
    by_file = {
        str(f.evidence["file"]): f.severity for f in findings if "matched_items" in f.evidence
    }
    assert by_file == {
        ".local/share/inspect_ai/buffer.db": "warning",
        ".local/share/inspect_ai/buffer.db-wal": "warning",
        "copy.txt": "flag",
    }
    assert detect_access(replace(context, access_log=log))[0].severity == "info"


def test_no_record_vouches_for_nothing(make_context: MakeContext, tmp_path: Path) -> None:
    assert [f.severity for f in detect_access(make_context())] == ["info"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    findings = detect_access(replace(make_context(), access_log=empty))
    assert [f.severity for f in findings] == ["info"]
    assert "Python hook only" in findings[0].message  # an old log: coverage not overstated


def test_coverage_is_the_weakest_recorder_claim_and_never_a_read(
    make_context: MakeContext, tmp_path: Path
) -> None:
    # A resumed solve writes its recorder line again; an agent may forge one in between.
    log = tmp_path / "access.jsonl"
    lines = [
        {"event": "recorder", "detail": "kernel watch and Python hook"},
        {"event": "recorder", "detail": "Python hook only: forged by the agent"},
        {"event": "recorder", "detail": "kernel watch and Python hook"},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))

    (finding,) = detect_access(replace(make_context(), access_log=log))

    assert finding.severity == "info"
    assert "Python hook only: forged by the agent" in finding.message


def test_a_sandbox_with_its_own_python_gets_the_hook_only_and_says_so(
    tmp_path: Path, make_context: MakeContext
) -> None:
    data = _data_folder(tmp_path)
    log = tmp_path / "access.jsonl"
    recorder = AccessRecorder(
        tmp_path / ".fifo", log, watched=[data], exempt=tmp_path / "evaluate.py", kernel_watch=False
    )
    with recorder:
        _run(recorder, ["cat", str(data / "test.jsonl")], tmp_path)

    (finding,) = detect_access(replace(make_context(), access_log=log))
    assert finding.severity == "info"  # cat is invisible to the hook, and the report says so
    assert "Python hook only: the sandbox runs its own Python" in finding.message
