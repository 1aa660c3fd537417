"""CLI scaffolds: config syntax, invocations, credentials, and failing early."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.agents import SCAFFOLDS, AgentContext, CliAgent, get_agent
from posttrainbench.agents._options import parse_options
from posttrainbench.errors import UserError
from posttrainbench.testing import install_fake_cli
from posttrainbench.trial.agent_env import agent_environment

JUDGE_KEYS = {"OPENAI_API_KEY": "sk-judge-key-0000000000", "HF_TOKEN": "hf_secret_token_000000"}


def agent(name: str, config: str, host: dict[str, str]) -> CliAgent:
    built = get_agent(name, config)
    assert isinstance(built, CliAgent)
    return CliAgent(built.scaffold, built.options, host)


def context(tmp_path: Path) -> AgentContext:
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    return AgentContext(
        workspace=workspace,
        task_dir=workspace / "task",
        final_model=workspace / "final_model",
        prompt_path=tmp_path / "prompt.txt",
        base_model=tmp_path / "model",
        benchmark="arith",
        deadline=0.0,
        gpus=0,
        python="python",
    )


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    root = tmp_path / "npm"
    for scaffold in SCAFFOLDS.values():
        install_fake_cli(root, scaffold.binary, [])
    return root


def test_config_syntax() -> None:
    options = parse_options("codex", "gpt-5.2?effort=high&continue=30", ("high",))
    assert (options.model, options.effort, options.continue_min) == ("gpt-5.2", "high", 30.0)
    assert parse_options("codex", "", ()).model is None
    with pytest.raises(UserError, match="Unknown option 'efort'"):
        parse_options("codex", "gpt-5.2?efort=high", ("high",))
    with pytest.raises(UserError, match="effort must be one of"):
        parse_options("codex", "gpt-5.2?effort=huge", ("low", "high"))
    with pytest.raises(UserError, match="must be a number"):
        parse_options("codex", "?continue=soon", ())


def test_codex_invocation(prefix: Path, tmp_path: Path) -> None:
    host = {"PTB_NPM_PREFIX": str(prefix), "OPENAI_API_KEY": "sk-agent-key-123456789"}
    codex = agent("codex", "gpt-5.2?effort=high&base_url=http://127.0.0.1:9/v1", host)
    ctx = context(tmp_path)
    invocation = codex.invocation(ctx)
    argv = list(invocation.argv)
    assert argv[0] == str(prefix / "node_modules" / ".bin" / "codex")
    assert argv[1:3] == ["exec", "--json"]
    assert "--dangerously-bypass-approvals-and-sandbox" in argv and argv[-1] == "-"
    assert argv[argv.index("--model") + 1] == "gpt-5.2"
    assert 'model_reasoning_effort="high"' in argv
    assert any('base_url="http://127.0.0.1:9/v1"' in part for part in argv)
    assert invocation.stdin_path == ctx.prompt_path  # the prompt never goes into argv
    assert invocation.env["CODEX_HOME"] == f"{ctx.workspace}/.codex"
    assert (ctx.workspace / ".codex").is_dir()
    assert prefix in invocation.mounts
    resumed = codex.resume_invocation(ctx, "thread-1", tmp_path / "msg.txt")
    assert resumed.argv[resumed.argv.index("resume") + 1] == "thread-1"


def test_claude_code_invocation_and_subscription(prefix: Path, tmp_path: Path) -> None:
    host = {"PTB_NPM_PREFIX": str(prefix), "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat-token-123456"}
    claude = agent("claude-code", "claude-opus-4-6?effort=high", host)
    argv = list(claude.invocation(context(tmp_path)).argv)
    assert argv[1:5] == ["-p", "--output-format", "stream-json", "--verbose"]
    assert "--dangerously-skip-permissions" in argv
    assert argv[argv.index("--effort") + 1] == "high"
    assert list(claude.env_keys) == ["CLAUDE_CODE_OAUTH_TOKEN"]
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        agent("claude-code", "?auth=api_key", host).preflight()


def test_codex_subscription_copies_auth_json(prefix: Path, tmp_path: Path) -> None:
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "auth.json").write_text(
        '{"tokens": {"access_token": "eyJ-access-token-0123456789"}}'
    )
    host = {"PTB_NPM_PREFIX": str(prefix), "CODEX_HOME": str(codex_home)}
    codex = agent("codex", "gpt-5.2?auth=subscription", host)
    ctx = context(tmp_path)
    argv = list(codex.invocation(ctx).argv)
    assert 'forced_login_method="chatgpt"' in argv
    assert (ctx.workspace / ".codex" / "auth.json").read_text().count("eyJ-access-token") == 1
    assert "eyJ-access-token-0123456789" in codex.secrets()
    assert list(codex.env_keys) == []


def test_only_the_scaffolds_keys_reach_the_sandbox(prefix: Path, tmp_path: Path) -> None:
    host = {
        "PTB_NPM_PREFIX": str(prefix),
        "ANTHROPIC_API_KEY": "sk-ant-agent-123456789",
        **JUDGE_KEYS,
    }
    claude = agent("claude-code", "", host)
    env = agent_environment(tmp_path, 0, claude.env_keys, {}, host)
    assert env["ANTHROPIC_API_KEY"] == host["ANTHROPIC_API_KEY"]
    assert not set(JUDGE_KEYS) & set(env)
    opencode = agent("opencode", "anthropic/claude-sonnet-4-5", host)
    assert list(opencode.env_keys) == ["ANTHROPIC_API_KEY"]  # not the OpenAI (judge) key


@pytest.mark.parametrize("name", sorted(SCAFFOLDS))
def test_missing_cli_fails_with_the_install_command(name: str, tmp_path: Path) -> None:
    host = {"PTB_NPM_PREFIX": str(tmp_path / "empty"), "PATH": str(tmp_path)}
    model = "anthropic/claude-sonnet-4-5" if name == "opencode" else ""
    built = agent(name, model, host)
    with pytest.raises(UserError, match=f"ptb agents install {name}"):
        built.preflight()


@pytest.mark.parametrize("name", sorted(SCAFFOLDS))
def test_missing_key_fails_naming_the_variable(name: str, prefix: Path) -> None:
    model = "anthropic/claude-sonnet-4-5" if name == "opencode" else ""
    built = agent(name, model, {"PTB_NPM_PREFIX": str(prefix), "HOME": "/nonexistent"})
    expected = {
        "claude-code": "CLAUDE_CODE_OAUTH_TOKEN",
        "codex": "OPENAI_API_KEY",
        "gemini-cli": "GEMINI_API_KEY",
        "opencode": "ANTHROPIC_API_KEY",
    }[name]
    with pytest.raises(UserError, match=expected):
        built.preflight()


def test_bad_configs_are_user_errors() -> None:
    with pytest.raises(UserError, match="no reasoning-effort"):
        get_agent("gemini-cli", "gemini-2.5-pro?effort=high")
    with pytest.raises(UserError, match="needs a model"):
        get_agent("opencode", "")
    with pytest.raises(UserError, match="auth must be one of"):
        get_agent("gemini-cli", "?auth=subscription")
