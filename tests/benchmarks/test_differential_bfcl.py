"""BFCL verdicts equal inspect_evals' ``bfcl()`` scorer (what upstream runs) on every reply."""

from __future__ import annotations

from typing import Any

import pytest

from posttrainbench.benchmarks.bfcl import call_verdict

from ._corpus import BFCL_FUNCTION, BFCL_TRUTHS, bfcl_replies
from ._oracles import upstream_bfcl


def _messages(reply: list[list[tuple[str, dict[str, object]]]]) -> list[Any]:
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
    from inspect_ai.tool import ToolCall

    messages: list[Any] = [ChatMessageUser(content="q")]
    for index, calls in enumerate(reply):
        tool_calls = [
            ToolCall(id=f"c{index}{i}", function=name, arguments=args)
            for i, (name, args) in enumerate(calls)
        ]
        messages.append(ChatMessageAssistant(content="", tool_calls=tool_calls or None))
    return messages


@pytest.mark.parametrize("truth", BFCL_TRUTHS)
def test_bfcl_matches_upstream(truth: str) -> None:
    from inspect_ai.model import ChatMessageAssistant

    replies = bfcl_replies()
    assert len(replies) * len(BFCL_TRUTHS) >= 200
    got, want = [], []
    for reply in replies:
        messages = _messages(reply)
        calls = [
            call
            for m in messages
            if isinstance(m, ChatMessageAssistant)
            for call in m.tool_calls or []
        ]
        got.append(call_verdict(calls, truth, [BFCL_FUNCTION])[0])
        want.append(upstream_bfcl(messages, truth, [BFCL_FUNCTION]))
    assert got == want
    assert any(got) and not all(got)


def test_an_optional_argument_at_its_default_is_accepted() -> None:
    from inspect_ai.tool import ToolCall

    call = ToolCall(
        id="c",
        function="calc_binomial_probability",
        arguments={"n": 20, "k": 5, "p": 0.6, "label": "none"},
    )
    assert call_verdict([call], BFCL_TRUTHS[0], [BFCL_FUNCTION])[0]
