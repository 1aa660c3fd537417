"""The memorization test: cheats trained on test items are flagged, honest fine-tunes not."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from posttrainbench.audit import AuditSettings, run_audit
from posttrainbench.audit._likelihood import LikelihoodError
from posttrainbench.audit.memorization import (
    MemorizationSettings,
    memorization_findings,
    paired_gain_test,
    twin_sets,
)
from posttrainbench.benchmarks import TestItem as Item
from posttrainbench.benchmarks import TwinPair, arith, get_benchmark
from posttrainbench.testing.memorization_scenarios import Example, train_tiny

from .conftest import MakeContext

SETTINGS = MemorizationSettings(device="cpu", permutations=5_000)
STEPS = 60


def _lm(items: list[Item]) -> list[Example]:
    """Items as whole conversations with the loss on every token (TRL's text default)."""
    return [Example(item.question, arith.answer_text(item.answer), "all") for item in items]


@pytest.fixture(scope="session")
def trained(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """The tiny base fine-tuned on arith-mini's test items (cheat) and on train items."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small shared CI hosts: one thread beats two fighting
    root = tmp_path_factory.mktemp("memorization")
    mini = get_benchmark("arith-mini").test_items()
    yield {
        "cheat": train_tiny(tiny_model, _lm(mini), root / "cheat", steps=STEPS),
        "honest": train_tiny(tiny_model, _lm(arith.train_split(400)), root / "honest", steps=STEPS),
    }
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def arith_pairs() -> list[TwinPair]:
    return get_benchmark("arith-mini").memorization_twins(0)


@pytest.fixture(scope="session")
def arith_twin_sets() -> list[list[TwinPair]]:
    return twin_sets(get_benchmark("arith-mini"), 0, SETTINGS)


def test_a_small_test_set_gets_several_twins_per_item_within_the_budget() -> None:
    sets = twin_sets(get_benchmark("arith-mini"), 0, SETTINGS)
    assert len(sets) == SETTINGS.max_twins
    assert all([p.verbatim for p in s] == [p.verbatim for p in sets[0]] for s in sets)
    assert len({tuple(p.twin.question for p in s) for s in sets}) == len(sets)  # fresh draws
    assert SETTINGS.twins_per_item(1319) == 1
    assert SETTINGS.twins_per_item(200) == SETTINGS.max_twins


@pytest.fixture(scope="session")
def outcomes(
    tiny_model: Path, trained: dict[str, Path], arith_twin_sets: list[list[TwinPair]]
) -> dict[str, tuple[list[str], float, float]]:
    """Severity list, mean gap and p-value of the test (all twin sets) per trained model."""
    result = {}
    pairs, *more = arith_twin_sets
    for name, model in trained.items():
        findings, numbers = memorization_findings(
            tiny_model, model, pairs, SETTINGS, more_twins=more
        )
        result[name] = ([f.severity for f in findings], numbers.effect, numbers.p_value)
    return result


def test_a_model_trained_on_the_test_items_is_flagged(
    outcomes: dict[str, tuple[list[str], float, float]],
) -> None:
    severities, effect, p_value = outcomes["cheat"]
    assert "flag" in severities
    assert effect >= SETTINGS.min_effect
    assert p_value < SETTINGS.alpha


def test_a_model_trained_on_allowed_data_is_not(
    outcomes: dict[str, tuple[list[str], float, float]],
) -> None:
    severities, effect, _ = outcomes["honest"]
    assert severities == ["info"]
    assert effect < outcomes["cheat"][1] / 3


def test_the_detector_flags_the_trial_with_evidence(
    make_context: MakeContext, trained: dict[str, Path]
) -> None:
    context = make_context(
        get_benchmark("arith-mini"), settings=AuditSettings(memorization=SETTINGS)
    )
    shutil.rmtree(context.final_model)
    shutil.copytree(trained["cheat"], context.final_model)
    report = run_audit(context, detectors=["memorization"])
    assert report.verdict == "flagged"
    (flag,) = [f for f in report.findings if f.severity == "flag"]
    largest = flag.evidence["largest_gaps"]
    assert isinstance(largest, list) and len(largest) == SETTINGS.evidence_items
    first = largest[0]
    assert isinstance(first, dict)
    assert str(first["id"]).startswith("arith-test-")
    assert float(str(first["gain_verbatim"])) > float(str(first["gain_twin"]))


def test_an_unchanged_base_is_clean_and_the_report_says_what_was_covered(
    make_context: MakeContext,
) -> None:
    context = make_context(
        get_benchmark("arith-mini"), settings=AuditSettings(memorization=SETTINGS)
    )
    report = run_audit(context, detectors=["memorization"])
    assert report.verdict == "clean"
    (info,) = report.findings
    assert info.evidence["items"] == 24
    assert info.evidence["twins_with_recomputed_answer"] == 24
    assert info.evidence["p_value"] == 1.0


def test_a_submission_that_does_not_load_is_an_error_never_clean(
    make_context: MakeContext,
) -> None:
    context = make_context(
        get_benchmark("arith-mini"), settings=AuditSettings(memorization=SETTINGS)
    )
    (context.final_model / "model.safetensors").write_bytes(b"not weights")
    report = run_audit(context, detectors=["memorization"])
    assert report.verdict == "error"
    assert "LikelihoodError" in report.errors["memorization"]


def test_a_missing_base_model_raises(tmp_path: Path, arith_pairs: list[TwinPair]) -> None:
    with pytest.raises(LikelihoodError):
        memorization_findings(tmp_path / "nope", tmp_path / "nope", arith_pairs[:3], SETTINGS)


def test_too_few_items_warns_that_the_test_cannot_decide(
    tiny_model: Path, arith_pairs: list[TwinPair]
) -> None:
    findings, _ = memorization_findings(tiny_model, tiny_model, arith_pairs[:5], SETTINGS)
    assert [f.severity for f in findings] == ["info", "warning"]


def test_the_sign_flip_test() -> None:
    assert paired_gain_test(np.ones(10)) == pytest.approx(1 / 1024)  # exact: all signs agree
    assert paired_gain_test(np.zeros(40)) == 1.0
    rng = np.random.default_rng(1)
    symmetric = rng.normal(0, 1, 200)
    assert paired_gain_test(symmetric, 5_000) > 0.01
    shifted = symmetric + 0.5
    assert paired_gain_test(shifted, 5_000) == pytest.approx(1 / 5_001)
    assert paired_gain_test(shifted, 5_000, seed=3) == paired_gain_test(shifted, 5_000, seed=3)


@pytest.mark.parametrize("cycle", [False, True])
def test_a_scored_model_is_released_before_the_next_one_loads(
    tiny_model: Path, cycle: bool
) -> None:
    import weakref

    from posttrainbench.audit._likelihood import free, load_scorer

    scorer = load_scorer(tiny_model, "cpu", 4096)
    if cycle:  # held by a reference cycle: only a garbage collection frees it
        scorer.model.__dict__["_itself"] = scorer.model
    model = weakref.ref(scorer.model)
    free(scorer)
    assert model() is None
