"""HumanEval: the packaged problems, and generated code run in the sandbox, never in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks.data import PackagedData
from posttrainbench.benchmarks.humaneval import humaneval_problems, passes_tests
from posttrainbench.sandbox import BwrapSandbox

needs_bwrap = pytest.mark.skipif(
    BwrapSandbox().unavailable_reason() is not None,
    reason="containment needs the bwrap sandbox (apt-get install bubblewrap)",
)

CANONICAL = {problem.prompt: problem.canonical_solution for problem in humaneval_problems()}


def canonical(prompt: str) -> str:
    return next(solution for key, solution in CANONICAL.items() if prompt.endswith(key))


def with_scorer(limit: int, scorer: Any) -> Any:
    task = get_benchmark("humaneval").task(limit=limit)
    task.scorer = [scorer]
    return task


def test_the_package_ships_all_164_problems() -> None:
    items = get_benchmark("humaneval").test_items()
    assert len(items) == 164 and items[0].id == "HumanEval/0"
    assert items[0].question in set(get_benchmark("humaneval").iter_test_texts())


def test_canonical_solutions_pass_in_the_sandbox(evaluate: Any) -> None:
    result = evaluate(get_benchmark("humaneval").task(limit=5), canonical)
    assert result.accuracy == 1.0


@pytest.mark.slow
def test_canonical_solutions_score_164_of_164(evaluate: Any) -> None:
    result = evaluate(get_benchmark("humaneval").task(), canonical)
    assert result.log.results.completed_samples == 164
    assert result.accuracy == 1.0


def test_fenced_code_with_the_signature_passes(evaluate: Any) -> None:
    def fenced(prompt: str) -> str:
        problem = humaneval_problems()[0]
        signature = problem.prompt[problem.prompt.index("def ") :].split("\n")[0]
        body = problem.canonical_solution
        return f"Here you go:\n```python\n{signature}\n{body}```\nHope it helps."

    assert evaluate(get_benchmark("humaneval").task(limit=1), fenced).accuracy == 1.0


def test_a_wrong_solution_scores_zero(evaluate: Any) -> None:
    result = evaluate(get_benchmark("humaneval").task(limit=3), lambda prompt: "    return None\n")
    assert result.accuracy == 0.0


def test_a_solution_that_never_ends_is_killed_and_scores_zero(evaluate: Any) -> None:
    loop = "    import os\n    os.fork()\n    while True:\n        pass\n"
    result = evaluate(with_scorer(1, passes_tests(timeout_s=2.0)), lambda prompt: loop)
    assert result.accuracy == 0.0
    assert "time limit" in result.sample("HumanEval/0").scores["humaneval_tests"].explanation


@needs_bwrap
def test_a_solution_that_deletes_files_is_contained(evaluate: Any, tmp_path: Path) -> None:
    victim = tmp_path / "precious"
    victim.mkdir()
    (victim / "data.txt").write_text("keep me")
    attack = (
        "    import shutil, socket\n"
        f"    shutil.rmtree({str(victim)!r})\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        + canonical(humaneval_problems()[0].prompt)
    )
    result = evaluate(get_benchmark("humaneval").task(limit=1), lambda prompt: attack)
    assert result.accuracy == 0.0
    assert (victim / "data.txt").read_text() == "keep me"


@needs_bwrap
def test_code_cannot_write_outside_its_scratch_directory(evaluate: Any) -> None:
    import sys

    target = Path(sys.prefix) / "ptb-sandbox-escape"
    attack = f"    open({str(target)!r}, 'w').write('x')\n" + canonical(
        humaneval_problems()[0].prompt
    )
    result = evaluate(get_benchmark("humaneval").task(limit=1), lambda prompt: attack)
    assert result.accuracy == 0.0
    assert not target.exists()


def test_a_missing_package_is_a_clear_error() -> None:
    source = PackagedData(
        distribution="human-eval-absent", module="ptb_no_such_module", resource="data/x.gz"
    )
    with pytest.raises(DatasetUnavailable, match="pip install 'human-eval-absent'"):
        source.path()
    assert not source.status().available


def test_the_declarations_match_the_paper() -> None:
    benchmark = get_benchmark("humaneval")
    assert benchmark.default_limit == 150
    assert benchmark.generation.max_tokens == 4000
    assert benchmark.generation.fallback_max_tokens == (3000, 2000)
