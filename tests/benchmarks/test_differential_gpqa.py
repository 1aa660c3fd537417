"""GPQA verdicts equal a transcription of upstream's (inspect's multiple_choice + choice())."""

from __future__ import annotations

from typing import Any

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.benchmarks.gpqa import GPQA

from ._corpus import gpqa_replies
from ._oracles import upstream_gpqa
from .test_gpqa import gpqa_csv, letter_of, question_number

FORMS = len(gpqa_replies("A", "B"))
ROWS = [
    [f"rec{n:03d}", f"Question {n}: which particle is {n}?", f"right {n}", "w1", "w2", "w3"]
    for n in range(10 * FORMS)
]


def test_gpqa_matches_upstream_on_the_corpus(hub: Any, evaluate: Any) -> None:
    hub.put(GPQA, "gpqa_main.csv", gpqa_csv(ROWS))
    replies: dict[int, tuple[str, str]] = {}

    def answer(prompt: str) -> str:
        number = question_number(prompt)
        right = letter_of(prompt, f"right {number}")
        wrong = "B" if right == "A" else "A"
        reply = gpqa_replies(right, wrong)[number % FORMS]
        replies[number] = (reply, right)
        return reply

    result = evaluate(get_benchmark("gpqamain").task(), answer)
    assert len(result.scores) >= 200
    for number, (reply, right) in replies.items():
        got = result.scores[f"rec{number:03d}"] == 1.0
        assert got == upstream_gpqa(reply, right), reply
    assert 0 < result.accuracy < 1
