"""GSM8K and AIME verdicts equal upstream's on every generated completion."""

from __future__ import annotations

import pytest

from posttrainbench.benchmarks._numeric import aime_verdict, gsm8k_verdict

from ._corpus import numeric_corpus
from ._oracles import upstream_aime, upstream_gsm8k

_TARGETS = (18, 1234, 70, 5)


@pytest.mark.parametrize("target", _TARGETS)
def test_gsm8k_matches_upstream_on_the_corpus(target: int) -> None:
    corpus = numeric_corpus(target)
    assert len(corpus) >= 200
    got = [gsm8k_verdict(text, str(target)).correct for text in corpus]
    want = [upstream_gsm8k(text, str(target)) for text in corpus]
    differ = [text for text, a, b in zip(corpus, got, want, strict=True) if a != b]
    assert not differ
    assert 0 < sum(got) < len(got)  # the corpus holds right and wrong answers


def test_gsm8k_negative_and_comma_targets() -> None:
    for target in ("-3", "14,000"):
        corpus = numeric_corpus(3) + numeric_corpus(14000) + [f"ANSWER: {target}"]
        got = [gsm8k_verdict(text, target).correct for text in corpus]
        want = [upstream_gsm8k(text, target) for text in corpus]
        assert got == want
        assert any(got)


@pytest.mark.parametrize("target", _TARGETS)
def test_aime_matches_upstream_on_the_corpus(target: int) -> None:
    corpus = numeric_corpus(target)
    got = [aime_verdict(text, str(target)).correct for text in corpus]
    want = [upstream_aime(text, str(target)) for text in corpus]
    differ = [text for text, a, b in zip(corpus, got, want, strict=True) if a != b]
    assert not differ
    assert 0 < sum(got) < len(got)


@pytest.mark.parametrize(
    ("completion", "target", "correct"),
    [
        ("ANSWER: 1233 + 1 = 1234", "1234", True),  # the last number counts
        ("ANSWER: 1234\nthen rambles on: ANSWER: 99", "1234", False),
        ("ANSWER: -3", "3", False),  # the sign is part of the number
        ("ANSWER: 14,000", "14000", True),
        ("ANSWER: 711", "11", False),  # by value, never str.endswith
    ],
)
def test_gsm8k_rules_named_in_the_issue(completion: str, target: str, correct: bool) -> None:
    assert gsm8k_verdict(completion, target).correct is correct


def test_aime_rules() -> None:
    assert not aime_verdict("\\boxed{\\frac{146}{2}}", "73").correct  # no LaTeX evaluation
    assert aime_verdict("Thus\n$$\n\\boxed{70}\n$$", "70").correct
    assert not aime_verdict("ANSWER: 711", "11").correct
