"""Reading the committed number out of free-form completions (GSM8K and AIME share it)."""

from __future__ import annotations

import pytest

from posttrainbench.benchmarks._answers import extract_answer, last_boxed, numbers_match


@pytest.mark.parametrize(
    ("completion", "target", "correct"),
    [
        ("She pays 3 * 4 = 12 dollars.\nANSWER: 12", "12", True),
        ("ANSWER: $1,234.00", "1234", True),
        ("The total is \\boxed{12}.", "12", True),
        ("ANSWER: 18\n\nQuestion: Tom has 5 apples...\nANSWER: 7", "18", True),
        ("so the answer is 42 apples", "42", True),
        ("ANSWER: 12.50", "12.5", True),
        ("ANSWER: -3", "-3", True),
        ('Write "ANSWER: $ANSWER" at the end.\n4 + 5 = 9\nANSWER: 9', "9", True),
        ("ANSWER: 13", "12", False),
        ("ANSWER: 1,234.5", "1234", False),
        ("I do not know.", "12", False),
        ("", "12", False),
    ],
)
def test_numeric_answer(completion: str, target: str, correct: bool) -> None:
    assert numbers_match(extract_answer(completion), target) is correct


def test_boxed_takes_the_last_box_with_nested_braces() -> None:
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{24}{2}} done") == "\\frac{24}{2}"
    assert last_boxed("no box") is None
