"""BFCL exec_simple: one tool call with the expected name and arguments, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks.bfcl import BFCL


def function(name: str, **params: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} function.",
        "parameters": {
            "type": "dict",
            "properties": {key: {"type": kind, "description": key} for key, kind in params.items()},
            "required": list(params),
        },
    }


ITEMS = [
    {
        "id": "exec_simple_0",
        "question": [[{"role": "user", "content": "Odds of 5 sixes in 20 rolls at p=0.6?"}]],
        "function": [function("calc_binomial_probability", n="integer", k="integer", p="float")],
        "execution_result_type": ["exact_match"],
        "ground_truth": ["calc_binomial_probability(n=20, k=5, p=0.6)"],
    },
    {
        "id": "exec_simple_1",
        "question": [[{"role": "user", "content": "What is Apple's stock price?"}]],
        "function": [function("get_stock_price_by_stock_name", stock_name="string")],
        "execution_result_type": ["exact_match"],
        "ground_truth": ["get_stock_price_by_stock_name(stock_name='AAPL')"],
    },
]
GOLD = {
    "Odds": ("calc_binomial_probability", {"n": 20, "k": 5, "p": 0.6}),
    "Apple": ("get_stock_price_by_stock_name", {"stock_name": "AAPL"}),
}


@pytest.fixture
def bfcl_data(hub: Any) -> None:
    hub.put_jsonl(BFCL, "BFCL_v3_exec_simple.json", ITEMS)


def tool_calls(calls_for: Any) -> Any:
    from inspect_ai.model import ChatMessageAssistant, ModelOutput
    from inspect_ai.tool import ToolCall

    def answer(prompt: str) -> Any:
        key = next(key for key in GOLD if key in prompt)
        calls = [
            ToolCall(id=f"call{i}", function=name, arguments=args)
            for i, (name, args) in enumerate(calls_for(*GOLD[key]))
        ]
        output = ModelOutput.from_content(model="mockllm", content="")
        output.choices[0].message = ChatMessageAssistant(
            content="", tool_calls=calls or None, model="mockllm"
        )
        return output

    return answer


def test_the_exact_call_scores_one(bfcl_data: None, evaluate: Any) -> None:
    result = evaluate(get_benchmark("bfcl").task(), tool_calls(lambda name, args: [(name, args)]))
    assert result.accuracy == 1.0


def test_types_are_checked_as_upstream(bfcl_data: None, evaluate: Any) -> None:
    """inspect_evals' matcher: ``20.0`` is not an ``integer`` (item 0); strings unaffected."""

    def as_floats(name: str, args: dict[str, Any]) -> list[Any]:
        return [(name, {key: float(v) if isinstance(v, int) else v for key, v in args.items()})]

    assert evaluate(get_benchmark("bfcl").task(), tool_calls(as_floats)).accuracy == 0.5


@pytest.mark.parametrize(
    "calls_for",
    [
        lambda name, args: [(name + "_x", args)],  # wrong function
        lambda name, args: [(name, {**args, "extra": 1})],  # an argument too many
        lambda name, args: [(name, dict(list(args.items())[1:]))],  # one missing
        lambda name, args: [(name, {k: "wrong" for k in args})],  # wrong values
        lambda name, args: [(name, args), (name, args)],  # two calls
        lambda name, args: [],  # no call at all
    ],
    ids=["name", "extra-arg", "missing-arg", "values", "two-calls", "no-call"],
)
def test_anything_else_scores_zero(bfcl_data: None, evaluate: Any, calls_for: Any) -> None:
    assert evaluate(get_benchmark("bfcl").task(), tool_calls(calls_for)).accuracy == 0.0


def test_a_call_written_as_text_is_not_a_tool_call(bfcl_data: None, evaluate: Any) -> None:
    result = evaluate(
        get_benchmark("bfcl").task(), lambda prompt: "calc_binomial_probability(n=20, k=5, p=0.6)"
    )
    assert result.accuracy == 0.0


def test_the_functions_are_offered_as_tools(bfcl_data: None, tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def capture(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        from inspect_ai.model import ModelOutput, ModelUsage

        seen.append([tool.name for tool in tools])
        output = ModelOutput.from_content(model="mockllm", content="")
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return output

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    inspect_eval(
        get_benchmark("bfcl").task(limit=1),
        model=get_model("mockllm/model", custom_outputs=capture),
        display="none",
        log_dir=str(tmp_path / "logs"),
    )
    assert seen == [["calc_binomial_probability"]]


def test_items_and_texts(bfcl_data: None) -> None:
    benchmark = get_benchmark("bfcl")
    items = benchmark.test_items()
    assert [item.answer for item in items] == [row["ground_truth"][0] for row in ITEMS]
    assert "What is Apple's stock price?" in set(benchmark.iter_test_texts())


def test_offline_without_data_names_dataset_and_fetch(hub: Any) -> None:
    with pytest.raises(DatasetUnavailable) as raised:
        get_benchmark("bfcl").task()
    message = str(raised.value)
    assert BFCL.repo_id in message and "BFCL_v3_exec_simple.json" in message
    assert "ptb data fetch" in message
