"""A submission is loaded only as configuration + safetensors, and only when they agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from posttrainbench._model_files import UnloadableModel, check_loadable
from posttrainbench.evaluation.model_view import build_model_view


@pytest.fixture
def model(tiny_model: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "final_model"
    shutil.copytree(tiny_model, copy)
    return copy


def _config(model: Path, **changes: object) -> None:
    config = json.loads((model / "config.json").read_text())
    config.update(changes)
    (model / "config.json").write_text(json.dumps(config))


def test_a_model_whose_config_matches_its_weights_is_loadable(model: Path) -> None:
    check_loadable(model)


def test_pickle_only_weights_are_refused(model: Path) -> None:
    (model / "model.safetensors").rename(model / "pytorch_model.bin")
    with pytest.raises(UnloadableModel, match=r"no safetensors weights \(found pytorch_model"):
        check_loadable(model)


@pytest.mark.parametrize(
    "changes",
    [
        {"vocab_size": 10**9},
        {"num_hidden_layers": 40, "layer_types": ["full_attention"] * 40},
        {"intermediate_size": 10**7},
    ],
)
def test_a_config_describing_more_than_the_weights_is_refused(
    model: Path, changes: dict[str, object]
) -> None:
    _config(model, **changes)
    with pytest.raises(UnloadableModel, match="parameters but the weights hold only"):
        check_loadable(model)


def test_a_safetensors_file_with_a_giant_header_is_refused(model: Path) -> None:
    (model / "extra.safetensors").write_bytes((1 << 62).to_bytes(8, "little") + b"{" * 64)
    with pytest.raises(UnloadableModel, match="extra.safetensors is not a valid safetensors"):
        check_loadable(model)


def test_the_evaluated_view_holds_no_pickle_or_code_of_the_submission(
    model: Path, tiny_model: Path, tmp_path: Path
) -> None:
    for name in ("pytorch_model.bin", "modeling_evil.py", "tokenization_evil.py", "x.pt"):
        (model / name).write_text("not for the harness")
    _config(model, auto_map={"AutoModelForCausalLM": "modeling_evil.EvilModel"})
    view = tmp_path / "view"
    use = build_model_view(model, tiny_model, view)
    linked = sorted(p.name for p in view.iterdir() if p.is_symlink())
    assert linked == ["config.json", "model.safetensors"]
    assert {"pytorch_model.bin", "modeling_evil.py", "x.pt"} <= set(use.ignored_files)
