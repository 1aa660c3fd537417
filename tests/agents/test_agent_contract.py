"""The Agent contract: a plug-in states only how it starts; the rest has defaults."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from posttrainbench.agents import Agent, AgentContext, AgentInvocation, get_agent
from posttrainbench.agents.session import agent_secrets, continuation, trace_of
from posttrainbench.errors import UserError

PLUGIN = """
from posttrainbench.agents import Agent, AgentInvocation


class Echo(Agent):
    env_keys = ("ECHO_KEY",)

    def invocation(self, context):
        return AgentInvocation(argv=["echo", "hi"])


def echo(config):
    return Echo()


def not_an_agent(config):
    class Lookalike:
        env_keys = ()

        def invocation(self, context):
            return AgentInvocation(argv=["true"])

    return Lookalike()
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "ptb_echo_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "ptb_echo_plugin"
    sys.modules.pop("ptb_echo_plugin", None)


def context(tmp_path: Path) -> AgentContext:
    return AgentContext(
        workspace=tmp_path,
        task_dir=tmp_path / "task",
        final_model=tmp_path / "final_model",
        prompt_path=tmp_path / "prompt.txt",
        base_model=tmp_path / "base",
        benchmark="arith-mini",
        deadline=0.0,
        gpus=0,
        python=sys.executable,
    )


def test_a_plugin_agent_gets_every_capability_by_default(plugin: str, tmp_path: Path) -> None:
    agent = get_agent(f"{plugin}:echo")
    assert isinstance(agent, Agent)
    agent.preflight()  # nothing to check
    assert agent_secrets(agent, {"ECHO_KEY": "k-1", "OTHER": "x"}) == ["k-1"]
    assert (agent.eval_few_shot, agent.harness_submission) == (0, False)
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"ts": "2026-01-01T00:00:00+00:00", "stream": "stdout", "line": "hi"}\n')
    trace = trace_of(agent, "echo", raw)
    assert [step.message for step in trace.steps] == ["hi"]
    # No session to resume: the runner never asks it to continue.
    message = tmp_path / "continue.txt"
    assert continuation(agent, context(tmp_path), raw, message, 3600.0, 0) is None
    assert not message.exists()


def test_a_factory_that_builds_no_agent_is_refused(plugin: str) -> None:
    with pytest.raises(UserError, match="Lookalike, which is not a posttrainbench.agents.Agent"):
        get_agent(f"{plugin}:not_an_agent")


def test_invocation_is_the_one_required_member() -> None:
    class Partial(Agent):
        pass

    with pytest.raises(TypeError, match="invocation"):
        Partial()  # type: ignore[abstract]
    assert AgentInvocation(argv=["x"]).stdin_path is None
