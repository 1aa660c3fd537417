"""Agent CLIs as data: a ``CliScaffold`` says how to run one; ``CliAgent`` runs it.

Argument templates may use ``{model}``, ``{effort}``, ``{base_url}``, ``{session}`` and
``{workspace}``; the prompt always reaches the CLI on stdin, never on its command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import override

from posttrainbench.agents._options import CliOptions, parse_options
from posttrainbench.agents.base import Agent, AgentContext, AgentInvocation
from posttrainbench.agents.install import find_binary, npm_prefix
from posttrainbench.agents.parsers import parse_stream
from posttrainbench.agents.trace import Trajectory
from posttrainbench.errors import UserError

__all__ = ["AuthMode", "CliAgent", "CliScaffold"]


@dataclass(frozen=True)
class AuthMode:
    """One way a CLI can authenticate."""

    name: str
    """``api_key`` or ``subscription``."""
    env_any: tuple[str, ...] = ()
    """Host variables of which at least one must be set; those set are passed in."""
    host_file: str | None = None
    """A credentials file copied into the sandbox (``~`` and ``$VARS`` expanded)."""
    file_env: str | None = None
    """Host variable that, when set, names the directory holding ``host_file``'s name."""
    sandbox_file: str | None = None
    """Where that file goes, relative to the workspace (the agent's ``HOME``)."""
    args: tuple[str, ...] = ()
    """Extra CLI arguments this mode needs."""

    def host_path(self, host: Mapping[str, str]) -> Path | None:
        """The credentials file on the host, if this mode uses one."""
        if self.host_file is None:
            return None
        if self.file_env and host.get(self.file_env):
            return Path(host[self.file_env]) / Path(self.host_file).name
        if self.host_file.startswith("~/") and host.get("HOME"):
            return Path(host["HOME"]) / self.host_file[2:]
        return Path(self.host_file).expanduser()

    def ready(self, host: Mapping[str, str]) -> bool:
        """Whether the host has what this mode needs."""
        path = self.host_path(host)
        if path is not None and not path.is_file():
            return False
        return not self.env_any or any(host.get(key) for key in self.env_any)

    def needs(self) -> str:
        """What to set or provide, in words."""
        wants = []
        if self.env_any:
            wants.append(" or ".join(self.env_any))
        if self.host_file:
            wants.append(f"the file {self.host_file}")
        return " and ".join(wants)


@dataclass(frozen=True)
class CliScaffold:
    """Everything the harness knows about one agent CLI."""

    name: str
    binary: str
    npm_package: str
    npm_version: str
    """Pinned version that ``ptb agents install`` installs."""
    stream_format: str
    """Parser of its output (``posttrainbench.agents.parsers``)."""
    run: tuple[str, ...]
    """Arguments of a non-interactive run with streamed JSON and permissions bypassed."""
    resume: tuple[str, ...]
    """Arguments that continue session ``{session}`` with a new message on stdin."""
    auth: tuple[AuthMode, ...]
    model_args: tuple[str, ...] = ()
    effort_args: tuple[str, ...] = ()
    """Arguments setting the reasoning effort (empty: the CLI has no such setting)."""
    efforts: tuple[str, ...] = ()
    base_url_args: tuple[str, ...] = ()
    base_url_env: str | None = None
    """Variable the CLI reads an API base URL from (also passed through from the host)."""
    base_url_json: tuple[str, ...] = ()
    """``(file, key, key...)``: the JSON setting (in one of ``files``) a base URL goes to;
    ``{provider}`` in a key is the ``provider/`` part of the model name."""
    prompt_args: tuple[str, ...] = ()
    """Arguments that make the CLI read its prompt from stdin (placed last)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Fixed variables (templates) for the CLI inside the sandbox."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Files written into the workspace before the run (relative path -> template)."""
    dirs: tuple[str, ...] = ()
    """Folders created in the workspace before the run (the CLI's state directory)."""
    default_model: str | None = None
    requires_model: bool = False
    provider_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For ``provider/model`` names: the only variables that provider's key may come from."""


@dataclass(frozen=True)
class CliAgent(Agent):
    """An agent CLI configured for a trial: it supports every capability of ``Agent``."""

    scaffold: CliScaffold
    options: CliOptions
    host: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    """The host environment keys and credential paths are taken from."""

    @classmethod
    def configure(cls, scaffold: CliScaffold, config: str) -> CliAgent:
        """``MODEL?effort=E&continue=M&auth=api_key|subscription&base_url=U``."""
        options = parse_options(scaffold.name, config, scaffold.efforts)
        if options.effort and not scaffold.effort_args:
            raise UserError(f"{scaffold.name} has no reasoning-effort setting; drop effort=.")
        if options.auth and options.auth not in {mode.name for mode in scaffold.auth}:
            modes = ", ".join(mode.name for mode in scaffold.auth)
            raise UserError(f"{scaffold.name} auth must be one of {modes}, not '{options.auth}'.")
        if scaffold.requires_model and not (options.model or scaffold.default_model):
            raise UserError(
                f"{scaffold.name} needs a model: --agent '{scaffold.name}:provider/model'."
            )
        return cls(scaffold, options)

    # -- the Agent contract -------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The model the CLI is told to use (None: the CLI's default)."""
        return self.options.model or self.scaffold.default_model

    @property
    @override
    def env_keys(self) -> Sequence[str]:
        """Host variables passed in: the chosen auth mode's keys that are set, the base URL."""
        mode = self._auth_mode()
        keys = [key for key in self._mode_keys(mode) if self.host.get(key)] if mode else []
        base = self.scaffold.base_url_env
        if base and self.host.get(base) and not self.options.base_url:
            keys.append(base)
        return keys

    @override
    def preflight(self) -> None:
        """Fail before the trial starts when the CLI is missing or no credentials are set."""
        if self._binary() is None:
            raise UserError(
                f"The {self.scaffold.name} CLI ('{self.scaffold.binary}') is not installed: run "
                f"'ptb agents install {self.scaffold.name}' (npm {self.scaffold.npm_package}"
                f"@{self.scaffold.npm_version}) or put it on PATH."
            )
        if self._auth_mode() is None:
            wanted = "; or ".join(
                f"{mode.name}: {mode.needs()}"
                for mode in self.scaffold.auth
                if self.options.auth in (None, mode.name)
            )
            raise UserError(f"{self.scaffold.name} has no credentials. Set {wanted}.")

    @override
    def invocation(self, context: AgentContext) -> AgentInvocation:
        """Start the CLI on the prompt (on stdin)."""
        self.preflight()
        self._write_setup(context.workspace)
        return self._invocation(context, self.scaffold.run, context.prompt_path, session="")

    @override
    def resume_invocation(
        self, context: AgentContext, session: str, message: Path
    ) -> AgentInvocation:
        """Continue ``session`` with ``message`` (on stdin)."""
        return self._invocation(context, self.scaffold.resume, message, session=session)

    @property
    @override
    def continue_min(self) -> float | None:
        """Minutes of budget above which an ended session is resumed (None: off)."""
        return self.options.continue_min

    @property
    @override
    def max_resumes(self) -> int:
        """Upper bound on resumes in one trial."""
        return self.options.max_resumes

    @override
    def secrets(self, env: Mapping[str, str] | None = None) -> list[str]:
        """Every credential value the agent is given (from its host), for redaction."""
        values = [
            self.host[key]
            for mode in self.scaffold.auth
            for key in mode.env_any
            if self.host.get(key)
        ]
        mode = self._auth_mode()
        path = mode.host_path(self.host) if mode else None
        if path is not None and path.is_file():
            text = path.read_text()
            try:
                values += _strings(json.loads(text))
            except json.JSONDecodeError:
                values += [line.strip() for line in text.splitlines()]
        return values

    @override
    def parse_trace(self, raw_stream: Path, agent_name: str = "") -> Trajectory:
        """The normalised trace of ``raw_stream`` (agent/raw.jsonl) in the CLI's format."""
        trace = parse_stream(
            raw_stream, self.scaffold.stream_format, self.scaffold.name, self.model
        )
        trace.agent.extra = {"effort": self.options.effort, "auth": self._auth_name()}
        return trace

    # -- helpers ------------------------------------------------------------------------------

    def _binary(self) -> Path | None:
        return find_binary(self.scaffold.binary, _prefix(self.host))

    def _mode_keys(self, mode: AuthMode) -> tuple[str, ...]:
        provider = (self.model or "").partition("/")[0]
        return (
            self.scaffold.provider_env.get(provider, mode.env_any)
            if "/" in (self.model or "")
            else mode.env_any
        )

    def _auth_mode(self) -> AuthMode | None:
        for mode in self.scaffold.auth:
            if self.options.auth not in (None, mode.name):
                continue
            keys = self._mode_keys(mode)
            if mode.ready(self.host) and (not keys or any(self.host.get(k) for k in keys)):
                return mode
        return None

    def _auth_name(self) -> str | None:
        mode = self._auth_mode()
        return mode.name if mode else None

    def _values(self, context: AgentContext, session: str) -> dict[str, str]:
        return {
            "model": self.model or "",
            "effort": self.options.effort or "",
            "base_url": self.options.base_url or "",
            "session": session,
            "workspace": str(context.workspace),
        }

    def _invocation(
        self, context: AgentContext, args: tuple[str, ...], stdin: Path, session: str
    ) -> AgentInvocation:
        binary = self._binary()
        assert binary is not None, "preflight() checks the binary"
        scaffold, values = self.scaffold, self._values(context, session)
        argv = [str(binary), *args]
        if self.model:
            argv += scaffold.model_args
        if self.options.effort:
            argv += scaffold.effort_args
        if self.options.base_url:
            argv += scaffold.base_url_args
        mode = self._auth_mode()
        argv += (mode.args if mode else ()) + scaffold.prompt_args
        env = {key: value.format(**values) for key, value in scaffold.env.items()}
        if self.options.base_url and scaffold.base_url_env:
            env[scaffold.base_url_env] = self.options.base_url
        node = find_binary("node")
        mounts = {_install_root(path) for path in (binary, node) if path is not None}
        return AgentInvocation(
            argv=[part.format(**values) for part in argv],
            env=env,
            stdin_path=stdin,
            mounts=tuple(sorted(m for m in mounts if not m.is_relative_to("/usr"))),
        )

    def _setup_file(self, relative: str, text: str) -> str:
        path = self.scaffold.base_url_json
        if not (self.options.base_url and path and path[0] == relative):
            return text
        provider = (self.model or "").partition("/")[0]
        document = json.loads(text)
        keys = [key.format(provider=provider) for key in path[1:]]
        _set_path(document, keys, self.options.base_url)
        return json.dumps(document, indent=2)

    def _write_setup(self, workspace: Path) -> None:
        values = {
            "workspace": str(workspace),
            "model": self.model or "",
            "base_url": self.options.base_url or "",
        }
        for relative in self.scaffold.dirs:
            (workspace / relative).mkdir(parents=True, exist_ok=True)
        for relative, template in self.scaffold.files.items():
            target = workspace / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self._setup_file(relative, template.format(**values)))
        mode = self._auth_mode()
        source = mode.host_path(self.host) if mode else None
        if mode and source and mode.sandbox_file:
            target = workspace / mode.sandbox_file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(0o600)


def _set_path(document: dict[str, Any], keys: Sequence[str], value: str) -> None:
    for key in keys[:-1]:
        document = document.setdefault(key, {})
    document[keys[-1]] = value


def _prefix(host: Mapping[str, str]) -> Path | None:
    configured = host.get("PTB_NPM_PREFIX")
    return Path(configured).expanduser().absolute() if configured else npm_prefix()


def _install_root(binary: Path) -> Path:
    """The folder to expose so that ``binary`` (often a symlink into a package) runs."""
    resolved = binary.resolve()
    for parent in resolved.parents:
        if parent.name == "node_modules":
            return parent.parent
    return resolved.parent


def _strings(value: object) -> list[str]:
    # Tokens and keys are long; short values (modes, dates) are not secrets.
    if isinstance(value, str):
        return [value] if len(value) >= 20 else []
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
