import json
import math
from pathlib import Path

import pytest

from posttrainbench.errors import UserError
from posttrainbench.results import (
    load_weights_file,
    published_reference,
    published_weights,
    weights_from_scores,
)


def test_published_weights_come_out_of_the_published_instruct_and_base_rows() -> None:
    reference = published_reference()
    derived = weights_from_scores(
        reference.row("instruct").scores, reference.row("base-zero-shot").scores
    )
    assert set(derived) == set(reference.benchmarks)
    for benchmark, published in reference.weights.items():
        # The rows are rounded to one decimal; the weights were computed from unrounded
        # scores. Largest gap: gpqamain 0.2248 derived vs 0.2246 published (2e-4).
        assert derived[benchmark] == pytest.approx(published, abs=3e-4), benchmark
    assert max(derived, key=derived.__getitem__) == "aime2025"


def test_published_weights_are_normalised_although_the_rounded_ones_sum_to_0_9999() -> None:
    assert math.fsum(published_reference().weights.values()) == pytest.approx(0.9999)
    weights = published_weights()
    assert math.fsum(weights.values()) == pytest.approx(1.0)
    assert weights["gsm8k"] == pytest.approx(0.0936 / 0.9999)


def test_weights_do_not_depend_on_the_score_scale() -> None:
    instruct, base = {"a": 80.0, "b": 30.0}, {"a": 20.0, "b": 10.0}
    as_fractions = weights_from_scores(
        {k: v / 100 for k, v in instruct.items()}, {k: v / 100 for k, v in base.items()}
    )
    assert weights_from_scores(instruct, base) == pytest.approx(as_fractions)
    assert as_fractions == pytest.approx({"a": 0.25, "b": 0.75})


def test_instruct_not_above_base_is_a_clear_error() -> None:
    with pytest.raises(UserError, match=r"gsm8k \(instruct 0\.2 <= base 0\.3\)"):
        weights_from_scores({"gsm8k": 0.2, "bfcl": 0.9}, {"gsm8k": 0.3, "bfcl": 0.1})
    with pytest.raises(UserError, match="instruct above base"):
        weights_from_scores({"gsm8k": 0.3}, {"gsm8k": 0.3})


def test_instruct_and_base_must_cover_the_same_benchmarks() -> None:
    with pytest.raises(UserError, match="same, non-empty set"):
        weights_from_scores({"gsm8k": 0.9, "bfcl": 0.8}, {"gsm8k": 0.1})


def test_weights_file_json_and_toml_are_read_and_normalised(tmp_path: Path) -> None:
    json_file = tmp_path / "w.json"
    json_file.write_text(json.dumps({"gsm8k": 1, "humaneval": 3}))
    toml_file = tmp_path / "w.toml"
    toml_file.write_text("gsm8k = 1\nhumaneval = 3.0\n")
    expected = {"gsm8k": 0.25, "humaneval": 0.75}
    assert load_weights_file(json_file) == pytest.approx(expected)
    assert load_weights_file(toml_file) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("w.yaml", "gsm8k: 1", "use a .json or .toml file"),
        ("w.json", "{gsm8k: 1", "is not valid JSON"),
        ("w.toml", "gsm8k = ", "is not valid TOML"),
        ("w.json", "[0.5, 0.5]", "must be a non-empty mapping of benchmark id to weight"),
        ("w.json", "{}", "must be a non-empty mapping"),
        ("w.json", '{"gsm8k": -1, "bfcl": "high", "aime2025": true}', "must be a positive"),
        ("w.toml", "[weights]\ngsm8k = 1\n", "bad entries: 'weights'"),
        ("w.json", '{"gsm8k": 0}', "bad entries: 'gsm8k': 0"),
    ],
)
def test_bad_weights_files_give_one_clear_message(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UserError, match=message) as caught:
        load_weights_file(path)
    assert str(path) in str(caught.value)


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.json does not exist"):
        load_weights_file(tmp_path / "nope.json")
