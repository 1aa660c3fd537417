"""Export finished trials in the layout of a Harbor trial directory.

Per trial, under ``OUT/<trial_id>/``: ``agent/trajectory.json`` (the trace, ATIF),
``verifier/reward.txt`` and ``verifier/reward.json`` (the score), ``result.json`` and
``config.json`` (shaped like Harbor's trial result and config, with the fields this
harness can fill), ``task/instruction.md`` (the prompt the agent got) and
``posttrainbench/`` (our own result and trial record, unchanged).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from posttrainbench._fileio import atomic_write_text
from posttrainbench.agents.trace import Trajectory
from posttrainbench.errors import UserError
from posttrainbench.results import TrialResult
from posttrainbench.trial.layout import TrialPaths
from posttrainbench.trial.spec import TrialSpec

__all__ = ["atif_problems", "export_trial", "trajectory_data"]

_NOTHING_PRINTED = "(the agent printed nothing)"


def atif_problems(trajectory: dict[str, Any]) -> list[str]:
    """Where a trajectory breaks ATIF's rules (step ids 1..n, observations answer calls)."""
    problems = []
    for index, step in enumerate(trajectory.get("steps", []), start=1):
        if step.get("step_id") != index:
            problems.append(f"step {index} has step_id {step.get('step_id')}")
        if step.get("source") not in {"system", "user", "agent"}:
            problems.append(f"step {index} has source {step.get('source')!r}")
        calls = {call["tool_call_id"] for call in step.get("tool_calls") or ()}
        for result in (step.get("observation") or {}).get("results", []):
            source = result.get("source_call_id")
            if source is not None and source not in calls:
                problems.append(f"step {index}: observation of unknown call {source}")
    return problems


def _trajectory(paths: TrialPaths) -> dict[str, Any]:
    return trajectory_data(Trajectory.model_validate_json(paths.trace.read_text(encoding="utf-8")))


def trajectory_data(trace: Trajectory) -> dict[str, Any]:
    """``trace`` as the JSON of an ATIF trajectory that Harbor's ``Trajectory`` accepts.

    ATIF wants at least one step: a trace of an agent that printed nothing gets one system
    step saying so, rather than ``steps: []``.
    """
    data: dict[str, Any] = trace.model_dump(mode="json", exclude_none=True)
    if not data["steps"]:
        data["steps"] = [{"step_id": 1, "source": "system", "message": _NOTHING_PRINTED}]
    # Our parsers attach a result to the step that made the call; keep any that is not
    # (a result of an earlier step's call) but drop its reference, as ATIF requires.
    for step in data["steps"]:
        calls = {call["tool_call_id"] for call in step.get("tool_calls") or ()}
        for result in (step.get("observation") or {}).get("results", []):
            if result.get("source_call_id") not in calls | {None}:
                extra = result.setdefault("extra", {})
                extra["answers_call"] = result.pop("source_call_id")
    return data


def _timestamps(paths: TrialPaths) -> tuple[str | None, str | None, str | None, str | None]:
    """Started and finished times of the trial and of its solve phase."""
    started = finished = solve_start = solve_end = None
    if paths.events.is_file():
        for line in paths.events.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            at = record.get("ts")
            if not isinstance(at, str):
                continue
            started = started or at
            finished = at
            if record.get("phase") == "solve":
                if record.get("event") == "start" and solve_start is None:
                    solve_start = at
                elif record.get("event") == "end":
                    solve_end = at
    return started, finished, solve_start, solve_end


def export_trial(trial_dir: Path, out_dir: Path) -> Path:
    """Write ``trial_dir`` as a Harbor trial directory ``out_dir/<trial_id>``; returns it.

    Raises:
        UserError: The trial has not finished (no result.json) or has no trace.
    """
    paths = TrialPaths(trial_dir)
    if not paths.result.is_file():
        raise UserError(f"{trial_dir} has not finished (no result.json): nothing to export.")
    if not paths.trace.is_file():
        raise UserError(f"{trial_dir} has no agent trace (agent/trace.json).")
    record = json.loads(paths.trial_json.read_text(encoding="utf-8"))
    spec = TrialSpec.model_validate(record["spec"])
    result = TrialResult.model_validate_json(paths.result.read_text(encoding="utf-8"))
    trajectory = _trajectory(paths)
    problems = atif_problems(trajectory)
    if problems:
        raise UserError(f"The trace of {trial_dir} is not valid ATIF: {'; '.join(problems)}.")

    target = out_dir / spec.trial_id
    if target.exists():
        shutil.rmtree(target)
    instruction = paths.prompt.read_text(encoding="utf-8")
    task_name = f"posttrainbench/{spec.benchmark}/{Path(spec.model.rstrip('/')).name}"
    agent_model = trajectory["agent"].get("model_name") or spec.agent_config or None

    atomic_write_text(target / "task" / "instruction.md", instruction)
    atomic_write_text(target / "agent" / "trajectory.json", json.dumps(trajectory, indent=2))
    rewards: dict[str, float] = {}
    if result.score is not None:
        rewards["reward"] = result.score
        atomic_write_text(target / "verifier" / "reward.txt", f"{result.score}\n")
    for name in ("raw_score", "base_score"):
        value = getattr(result, name)
        if value is not None:
            rewards[name] = value
    atomic_write_text(target / "verifier" / "reward.json", json.dumps(rewards, indent=2))

    started, finished, solve_start, solve_end = _timestamps(paths)
    config = {
        "trial_name": spec.trial_id,
        "task": {"path": "task"},
        "agent": {"name": spec.agent, "model_name": agent_model},
        "timeout_multiplier": 1.0,
        "posttrainbench": spec.model_dump(mode="json"),
    }
    final = trajectory.get("final_metrics", {})
    harbor_result = {
        "task_name": task_name,
        "trial_name": spec.trial_id,
        "trial_uri": target.absolute().as_uri(),
        "task_id": {"path": "task"},
        "source": "posttrainbench",
        "task_checksum": hashlib.sha256(instruction.encode("utf-8")).hexdigest(),
        "config": config,
        "agent_info": {
            "name": trajectory["agent"]["name"],
            "version": trajectory["agent"].get("version", "unknown"),
            "model_info": ({"name": agent_model, "provider": spec.agent} if agent_model else None),
        },
        "agent_result": {
            "n_input_tokens": final.get("total_prompt_tokens"),
            "n_cache_tokens": final.get("total_cached_tokens"),
            "n_output_tokens": final.get("total_completion_tokens"),
            "cost_usd": final.get("total_cost_usd"),
            "metadata": {"solve_outcome": result.solve_outcome},
        },
        "verifier_result": {"rewards": rewards or None},
        "exception_info": None,
        "started_at": started,
        "finished_at": finished,
        "agent_execution": {"started_at": solve_start, "finished_at": solve_end},
        "posttrainbench": {
            "audit_verdict": result.audit_verdict,
            "fallback_reason": result.fallback_reason,
        },
    }
    atomic_write_text(target / "config.json", json.dumps(config, indent=2))
    atomic_write_text(target / "result.json", json.dumps(harbor_result, indent=2))
    (target / "posttrainbench").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.result, target / "posttrainbench" / "result.json")
    shutil.copyfile(paths.trial_json, target / "posttrainbench" / "trial.json")
    return target
