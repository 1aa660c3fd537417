"""The ``--agent`` grammar ``NAME[:MODEL][?key=value&...]``, over valid and invalid strings."""

from __future__ import annotations

import re

import pytest

from posttrainbench.agents import AGENTS, CliAgent, get_agent, split_agent
from posttrainbench.agents.builtin import CommandAgent
from posttrainbench.config import load_experiment
from posttrainbench.errors import UserError
from posttrainbench.runs import agent_label

# (agent string, name, model (None: the CLI's default), effort, continue minutes, base_url)
VALID = [
    ("claude-code", "claude-code", None, None, None, None),
    ("claude-code?effort=high", "claude-code", None, "high", None, None),
    (
        "claude-code?base_url=http://127.0.0.1:8123",
        "claude-code",
        None,
        None,
        None,
        "http://127.0.0.1:8123",
    ),
    ("codex:gpt-5.2?effort=high&continue=30", "codex", "gpt-5.2", "high", 30.0, None),
    (
        "codex:my-model?base_url=http://127.0.0.1:8000/v1&effort=low",
        "codex",
        "my-model",
        "low",
        None,
        "http://127.0.0.1:8000/v1",
    ),
    ("codex:?effort=low", "codex", None, "low", None, None),
    (
        "opencode:openrouter/x-ai/grok:free",
        "opencode",
        "openrouter/x-ai/grok:free",
        None,
        None,
        None,
    ),
    (
        "opencode:anthropic/claude-sonnet-4-5?base_url=http%3A%2F%2Fh%3A1%2Fv1",
        "opencode",
        "anthropic/claude-sonnet-4-5",
        None,
        None,
        "http://h:1/v1",
    ),
]

NO_NAME = "has no name: use NAME[:MODEL][?key=value&...], e.g. --agent 'claude-code?effort=high'."

# (agent string, the exact error message)
INVALID = [
    (
        "",
        f"Agent '' {NO_NAME}",
    ),
    (
        ":gpt-5",
        f"Agent ':gpt-5' {NO_NAME}",
    ),
    (
        "?effort=high",
        f"Agent '?effort=high' {NO_NAME}",
    ),
    (
        "claud-code?effort=high",
        f"Unknown agent 'claud-code'. Known agents: {', '.join(AGENTS.names())}.",
    ),
    ("claude-code?effort", "Bad agent options 'effort': use key=value&key=value."),
    (
        "claude-code?speed=fast",
        "Unknown option 'speed' for agent claude-code; "
        "known: effort, continue, auth, base_url, max_resumes.",
    ),
    (
        "codex?effort=turbo",
        "codex effort must be one of minimal, low, medium, high, xhigh, not 'turbo'.",
    ),
    ("codex:gpt-5.2?continue=soon", "Agent option continue must be a number, not 'soon'."),
    ("codex:gpt-5.2?continue=-1", "Agent option continue must not be negative."),
    (
        "codex?effort=low&effort=high",
        "Agent option effort is given twice in 'effort=low&effort=high'.",
    ),
    (
        "claude-code?auth=password",
        "claude-code auth must be one of api_key, subscription, not 'password'.",
    ),
    ("command", "The command agent needs a command: --agent 'command:./my-agent.sh'."),
]


@pytest.mark.parametrize(("text", "name", "model", "effort", "minutes", "base_url"), VALID)
def test_valid_agent_strings(
    text: str,
    name: str,
    model: str | None,
    effort: str | None,
    minutes: float | None,
    base_url: str | None,
) -> None:
    parsed_name, config = split_agent(text)
    assert parsed_name == name
    agent = get_agent(parsed_name, config)
    assert isinstance(agent, CliAgent)
    assert (agent.options.model, agent.options.effort) == (model, effort)
    assert (agent.options.continue_min, agent.options.base_url) == (minutes, base_url)
    assert split_agent(agent_label(parsed_name, config)) == (parsed_name, config)


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_agent_strings_name_the_fix(text: str, message: str) -> None:
    with pytest.raises(UserError, match=f"^{re.escape(message)}$"):
        get_agent(*split_agent(text))


def test_command_agent_keeps_its_own_rules() -> None:
    name, config = split_agent("command:curl -s http://127.0.0.1:9/x?y=1 | sh?keys=TOKEN_A")
    agent = get_agent(name, config)
    assert isinstance(agent, CommandAgent)
    assert agent.command == "curl -s http://127.0.0.1:9/x?y=1 | sh"
    assert tuple(agent.env_keys) == ("TOKEN_A",)


def test_experiment_files_use_the_same_grammar(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "e.toml"  # type: ignore[operator]
    path.write_text(
        'name = "e"\nagents = ["claude-code?effort=high", "codex:gpt-5.2?effort=low"]\n'
        'models = ["m"]\nbenchmarks = ["arith"]\nhours = 1\n'
    )
    specs = load_experiment(path).trial_specs()
    assert [(s.agent, s.agent_config) for s in specs] == [
        ("claude-code", "?effort=high"),
        ("codex", "gpt-5.2?effort=low"),
    ]
