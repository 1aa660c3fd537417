"""What the trial runner asks of any agent around its run: checks, resumes, trace, secrets.

Each question goes to the agent's own member of the ``Agent`` contract (defaults there):
CLI scaffolds resume sessions and parse their stream format; ``noop``, ``reference`` and
``command`` have no session to resume, and each line they print is a step of the trace.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from posttrainbench._fileio import atomic_write_text
from posttrainbench._redact import Redactor
from posttrainbench.agents.base import CUT_SHORT_FILE, Agent, AgentContext, AgentInvocation
from posttrainbench.agents.parsers import HARNESS_STREAM
from posttrainbench.agents.trace import Trajectory

__all__ = [
    "CONTINUE_MESSAGE",
    "agent_secrets",
    "append_harness_event",
    "continuation",
    "cut_short_of",
    "preflight",
    "trace_of",
    "usage_of",
    "write_trace",
]

CONTINUE_MESSAGE = (
    "Time remains in your budget: about {minutes} minutes (run `bash task/timer.sh`). "
    "Keep improving the model in final_model/: evaluate it, try further improvements, and "
    "make sure final_model/ holds your best model before the time is up."
)


def preflight(agent: Agent) -> None:
    """Raise a ``UserError`` when ``agent`` cannot start here (CLI missing, key unset)."""
    agent.preflight()


def agent_secrets(agent: Agent, env: dict[str, str]) -> list[str]:
    """Values to redact from everything stored: the agent's keys, tokens, credentials."""
    return agent.secrets(env)


def continuation(
    agent: Agent,
    context: AgentContext,
    raw_stream: Path,
    message_path: Path,
    remaining_s: float,
    resumes: int,
) -> AgentInvocation | None:
    """The invocation that resumes the agent's session, or None when it should not resume.

    It resumes only a CLI scaffold run with ``continue=M``, when more than M minutes are
    left and fewer than ``max_resumes`` resumes happened; the message is written to
    ``message_path`` and a ``resume`` record is appended to the raw stream.
    """
    if agent.continue_min is None:
        return None
    if remaining_s <= agent.continue_min * 60 or resumes >= agent.max_resumes:
        return None
    session = agent.parse_trace(raw_stream, "").session_id
    message = CONTINUE_MESSAGE.format(minutes=int(remaining_s // 60))
    atomic_write_text(message_path, message + "\n")
    append_harness_event(
        raw_stream,
        {
            "kind": "resume",
            "resume": resumes + 1,
            "session_id": session,
            "remaining_s": round(remaining_s),
            "message": message,
        },
    )
    return agent.resume_invocation(context, session, message_path)


def append_harness_event(raw_stream: Path, event: dict[str, Any]) -> None:
    """Append a harness record (``stream: "harness"``) to the raw stream."""
    record = {
        "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
        "stream": HARNESS_STREAM,
        "line": json.dumps(event, ensure_ascii=False),
    }
    with raw_stream.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def trace_of(agent: Agent, agent_name: str, raw_stream: Path) -> Trajectory:
    """Parse ``raw_stream`` with the agent's stream format (plain lines by default)."""
    return agent.parse_trace(raw_stream, agent_name)


def write_trace(
    agent: Agent, agent_name: str, raw_stream: Path, trace_path: Path, secrets: Sequence[str] = ()
) -> Trajectory:
    """Parse the raw stream and write the redacted trace to ``trace_path``."""
    trace = trace_of(agent, agent_name, raw_stream)
    redact = Redactor(secrets)
    trace_path.parent.mkdir(parents=True, exist_ok=True)
    text = trace.model_dump_json(indent=2, exclude_none=True)
    atomic_write_text(trace_path, redact(text) if redact else text)
    return trace


def usage_of(trace_path: Path) -> dict[str, Any]:
    """``prompt_tokens``, ``completion_tokens``, ``cost_usd`` of a trial (None: not reported)."""
    if not trace_path.is_file():
        return {"prompt_tokens": None, "completion_tokens": None, "cost_usd": None}
    totals = Trajectory.model_validate_json(trace_path.read_text()).final_metrics
    reported = totals.total_prompt_tokens or totals.total_completion_tokens
    return {
        "prompt_tokens": totals.total_prompt_tokens if reported else None,
        "completion_tokens": totals.total_completion_tokens if reported else None,
        "cost_usd": totals.total_cost_usd,
    }


_CUT_SHORT_MAX_BYTES = 300


def cut_short_of(outcome: str, workspace: Path) -> str | None:
    """How the time budget cut the agent's work short, or None when it finished.

    An agent stopped at its limit (``timed_out``, ``time_over``) was cut short; one that
    exited may say so itself in ``CUT_SHORT_FILE`` (the reference recipe does when its
    deadline stops training). That file is the agent's, so it is read as untrusted text:
    never through a link, at most a few hundred bytes, first line only.
    """
    if outcome in {"timed_out", "time_over"}:
        return "stopped at the time limit"
    path = workspace / CUT_SHORT_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        data = handle.read(_CUT_SHORT_MAX_BYTES)
    line = data.decode("utf-8", errors="replace").strip().splitlines()
    return line[0][:200] if line else "reported by the agent"
