"""Experiment files: a TOML matrix of trials -> validated pydantic models -> TrialSpecs.

An experiment file names the agents, base models, benchmarks, time budgets and replicates
to cross, the GPUs each trial gets, the sandbox, the executor that runs the trials and the
judge settings. Every problem in the file is reported with the file, line and key::

    name = "qwen-sweep"
    agents = ["noop", "reference"]
    models = ["Qwen/Qwen3-1.7B-Base"]
    benchmarks = ["gsm8k", "humaneval"]
    hours = [10]
    replicates = 3
    gpus = 1
    network = "internet"   # or "none", or "allow" with allow_hosts = ["pypi.org", ...]

    [executor]
    type = "slurm"
    partition = "gpu"
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from posttrainbench._registry import Registry
from posttrainbench.agents import split_agent
from posttrainbench.errors import UserError
from posttrainbench.judge import JudgeSettings
from posttrainbench.runs import RunsLayout
from posttrainbench.sandbox.limits import LimitSettings
from posttrainbench.sandbox.network import NetworkMode, NetworkPolicy
from posttrainbench.trial import TrialSpec

__all__ = [
    "EXECUTORS",
    "ExecutorSettings",
    "ExperimentConfig",
    "LoadedExperiment",
    "executor_settings",
    "load_experiment",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ExecutorSettings(BaseModel):
    """The ``[executor]`` table; ``type`` picks the executor.

    Each executor's own subclass of this model (its ``settings_model``) declares and
    validates the other keys.
    """

    model_config = ConfigDict(extra="forbid")

    type: str = "local"
    """Executor name (a key of :data:`EXECUTORS`) or a ``module:Class`` path."""


EXECUTORS: Registry[Any] = Registry(
    "executor",
    {
        "local": "posttrainbench.executors.local:LocalExecutor",
        "slurm": "posttrainbench.executors.slurm:SlurmExecutor",
    },
)
"""Executor name -> ``module:Class`` (an ``executors.base.Executor``), imported lazily."""


def executor_settings(table: Mapping[str, Any]) -> ExecutorSettings:
    """Validate an ``[executor]`` table with the settings model of the executor it names.

    Raises:
        ValueError: The type names no executor (pydantic reports it at ``executor``).
        ValidationError: A key is missing, unknown or of the wrong type.
    """
    kind = str(table.get("type", "local"))
    try:
        executor = EXECUTORS.resolve(kind)
    except UserError as error:
        raise ValueError(str(error)) from error
    settings: ExecutorSettings = executor.settings_model.model_validate({"type": kind, **table})
    return settings


class ExperimentConfig(BaseModel):
    """One experiment file: the trial matrix and how to run it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """Experiment name: the folder of its trials under the runs directory."""
    agents: list[str] = Field(min_length=1)
    """Agents as ``name`` or ``name:config``."""
    models: list[str] = Field(min_length=1)
    """Base models: Hugging Face ids or local directories (relative to the file)."""
    benchmarks: list[str] = Field(min_length=1)
    """Benchmark ids."""
    hours: list[Annotated[float, Field(gt=0, le=168)]] = Field(min_length=1)
    """Time budgets in hours; a single number is one budget."""
    replicates: int = Field(default=1, ge=1, le=100)
    """Independent trials per cell of the matrix."""
    gpus: int = Field(default=0, ge=0, le=16)
    """GPUs per trial."""
    sandbox: str = "auto"
    """Sandbox backend: ``auto``, ``process``, ``bwrap`` or a ``module:attr`` path."""
    honeytokens: bool = False
    """Plant decoy API keys in each agent's environment; the audit flags any use."""
    network: NetworkMode = "internet"
    """The agents' network: ``internet``, ``none`` or ``allow`` (only ``allow_hosts``)."""
    allow_hosts: list[str] = []
    """With ``network = "allow"``: ``NAME``, IPv4 address or CIDR range, optional ``:PORT``."""
    audit_llm_judge: bool = False
    """Also ask the LLM judge (the ``[judge]`` endpoint) about each trial in the audit."""
    protocol: Literal["paper", "greedy"] = "paper"
    """Final-evaluation protocol: ``paper`` (upstream's seeds and sampling, with the base
    model's generation config) or ``greedy`` (one greedy decode)."""
    limits: LimitSettings = LimitSettings()
    """Memory, process and disk limits of each agent (``[limits]``; unset: from the machine)."""
    runs_dir: str = "runs"
    """Runs directory, relative to the experiment file unless absolute."""
    executor: ExecutorSettings = Field(
        default_factory=lambda: executor_settings({"type": "local"}), validate_default=False
    )
    """Where the trials run."""
    judge: JudgeSettings | None = None
    """LLM judge settings, for benchmarks and audits that need one."""

    @model_validator(mode="after")
    def _network_policy_is_valid(self) -> ExperimentConfig:
        self.network_policy()
        return self

    def network_policy(self) -> NetworkPolicy:
        """``network`` and ``allow_hosts`` as the trials' policy."""
        return NetworkPolicy(mode=self.network, allow=tuple(self.allow_hosts))

    @field_validator("executor", mode="before")
    @classmethod
    def _executor_of_its_type(cls, value: object) -> object:
        return executor_settings(value) if isinstance(value, Mapping) else value

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (at most 64)")
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _one_budget_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, int | float) else value

    @field_validator("agents", "models", "benchmarks")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an entry twice")
        if any(not entry.strip() for entry in value):
            raise ValueError("has an empty entry")
        return value


class LoadedExperiment(BaseModel):
    """An experiment file after validation, with its paths resolved."""

    model_config = ConfigDict(frozen=True)

    path: Path
    """The experiment file."""
    config: ExperimentConfig
    """What it says."""
    runs_root: Path
    """The absolute runs directory."""

    @property
    def experiment_dir(self) -> Path:
        """Where the trials of this experiment live."""
        return RunsLayout(self.runs_root).experiment_dir(self.config.name)

    def trial_specs(self) -> list[TrialSpec]:
        """Every trial of the matrix, in a stable order (ids are deterministic)."""
        config = self.config
        specs = []
        for agent, model, benchmark, hours, replicate in itertools.product(
            config.agents,
            config.models,
            config.benchmarks,
            config.hours,
            range(1, config.replicates + 1),
        ):
            name, agent_config = split_agent(agent)
            specs.append(
                TrialSpec(
                    agent=name,
                    agent_config=agent_config,
                    model=self._model_ref(model),
                    benchmark=benchmark,
                    hours=hours,
                    gpus=config.gpus,
                    replicate=replicate,
                    experiment=config.name,
                    sandbox=config.sandbox,
                    honeytokens=config.honeytokens,
                    audit_llm_judge=config.audit_llm_judge,
                    limits=config.limits,
                    network=config.network_policy(),
                    protocol=config.protocol,
                )
            )
        return specs

    def _model_ref(self, model: str) -> str:
        local = Path(model).expanduser()
        if not local.is_absolute():
            local = self.path.parent / local
        return str(local.resolve()) if local.is_dir() else model


def load_experiment(path: Path, *, check_names: bool = True) -> LoadedExperiment:
    """Read and validate an experiment file.

    Args:
        path: The TOML file.
        check_names: Also check every agent, benchmark and sandbox name against the
            registries, so a typo fails now rather than when its trial starts.

    Raises:
        UserError: The file is missing, is not TOML, or says something invalid; the
            message names the file, line and key.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"Cannot read the experiment file {path}: {error.strerror}.") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(_toml_error(path, text, error)) from error
    lines = key_lines(text)
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{_where(path, lines, problem['loc'])}: {problem['msg']}{_suggestion(problem)}"
            for problem in error.errors()
        ]
        raise UserError("Invalid experiment file:\n  " + "\n  ".join(problems)) from error
    runs_root = Path(config.runs_dir).expanduser()
    if not runs_root.is_absolute():
        runs_root = path.parent / runs_root
    loaded = LoadedExperiment(path=path, config=config, runs_root=runs_root.absolute())
    if check_names:
        _check_names(loaded, lines)
    return loaded


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _toml_error(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
    """``file:line: not valid TOML: ...`` at the line the mistake is on.

    tomllib reports where it noticed the problem; at the start of a line (column 1) that
    is the line after the mistake (an unclosed array or string), so the previous line
    that holds anything is named.
    """
    message = str(error)
    match = _TOML_AT.search(message)
    if match is None:
        return f"{path}: not valid TOML: {message}."
    line, column = int(match.group(1)), int(match.group(2))
    reason = message[: match.start()].strip()
    if column == 1 and line > 1:
        earlier = text.splitlines()[: line - 1]
        filled = [n for n, content in enumerate(earlier, start=1) if content.strip()]
        line = filled[-1] if filled else line
    return f"{path}:{line}: not valid TOML: {reason} (noticed at line {match.group(1)})."


def _keys_at(table: str | None) -> set[str]:
    """The valid keys at the top of the file (None) or in its ``[judge]``/``[executor]``."""
    if table is None:
        return set(ExperimentConfig.model_fields)
    if table == "judge":
        return set(JudgeSettings.model_fields)
    if table != "executor":
        return set()
    keys: set[str] = set()
    for name in EXECUTORS.names():
        try:
            keys |= set(EXECUTORS.resolve(name).settings_model.model_fields)
        except UserError:  # an executor whose optional dependency is missing
            continue
    return keys


def _suggestion(problem: Mapping[str, object]) -> str:
    """`` (did you mean 'replicates'?)`` for an unknown key close to a valid one."""
    loc = problem.get("loc")
    if problem.get("type") != "extra_forbidden" or not isinstance(loc, tuple) or not loc:
        return ""
    valid = _keys_at(str(loc[0]) if len(loc) > 1 else None)
    if not valid:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), sorted(valid), n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (valid keys: {', '.join(sorted(valid))})"


def _check_names(loaded: LoadedExperiment, lines: dict[tuple[str, ...], int]) -> None:
    from posttrainbench.agents import get_agent
    from posttrainbench.benchmarks import get_benchmark
    from posttrainbench.sandbox import SANDBOXES

    config, path = loaded.config, loaded.path
    checks: list[tuple[str, Callable[[], object]]] = [
        *(("agents", functools.partial(get_agent, *split_agent(a))) for a in config.agents),
        *(("benchmarks", functools.partial(get_benchmark, b)) for b in config.benchmarks),
    ]
    if config.sandbox != "auto":
        checks.append(("sandbox", functools.partial(SANDBOXES.resolve, config.sandbox)))
    for key, check in checks:
        try:
            check()
        except UserError as error:
            raise UserError(f"{_where(path, lines, (key,))}: {error}") from error


def _where(path: Path, lines: dict[tuple[str, ...], int], loc: Sequence[int | str]) -> str:
    """``file:line: key`` for a pydantic error location (the line of the nearest key set)."""
    known = {key[:n] for key in lines for n in range(1, len(key) + 1)}
    keys: tuple[str, ...] = ()
    label = ""
    for part in loc:
        if isinstance(part, int):
            label += f"[{part}]"
        elif (*keys, part) in known:
            keys = (*keys, part)
            label += f".{part}" if label else part
        else:
            label += f".{part}" if label else part
    line = next((lines[keys[:n]] for n in range(len(keys), 0, -1) if keys[:n] in lines), None)
    return f"{path}:{line}: {label or '(file)'}" if line else f"{path}: {label or '(file)'}"


_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="
)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path of a TOML document (tables and keys) to its 1-based line.

    A light scan rather than a TOML parser: enough to point an error at the line that set
    a key (tables, dotted keys, quoted keys); lines inside multi-line strings or arrays
    are skipped where they cannot start a key.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth = 0  # open brackets of a multi-line array
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if in_string in line:
                in_string = None
            continue
        if depth == 0:
            if match := _TABLE.match(line):
                table = _split_key(match.group(1))
                lines.setdefault(table, number)
                continue
            if match := _KEY.match(line):
                lines.setdefault((*table, *_split_key(match.group(1))), number)
                rest = line[match.end() :]
                for quote in ('"""', "'''"):
                    if rest.count(quote) == 1:
                        in_string = quote
                depth = max(0, _bracket_balance(rest))
                continue
        else:
            depth = max(0, depth + _bracket_balance(line))
    return lines


def _split_key(key: str) -> tuple[str, ...]:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)", key)
    return tuple(next(p for p in part if p) if any(part) else "" for part in parts)


def _bracket_balance(text: str) -> int:
    text = re.sub(r"\"(?:\\.|[^\"\\])*\"|'[^']*'", "", text.split("#", 1)[0])
    return text.count("[") - text.count("]")
