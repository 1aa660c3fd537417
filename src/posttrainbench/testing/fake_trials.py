"""Trial folders written by hand, for tests of the commands that read them.

A test that needs only a trial's agent output (``ptb trace show``, the site) still needs a
``trial.json`` the harness would accept: :func:`write_trial_record` writes one for a spec,
with fixed provenance, so the reader under test sees the same typed record as after a run.
"""

from __future__ import annotations

from posttrainbench.trial.layout import RUN_FORMAT_VERSION, TrialPaths
from posttrainbench.trial.records import Provenance, TrialRecord
from posttrainbench.trial.spec import TrialSpec

__all__ = ["write_trial_record"]


def write_trial_record(paths: TrialPaths, spec: TrialSpec) -> TrialRecord:
    """Write ``paths.trial_json`` for ``spec`` as a bwrap trial created on 2026-01-01."""
    record = TrialRecord(
        format_version=RUN_FORMAT_VERSION,
        trial_id=paths.root.name,
        spec=spec,
        created_at="2026-01-01T00:00:00+00:00",
        model_path=spec.model,
        model_family="qwen3",
        sandbox="bwrap",
        isolated=True,
        provenance=Provenance(
            packages={}, python="3", platform="test", host="test", harness_git_revision=None
        ),
        data_lock=[],
    )
    paths.root.mkdir(parents=True, exist_ok=True)
    record.save(paths.trial_json)
    return record
