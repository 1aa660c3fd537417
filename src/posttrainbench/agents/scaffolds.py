"""The four agent CLIs of the paper, declared as data, and their registry factories."""

from __future__ import annotations

import json
from typing import Any

from posttrainbench.agents.cli import AuthMode, CliAgent, CliScaffold

__all__ = [
    "CLAUDE_CODE",
    "CODEX",
    "GEMINI_CLI",
    "OPENCODE",
    "SCAFFOLDS",
    "claude_code",
    "codex",
    "gemini_cli",
    "opencode",
]

# Tools run for hours (training jobs): let one shell call last up to the whole budget.
_LONG_MS = str(12 * 3600 * 1000)


def _config_file(settings: dict[str, Any]) -> str:
    """A JSON config file's text, braces escaped for the scaffold's ``str.format``."""
    return json.dumps(settings, indent=2).replace("{", "{{").replace("}", "}}")


_CLAUDE_CODE_OUTPUT = (
    "--output-format",
    "stream-json",
    "--verbose",
    "--dangerously-skip-permissions",
)

CLAUDE_CODE = CliScaffold(
    name="claude-code",
    binary="claude",
    npm_package="@anthropic-ai/claude-code",
    npm_version="2.1.328",
    stream_format="claude-code",
    run=("-p", *_CLAUDE_CODE_OUTPUT),
    resume=("-p", "--resume", "{session}", *_CLAUDE_CODE_OUTPUT),
    auth=(
        AuthMode("api_key", env_any=("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")),
        AuthMode("subscription", env_any=("CLAUDE_CODE_OAUTH_TOKEN",)),
    ),
    model_args=("--model", "{model}"),
    effort_args=("--effort", "{effort}"),
    efforts=("low", "medium", "high", "xhigh", "max"),
    base_url_env="ANTHROPIC_BASE_URL",
    env={
        # Claude Code refuses to skip permissions as root unless told it is sandboxed.
        "IS_SANDBOX": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "BASH_DEFAULT_TIMEOUT_MS": _LONG_MS,
        "BASH_MAX_TIMEOUT_MS": _LONG_MS,
    },
)

_CODEX_RUN = (
    "exec",
    "--json",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
)

CODEX = CliScaffold(
    name="codex",
    binary="codex",
    npm_package="@openai/codex",
    npm_version="0.169.0",
    stream_format="codex",
    run=_CODEX_RUN,
    resume=(*_CODEX_RUN, "resume", "{session}"),
    auth=(
        AuthMode("api_key", env_any=("OPENAI_API_KEY",)),
        AuthMode(
            "subscription",
            host_file="~/.codex/auth.json",
            file_env="CODEX_HOME",
            sandbox_file=".codex/auth.json",
            args=("-c", 'forced_login_method="chatgpt"'),
        ),
    ),
    model_args=("--model", "{model}"),
    effort_args=("-c", 'model_reasoning_effort="{effort}"', "-c", 'model_reasoning_summary="auto"'),
    efforts=("minimal", "low", "medium", "high", "xhigh"),
    base_url_args=(
        "-c",
        'model_provider="ptb"',
        "-c",
        'model_providers.ptb={{name="ptb", base_url="{base_url}", env_key="OPENAI_API_KEY", '
        'wire_api="responses"}}',
    ),
    prompt_args=("-",),
    env={"CODEX_HOME": "{workspace}/.codex"},
    dirs=(".codex",),
)

# Headless Gemini CLI needs its auth type chosen in settings; no telemetry, no updates.
_GEMINI_SETTINGS = _config_file(
    {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"disableAutoUpdate": True},
        "privacy": {"usageStatisticsEnabled": False},
    }
)
_GEMINI_RUN = ("--yolo", "--sandbox=false", "--output-format", "stream-json")

GEMINI_CLI = CliScaffold(
    name="gemini-cli",
    binary="gemini",
    npm_package="@google/gemini-cli",
    npm_version="0.61.0",
    stream_format="gemini-cli",
    run=_GEMINI_RUN,
    resume=(*_GEMINI_RUN, "--resume", "latest"),
    auth=(AuthMode("api_key", env_any=("GEMINI_API_KEY", "GOOGLE_API_KEY")),),
    model_args=("--model", "{model}"),
    base_url_env="GOOGLE_GEMINI_BASE_URL",
    # Headless mode needs -p; its text is appended to the prompt read from stdin.
    prompt_args=("-p", "Follow the instructions above."),
    env={"GEMINI_CLI_TRUST_WORKSPACE": "true"},
    files={".gemini/settings.json": _GEMINI_SETTINGS},
)

_OPENCODE_CONFIG = _config_file(
    {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "permission": {"edit": "allow", "bash": "allow", "webfetch": "allow"},
    }
)
_OPENCODE_RUN = ("run", "--format", "json", "--auto")

OPENCODE = CliScaffold(
    name="opencode",
    binary="opencode",
    npm_package="opencode-ai",
    npm_version="1.18.33",
    stream_format="opencode",
    run=_OPENCODE_RUN,
    resume=(*_OPENCODE_RUN, "--session", "{session}"),
    auth=(
        AuthMode(
            "api_key",
            env_any=(
                "ANTHROPIC_API_KEY",
                "OPENAI_API_KEY",
                "GOOGLE_GENERATIVE_AI_API_KEY",
                "OPENROUTER_API_KEY",
            ),
        ),
    ),
    model_args=("--model", "{model}"),
    effort_args=("--variant", "{effort}"),
    efforts=("minimal", "low", "medium", "high", "max"),
    files={".config/opencode/opencode.json": _OPENCODE_CONFIG},
    base_url_json=(
        ".config/opencode/opencode.json",
        "provider",
        "{provider}",
        "options",
        "baseURL",
    ),
    env={"OPENCODE_DISABLE_AUTOUPDATE": "true", "OPENCODE_DISABLE_SHARE": "true"},
    requires_model=True,
    provider_env={
        "anthropic": ("ANTHROPIC_API_KEY",),
        "openai": ("OPENAI_API_KEY",),
        "google": ("GOOGLE_GENERATIVE_AI_API_KEY",),
        "openrouter": ("OPENROUTER_API_KEY",),
    },
)

SCAFFOLDS = {s.name: s for s in (CLAUDE_CODE, CODEX, GEMINI_CLI, OPENCODE)}
"""Agent CLIs by scaffold name."""


def claude_code(config: str) -> CliAgent:
    """``claude-code[:MODEL][?effort=...]``."""
    return CliAgent.configure(CLAUDE_CODE, config)


def codex(config: str) -> CliAgent:
    """``codex[:MODEL][?effort=...]``."""
    return CliAgent.configure(CODEX, config)


def gemini_cli(config: str) -> CliAgent:
    """``gemini-cli[:MODEL]``."""
    return CliAgent.configure(GEMINI_CLI, config)


def opencode(config: str) -> CliAgent:
    """``opencode:PROVIDER/MODEL[?effort=...]``."""
    return CliAgent.configure(OPENCODE, config)
