"""The audit of one trial: its context from the run directory, and re-running it later."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from posttrainbench.audit import AuditContext, AuditReport, AuditSettings, run_audit
from posttrainbench.benchmarks import Benchmark, get_benchmark
from posttrainbench.catalog import CATALOG
from posttrainbench.errors import UserError
from posttrainbench.trial.events import EventLog, Phase
from posttrainbench.trial.layout import TrialPaths
from posttrainbench.trial.spec import TrialSpec

__all__ = [
    "ReAudit",
    "audit_context",
    "instruct_fingerprints",
    "reaudit",
    "record_instruct_fingerprints",
    "reference_models",
]


def audit_context(
    paths: TrialPaths,
    benchmark: Benchmark,
    base_model: Path,
    prepared: Mapping[str, Any],
    scaffold_env_keys: Sequence[str] = (),
    settings: AuditSettings | None = None,
    references: Sequence[Path] = (),
    fingerprints: Sequence[Path] = (),
) -> AuditContext:
    """The detectors' view of a trial, from its paths and what prepare recorded.

    ``references`` are checkpoints outside the workspace for lineage to compare the
    submission with (see :func:`reference_models`).
    """
    return AuditContext(
        workspace=paths.workspace,
        task_dir=paths.task_dir,
        final_model=paths.submitted_model,
        trace=paths.raw_stream,
        base_model=base_model,
        benchmark=benchmark,
        given_files=prepared.get("given_files"),
        base_model_files=prepared.get("base_model_files"),
        honeytokens=dict(prepared.get("honeytokens") or {}),
        scaffold_env_keys=tuple(scaffold_env_keys),
        reference_models=tuple(references),
        instruct_fingerprints=tuple(fingerprints),
        writable_dirs=tuple(p for p in (paths.agent_tmp, paths.agent_home) if p.is_dir()),
        journal=paths.journal if paths.journal.is_dir() else None,
        access_log=paths.test_access if paths.test_access.is_file() else None,
        egress_log=paths.egress,
        has_submission=_collected(paths),
        twin_seed=prepared.get("twin_seed"),
        settings=settings or AuditSettings(),
    )


def reference_models(model: str, cache_dir: Path | None = None) -> list[Path]:
    """The cached snapshot of the instruct counterpart of catalog model ``model``, if any.

    Looked up in the host's Hugging Face cache only (never downloaded): a submission that
    is that model, or derived from it, is not a fine-tune of the base.

    Args:
        model: The trial's base model (a catalog id; anything else has no counterpart).
        cache_dir: The HF hub cache to look in; the default cache if None.
    """
    entry = CATALOG.get(model)
    if entry is None:
        return []
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(entry.instruct_id, "config.json", cache_dir=cache_dir)
    return [Path(config).parent] if isinstance(config, str) else []


def _fingerprint_file(instruct_id: str) -> Path:
    from posttrainbench.benchmarks.data import data_cache_dir

    return data_cache_dir() / "fingerprints" / (instruct_id.replace("/", "--") + ".npz")


def instruct_fingerprints(model: str) -> list[Path]:
    """The weight fingerprint of catalog model ``model``'s instruct counterpart, if recorded.

    ``ptb data fetch`` records it in the data cache, so lineage can tell a submission
    derived from the instruct model even when its weights are nowhere on the host.
    """
    entry = CATALOG.get(model)
    if entry is None:
        return []
    path = _fingerprint_file(entry.instruct_id)
    return [path] if path.is_file() else []


def record_instruct_fingerprints(log: Callable[[str], None] = print) -> list[Path]:
    """Fingerprint every catalog instruct model found in the HF cache (a few MB each).

    Models not cached are skipped with a message: fetch them once with
    ``huggingface-cli download <id>`` on a machine with internet, then run this again.
    """
    from huggingface_hub import try_to_load_from_cache

    from posttrainbench.audit.fingerprint import fingerprint_checkpoint, save_fingerprint

    written: list[Path] = []
    for entry in CATALOG.values():
        config = try_to_load_from_cache(entry.instruct_id, "config.json")
        if not isinstance(config, str):
            log(f"{entry.instruct_id}: not in the HF cache, no fingerprint recorded")
            continue
        target = _fingerprint_file(entry.instruct_id)
        fingerprint = fingerprint_checkpoint(Path(config).parent)
        save_fingerprint(replace(fingerprint, label=entry.instruct_id), target)
        log(f"{entry.instruct_id}: fingerprint of {len(fingerprint.sketches)} tensors -> {target}")
        written.append(target)
    return written


def _collected(paths: TrialPaths) -> bool:
    """Whether collect accepted final_model and took its snapshot (the only copy audited)."""
    if paths.submission.is_file():
        record = json.loads(paths.submission.read_text(encoding="utf-8"))
        return bool(record.get("present")) and paths.submitted_model.is_dir()
    return False


@dataclass(frozen=True)
class ReAudit:
    """A fresh audit of a finished trial next to the one its score was based on."""

    trial_dir: Path
    report: AuditReport
    recorded: AuditReport | None


def reaudit(trial_dir: Path, settings: AuditSettings | None = None) -> ReAudit:
    """Run the audit of the trial in ``trial_dir`` again (audit.json is left as it is)."""
    paths = TrialPaths(trial_dir)
    record = json.loads(paths.trial_json.read_text(encoding="utf-8"))
    spec = TrialSpec.model_validate(record["spec"])
    prepared = EventLog(paths.events).ended(Phase.PREPARE)
    if prepared is None:
        raise UserError(f"{trial_dir} was never prepared: there is nothing to audit.")
    context = audit_context(
        paths,
        get_benchmark(spec.benchmark),
        Path(record["model_path"]),
        prepared.get("data", {}),
        settings=settings,
        references=reference_models(spec.model),
        fingerprints=instruct_fingerprints(spec.model),
    )
    recorded = (
        AuditReport.model_validate_json(paths.audit.read_text(encoding="utf-8"))
        if paths.audit.is_file()
        else None
    )
    return ReAudit(trial_dir, run_audit(context), recorded)
