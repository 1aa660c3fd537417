"""Behaviour every sandbox backend shares, run for real on each available backend."""

from __future__ import annotations

import json
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.errors import UserError
from posttrainbench.sandbox import (
    BwrapSandbox,
    Mount,
    ProcessSandbox,
    Sandbox,
    SandboxRequest,
    SandboxResult,
)

pytestmark = pytest.mark.timeout(60)

ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")

# The agent and every process it starts ignore SIGTERM; the grandchild carries a unique
# marker in its argv so that it can be found in the host's /proc (even from a PID namespace).
STUBBORN_TREE = """
trap '' TERM
( exec -a "$1" sleep 600 ) &
echo $! > grandchild.pid
sleep 600
"""


@pytest.fixture(params=["process", "bwrap"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    backend: Sandbox = ProcessSandbox() if request.param == "process" else BwrapSandbox()
    reason = backend.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return backend


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def make_request(workspace: Path, argv: list[str], **options: Any) -> SandboxRequest:
    options.setdefault("env", ENV)
    options.setdefault("time_limit_s", 30.0)
    return SandboxRequest(
        argv=argv,
        cwd=workspace,
        output_path=workspace.parent / "agent" / "stream.jsonl",
        mounts=[Mount(workspace, writable=True)],
        **options,
    )


def records(request: SandboxRequest) -> list[dict[str, str]]:
    return [json.loads(line) for line in request.output_path.read_text().splitlines()]


def stdout_of(request: SandboxRequest) -> list[str]:
    return [record["line"] for record in records(request) if record["stream"] == "stdout"]


def running_with(marker: str) -> list[int]:
    """Host pids whose command line holds ``marker`` (zombies have none, so never match)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def run_stubborn_tree(sandbox: Sandbox, workspace: Path, marker: str) -> SandboxResult:
    script = workspace / "agent.sh"
    script.write_text(STUBBORN_TREE)
    request = make_request(
        workspace, ["bash", str(script), marker], time_limit_s=2.0, kill_grace_s=1.0
    )
    return sandbox.run(request)


def test_environment_is_exactly_the_allow_list(
    sandbox: Sandbox, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TEST_SECRET", "hunter2")
    request = make_request(workspace, ["env"], env={**ENV, "PTB_VISIBLE": "yes"})

    result = sandbox.run(request)

    assert result.exit_code == 0
    expected = {**ENV, "PTB_VISIBLE": "yes"}
    if sandbox.name == "bwrap":
        expected["PWD"] = str(workspace)  # bwrap --chdir always sets it
    assert sorted(stdout_of(request)) == sorted(f"{key}={value}" for key, value in expected.items())
    assert "hunter2" not in request.output_path.read_text()


def test_exit_code_is_the_top_process_status(sandbox: Sandbox, workspace: Path) -> None:
    result = sandbox.run(make_request(workspace, ["sh", "-c", "exit 3"]))

    assert result == SandboxResult(exit_code=3, timed_out=False, duration_s=result.duration_s)


def test_time_limit_kills_the_whole_tree(sandbox: Sandbox, workspace: Path) -> None:
    marker = f"ptb-marker-{uuid.uuid4().hex}"

    result = run_stubborn_tree(sandbox, workspace, marker)

    assert result.timed_out
    assert result.exit_code is None
    assert running_with(marker) == []
    if sandbox.name == "process":  # elsewhere the pid is one of the sandbox's namespace
        stat = Path(f"/proc/{int((workspace / 'grandchild.pid').read_text())}/stat")
        # Reaping the orphan is init's job: a zombie is as dead as a missing entry.
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_sigterm_gives_the_agent_its_grace(sandbox: Sandbox, workspace: Path) -> None:
    script = "trap 'echo saved > saved.txt; exit 0' TERM\nsleep 600 &\nwait $!\n"
    request = make_request(workspace, ["bash", "-c", script], time_limit_s=1.0, kill_grace_s=20)

    result = sandbox.run(request)

    assert result == SandboxResult(exit_code=0, timed_out=True, duration_s=result.duration_s)
    assert (workspace / "saved.txt").read_text() == "saved\n"


def test_leftover_daemon_is_killed_after_a_normal_exit(sandbox: Sandbox, workspace: Path) -> None:
    marker = f"ptb-marker-{uuid.uuid4().hex}"
    # A new session escapes the process group; the pause lets the tree be polled once.
    script = f"setsid bash -c 'trap \"\" TERM HUP; exec -a {marker} sleep 600' & sleep 0.5"

    result = sandbox.run(make_request(workspace, ["bash", "-c", script]))

    assert result == SandboxResult(exit_code=0, timed_out=False, duration_s=result.duration_s)
    assert running_with(marker) == []


def test_output_is_appended_as_timestamped_json_lines(sandbox: Sandbox, workspace: Path) -> None:
    for attempt in (1, 2):
        code = f"import sys; print('out {attempt}'); sys.stderr.write('err {attempt}')"
        request = make_request(workspace, ["python", "-c", code])
        assert sandbox.run(request).exit_code == 0

    lines = records(request)
    assert sorted((record["stream"], record["line"]) for record in lines) == [
        ("stderr", "err 1"),
        ("stderr", "err 2"),
        ("stdout", "out 1"),
        ("stdout", "out 2"),
    ]
    assert all(TIMESTAMP.fullmatch(record["ts"]) for record in lines)
    # Each attempt's lines follow the earlier attempt's, in time and in the file.
    assert [record["line"][-1] for record in lines] == ["1", "1", "2", "2"]
    stamps = [datetime.fromisoformat(record["ts"]) for record in lines]
    assert stamps == sorted(stamps)
    assert all(stamp.tzinfo == UTC for stamp in stamps)


def test_stdin_reaches_the_process_but_no_command_line(
    sandbox: Sandbox, workspace: Path, tmp_path: Path
) -> None:
    prompt = f"secret prompt {uuid.uuid4().hex}"
    stdin = tmp_path / "prompt.txt"
    stdin.write_text(prompt)
    code = (
        "import sys, pathlib; data = sys.stdin.read(); print(data);"
        "cmdlines = [p.read_bytes() for p in pathlib.Path('/proc').glob('[0-9]*/cmdline')];"
        "print(any(data.encode() in c for c in cmdlines))"
    )
    request = make_request(workspace, ["python", "-c", code], stdin_path=stdin)

    assert sandbox.run(request).exit_code == 0
    assert stdout_of(request) == [prompt, "False"]
    assert prompt not in " ".join(request.argv)


def test_stdin_is_empty_without_a_file(sandbox: Sandbox, workspace: Path) -> None:
    request = make_request(workspace, ["python", "-c", "import sys; print(len(sys.stdin.read()))"])

    assert sandbox.run(request).exit_code == 0
    assert stdout_of(request) == ["0"]


def test_process_backend_kills_a_setsid_escape_at_the_limit(workspace: Path) -> None:
    marker = f"ptb-marker-{uuid.uuid4().hex}"
    script = (
        f"setsid bash -c 'trap \"\" TERM HUP; exec -a {marker} sleep 600' &\n"
        "trap '' TERM\nsleep 600\n"
    )
    request = make_request(workspace, ["bash", "-c", script], time_limit_s=1.0, kill_grace_s=0.5)

    result = ProcessSandbox().run(request)

    assert result.timed_out
    assert running_with(marker) == []


def test_a_missing_command_is_a_user_error(workspace: Path) -> None:
    with pytest.raises(UserError, match="no-such-agent-cli"):
        ProcessSandbox().run(make_request(workspace, ["no-such-agent-cli"]))
