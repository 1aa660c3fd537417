"""Arena-Hard writing: judge prompts and verdict parsing equal upstream's."""

from __future__ import annotations

import pytest

from posttrainbench.benchmarks.arenahardwriting import (
    JUDGE_SYSTEM_PROMPT,
    _judge_messages,
    parse_verdict,
)

from ._corpus import judge_replies, numeric_corpus
from ._oracles import ARENA_SCORE_MAP, upstream_arena_label, upstream_arena_messages

UPSTREAM_PROMPT_START = "Please act as an impartial judge and evaluate the quality of the responses"


def test_verdicts_equal_upstreams_on_recorded_replies() -> None:
    replies = judge_replies()
    assert len(replies) >= 200
    for reply in replies:
        label = upstream_arena_label(reply)
        if label in ARENA_SCORE_MAP:
            assert parse_verdict(reply) == label, reply
        else:  # upstream drops the game (no label) or crashes (unknown label): retried here
            with pytest.raises(ValueError):
                parse_verdict(reply)


def test_judge_messages_equal_upstreams() -> None:
    assert JUDGE_SYSTEM_PROMPT.startswith(UPSTREAM_PROMPT_START)
    assert JUDGE_SYSTEM_PROMPT.endswith('Example output: "My final verdict is tie: [[A=B]]".')
    answers = numeric_corpus(7)[:40]
    for a, b in zip(answers, reversed(answers), strict=True):
        question = f"Write a poem about {a[:10]} {{not a field}}"
        ours = _judge_messages(question, a, b)
        assert ours == upstream_arena_messages(JUDGE_SYSTEM_PROMPT, question, a, b)
