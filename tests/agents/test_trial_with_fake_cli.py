"""A CLI scaffold inside a real trial and a real sandbox, with a fake CLI replaying a stream.

Covers what the runner does around the agent: secrets redacted from raw.jsonl as written
and from the trace, trace.json written after solve, continue-until-budget resumes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import pytest

from posttrainbench.agents import SCAFFOLDS, get_agent
from posttrainbench.agents.session import write_trace
from posttrainbench.errors import TrialFailed
from posttrainbench.executors import run_trials
from posttrainbench.sandbox import SandboxRequest, get_sandbox
from posttrainbench.testing import install_fake_cli
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir

from .streams import STREAMS

PLANTED = "sk-ant-api03-PLANTEDsecretVALUE-0123456789"
KEY_OF = {
    "claude-code": "ANTHROPIC_API_KEY",
    "codex": "OPENAI_API_KEY",
    "gemini-cli": "GEMINI_API_KEY",
    "gemini-cli-legacy": "GEMINI_API_KEY",
    "opencode": "ANTHROPIC_API_KEY",
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_planted_key_never_reaches_disk(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream_format = name.removesuffix("-legacy")
    scaffold = SCAFFOLDS[stream_format]
    key = KEY_OF[name]
    prefix = tmp_path / "npm"
    lines = [line.replace("${PLANTED}", "${" + key + "}") for line in STREAMS[name]]
    # The CLI also echoes the key on stderr, as a crashing CLI printing its config would.
    lines.append(f'{{"type": "debug", "config": "key=${{{key}}}"}}')
    install_fake_cli(prefix, scaffold.binary, lines)
    monkeypatch.setenv("PTB_NPM_PREFIX", str(prefix))
    monkeypatch.setenv(key, PLANTED)
    model = "anthropic/claude-sonnet-4-5" if stream_format == "opencode" else ""
    agent = get_agent(stream_format, model)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Train.")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workspace), key: PLANTED}
    raw = tmp_path / "agent" / "raw.jsonl"
    binary = prefix / "node_modules" / ".bin" / scaffold.binary
    result = get_sandbox("process").run(
        SandboxRequest(
            argv=[str(binary)],
            cwd=workspace,
            env=env,
            time_limit_s=60,
            output_path=raw,
            stdin_path=prompt,
            secrets=[PLANTED],
        )
    )
    assert result.exit_code == 0
    stored = raw.read_text()
    assert PLANTED not in stored and "[REDACTED]" in stored
    trace_path = tmp_path / "agent" / "trace.json"
    write_trace(agent, stream_format, raw, trace_path, [PLANTED])
    assert PLANTED not in trace_path.read_text()
    assert "[REDACTED]" in trace_path.read_text()


def test_trial_resumes_until_budget_and_writes_a_redacted_trace(
    tiny_model: Path, runs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "npm"
    lines = [line.replace("${PLANTED}", "${ANTHROPIC_API_KEY}") for line in STREAMS["claude-code"]]
    resumed = json.dumps(
        {
            "type": "result",
            "subtype": "success",
            "session_id": "sess-claude-1",
            "total_cost_usd": 0.5,
        }
    )
    install_fake_cli(
        prefix,
        "claude",
        lines,
        commands=[f"cp -r {tiny_model} final_model"],
        resume_lines=[resumed],
    )
    spec = TrialSpec(
        agent="claude-code",
        agent_config="claude-sonnet-4-5?continue=0&max_resumes=2",
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
    )
    # On the local queue of this process, as `ptb run` runs it; the worker dies after collect
    # (the agent's part of a trial). What the harness prints is what `ptb run` would print.
    env = {
        "PTB_NPM_PREFIX": str(prefix),
        "ANTHROPIC_API_KEY": PLANTED,
        "PTB_FAILPOINTS": "audit.start",
    }
    printed: list[str] = []
    with mock.patch.dict(os.environ, env), pytest.raises(TrialFailed, match="code -9"):
        run_trials([spec], runs_root, log=printed.append)
    assert printed and PLANTED not in "\n".join(printed)
    paths = TrialPaths(trial_dir(runs_root, spec))
    outcome = json.loads(paths.solve_outcome.read_text())
    assert outcome["outcome"] == "exited" and outcome["resumes"] == 2
    # The CLI runs with $HOME at the trial's agent_home folder.
    argv_log = (paths.agent_home / ".fake-cli-argv").read_text().splitlines()
    assert len(argv_log) == 3 and "'sess-claude-1'" in argv_log[1]
    for stored in (paths.raw_stream, paths.trace):
        assert PLANTED not in stored.read_text()
    trace = json.loads(paths.trace.read_text())
    kinds = [step.get("extra", {}).get("kind") for step in trace["steps"]]
    assert kinds.count("resume") == 2
    commands = [
        call["arguments"].get("command")
        for step in trace["steps"]
        for call in step.get("tool_calls", [])
    ]
    assert commands[0] == "bash task/timer.sh"
    assert trace["final_metrics"]["total_cost_usd"] == pytest.approx(0.0133 + 2 * 0.5)
    assert json.loads(paths.submission.read_text())["present"] is True
