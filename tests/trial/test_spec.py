from pathlib import Path

import pytest
from pydantic import ValidationError

from posttrainbench.trial import TrialSpec


def spec(**overrides: object) -> TrialSpec:
    fields: dict[str, object] = {
        "agent": "noop",
        "model": "/models/base",
        "benchmark": "arith",
        "hours": 1.0,
    }
    fields.update(overrides)
    return TrialSpec.model_validate(fields)


def test_equal_specs_share_an_id_and_replicates_do_not() -> None:
    assert spec().trial_id == spec().trial_id
    assert spec(replicate=2).trial_id != spec().trial_id
    assert spec(hours=2).trial_id != spec().trial_id


def test_sandbox_is_not_part_of_the_identity() -> None:
    assert spec(sandbox="process").trial_id == spec(sandbox="bwrap").trial_id


def test_id_is_readable() -> None:
    trial_id = spec(agent="reference", agent_config="steps=5").trial_id
    assert trial_id.startswith("reference-steps-5_arith_base_1h_r1_")


@pytest.mark.parametrize(
    "bad", [{"hours": 0}, {"hours": -1}, {"experiment": "../escape"}, {"unknown": 1}]
)
def test_invalid_specs_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        spec(**bad)


def test_a_local_model_named_relatively_is_the_same_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "base").mkdir()
    monkeypatch.chdir(tmp_path)
    relative = spec(model="base")
    assert relative.model == str(tmp_path / "base")
    assert relative.trial_id == spec(model=str(tmp_path / "base")).trial_id
    assert spec(model="Qwen/Qwen3-1.7B-Base").model == "Qwen/Qwen3-1.7B-Base"
