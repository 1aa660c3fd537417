"""Weight fingerprints catch models derived from an instruct model that is not on the host."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from posttrainbench.audit.fingerprint import (
    MIN_COSINE,
    Fingerprint,
    drift,
    fingerprint_checkpoint,
    load_fingerprint,
    save_fingerprint,
)
from posttrainbench.testing.lineage_scenarios import fine_tune
from posttrainbench.testing.redteam import instruct_stand_in


def _soup(a: Path, b: Path, out: Path, weight: float) -> Path:
    shutil.copytree(a, out)
    left, right = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    mixed = {
        name: (weight * left[name].float() + (1 - weight) * right[name].float())
        .to(left[name].dtype)
        .contiguous()
        for name in left
    }
    save_file(mixed, out / "model.safetensors", metadata={"format": "pt"})
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fingerprint")
    base = tiny_model
    instruct = instruct_stand_in(base, root / "instruct")
    return {
        "base": base,
        "instruct": instruct,
        "honest-short": fine_tune(base, root / "h1", steps=3, learning_rate=1e-4, data_seed=2),
        "honest-long": fine_tune(base, root / "h2", steps=150, learning_rate=3e-5, data_seed=3),
        "instruct-tuned": fine_tune(instruct, root / "c1", steps=20, learning_rate=1e-4),
        "soup-30": _soup(instruct, base, root / "soup", 0.3),
    }


@pytest.fixture(scope="module")
def reference(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Fingerprint:
    path = tmp_path_factory.mktemp("fp") / "instruct.npz"
    save_fingerprint(fingerprint_checkpoint(models["instruct"]), path)
    loaded = load_fingerprint(path)
    assert path.stat().st_size < 1 << 20
    return loaded


@pytest.mark.parametrize(
    ("name", "derived"),
    [
        ("honest-short", False),
        ("honest-long", False),
        ("instruct", True),
        ("instruct-tuned", True),
        ("soup-30", True),
    ],
)
def test_drift_towards_the_instruct_model(
    name: str, derived: bool, models: dict[str, Path], reference: Fingerprint
) -> None:
    names = sorted(reference.sketches)
    base = fingerprint_checkpoint(models["base"], names)
    found = drift(fingerprint_checkpoint(models[name], names), base, reference)
    assert found.tensors == len(names) > 0
    assert found.derived is derived, found
    if not derived:
        assert found.cosine < MIN_COSINE - 0.1  # a margin, not a coin flip
