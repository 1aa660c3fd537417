"""HealthBench: grader prompts and the reading of grader replies equal upstream's."""

from __future__ import annotations

import pytest

from posttrainbench.benchmarks.healthbench import (
    Criterion,
    grader_prompt,
    grader_template,
    parse_grade,
)

from ._corpus import grader_replies, numeric_corpus
from ._oracles import upstream_healthbench_grade, upstream_healthbench_prompt


def test_grades_equal_upstreams_on_recorded_replies() -> None:
    replies = grader_replies()
    assert len(replies) >= 200
    for reply in replies:
        verdict = upstream_healthbench_grade(reply)
        if verdict is None:  # upstream asks the grader again; so does the harness
            with pytest.raises(ValueError):
                parse_grade(reply)
        else:
            assert parse_grade(reply) is verdict, reply


def test_grader_prompts_equal_upstreams() -> None:
    template = grader_template()
    assert template.startswith("Your job is to look at a conversation and a rubric item")
    assert template.endswith("Do not include any other text in the response.")
    texts = numeric_corpus(3)[:30]
    conversation = [("user", "I feel dizzy {x}"), ("assistant", "Since when?"), ("user", "today")]
    for points in (-5, 1, 7):
        for response in texts:
            criterion = Criterion(text="Advises rest {y} <<x>>", points=float(points))
            ours = grader_prompt(conversation, response, criterion)
            theirs = upstream_healthbench_prompt(
                template,
                [{"role": r, "content": c} for r, c in conversation],
                response,
                criterion.text,
                points,
            )
            assert ours == theirs
