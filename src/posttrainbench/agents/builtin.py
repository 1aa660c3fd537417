"""Built-in agents.

``noop`` submits the base model, ``reference`` runs the fixed SFT recipe, and ``command``
runs any CLI given as a shell command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from typing_extensions import override

from posttrainbench.agents.base import CUT_SHORT_FILE, Agent, AgentContext, AgentInvocation
from posttrainbench.errors import UserError

__all__ = ["CommandAgent", "NoopAgent", "ReferenceAgent"]

_KEYS_SUFFIX = re.compile(r"\?keys=([A-Za-z_][A-Za-z0-9_]*(?:,[A-Za-z_][A-Za-z0-9_]*)*)\s*$")
"""``?keys=A,B`` at the end of a command agent's config: host variables to pass in."""


@dataclass(frozen=True)
class NoopAgent(Agent):
    """Copies the base model to final_model unchanged: scores the base score."""

    env_keys: Sequence[str] = ()

    @classmethod
    def from_config(cls, config: str) -> NoopAgent:
        """The noop agent takes no configuration."""
        if config:
            raise UserError("The noop agent takes no configuration (use --agent noop).")
        return cls()

    @override
    def invocation(self, context: AgentContext) -> AgentInvocation:
        """Copy the base model with the harness's Python inside the sandbox."""
        return AgentInvocation(
            argv=[
                context.python,
                "-m",
                "posttrainbench.agents.noop",
                str(context.base_model),
                str(context.final_model),
            ]
        )


@dataclass(frozen=True)
class ReferenceAgent(Agent):
    """The fixed, non-agentic SFT recipe on the benchmark's allowed training data."""

    steps: int | None = None
    env_keys: Sequence[str] = ()
    train_size: int = 2000
    """Records drawn from the benchmark's reference data (before decontamination)."""
    lr: float | None = None
    """Peak learning rate (None: the recipe's choice for the model's size)."""

    @classmethod
    def from_config(cls, config: str) -> ReferenceAgent:
        """``reference``, or ``reference:`` with ``steps=N``, ``lr=X`` or both (comma between)."""
        values: dict[str, Any] = {}
        for part in filter(None, config.split(",")):
            key, _, value = part.partition("=")
            try:
                if key == "steps" and value.isdigit():
                    values["steps"] = int(value)
                elif key == "lr" and float(value) > 0:
                    values["lr"] = float(value)
                else:
                    raise ValueError(part)
            except ValueError:
                raise UserError(
                    f"Bad reference agent config '{config}': expected steps=N, lr=X or "
                    "steps=N,lr=X (e.g. reference:steps=600,lr=0.003)."
                ) from None
        return cls(**values)

    @override
    def invocation(self, context: AgentContext) -> AgentInvocation:
        """Prepare the decontaminated data, then run the SFT recipe until done or the deadline.

        The records are prepared here, on the host (the data cache is not in the sandbox),
        into ``reference-data/train.jsonl`` of the workspace.
        """
        from posttrainbench.agents._reference_data import reference_records, write_records
        from posttrainbench.benchmarks import get_benchmark

        prepared = reference_records(get_benchmark(context.benchmark), self.train_size)
        data = context.workspace / "reference-data" / "train.jsonl"
        write_records(prepared.records, data)
        argv = [
            context.python,
            "-m",
            "posttrainbench.agents.sft_recipe",
            "--base-model",
            str(context.base_model),
            "--benchmark",
            context.benchmark,
            "--output-dir",
            str(context.final_model),
            "--deadline",
            f"{context.deadline:.0f}",
            "--data",
            str(data),
            "--cut-short-file",
            str(context.workspace / CUT_SHORT_FILE),
        ]
        if self.steps is not None:
            argv += ["--steps", str(self.steps)]
        if self.lr is not None:
            argv += ["--lr", repr(self.lr)]
        return AgentInvocation(argv=argv)


@dataclass(frozen=True)
class CommandAgent(Agent):
    """Any CLI, given as a shell command with placeholders.

    Placeholders: ``{prompt_file}``, ``{workspace}``, ``{task_dir}``, ``{final_model}``,
    ``{base_model}``, ``{python}``. The prompt also arrives on stdin. The agent's
    environment holds no host variables unless named by a trailing ``?keys=A,B``
    (``command:./my-agent.sh?keys=OPENAI_API_KEY``); the harness's own ``PTB_*``
    settings (the judge's key among them) are refused.
    """

    command: str
    env_keys: Sequence[str] = ()

    @classmethod
    def from_config(cls, config: str) -> CommandAgent:
        """``command:<shell command>`` or ``command:<shell command>?keys=A,B``."""
        keys: tuple[str, ...] = ()
        match = _KEYS_SUFFIX.search(config)
        if match:
            keys = tuple(dict.fromkeys(match.group(1).split(",")))
            config = config[: match.start()]
        if not config.strip():
            raise UserError("The command agent needs a command: --agent 'command:./my-agent.sh'.")
        harness = [key for key in keys if key.upper().startswith("PTB_")]
        if harness:
            raise UserError(
                f"The command agent cannot be given {', '.join(harness)}: PTB_* variables "
                "(the judge's key among them) are the harness's and never reach an agent."
            )
        return cls(command=config, env_keys=keys)

    @override
    def invocation(self, context: AgentContext) -> AgentInvocation:
        """Run the command under bash with placeholders filled in (shell-quoted)."""
        values = {
            "prompt_file": context.prompt_path,
            "workspace": context.workspace,
            "task_dir": context.task_dir,
            "final_model": context.final_model,
            "base_model": context.base_model,
            "python": context.python,
        }
        try:
            script = self.command.format(**{k: shlex.quote(str(v)) for k, v in values.items()})
        except (KeyError, IndexError, ValueError) as error:
            raise UserError(f"Bad placeholder in agent command: {error}") from error
        return AgentInvocation(argv=["bash", "-c", script], stdin_path=context.prompt_path)
