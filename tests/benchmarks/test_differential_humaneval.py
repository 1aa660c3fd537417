"""HumanEval verdicts equal upstream's final-eval scorer on honest generated completions.

(The exit and patching tricks, where the verdicts differ on purpose, are in
``test_humaneval_hardening.py``.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from posttrainbench.benchmarks._execution import run_split_check
from posttrainbench.benchmarks.humaneval import HumanEvalProblem, humaneval_problems

from ._corpus import humaneval_completions
from ._oracles import upstream_humaneval


def _verdicts(problems: int, every: int = 1) -> list[tuple[str, bool, bool]]:
    from inspect_evals.humaneval.humaneval import find_code

    cases = [
        (problem, completion)
        for problem in humaneval_problems()[:problems]
        for completion in humaneval_completions(problem.prompt, problem.canonical_solution)[::every]
    ]

    def both(case: tuple[HumanEvalProblem, str]) -> tuple[str, bool, bool]:
        p, completion = case
        answer = f"{p.prompt}{find_code(completion)}\n"
        ours = run_split_check(answer, f"{p.prompt}\n\n{p.test}\n", p.entry_point, 30.0).passed
        theirs = upstream_humaneval(completion, p.prompt, p.test, p.entry_point)
        return completion, ours, theirs

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(both, cases))


def test_humaneval_matches_upstream_on_one_problem() -> None:
    results = _verdicts(1, every=2)  # 10 of the 20 forms in the default tier
    assert [c for c, ours, theirs in results if ours != theirs] == []
    assert any(ours for _, ours, _ in results) and not all(ours for _, ours, _ in results)


@pytest.mark.slow
def test_humaneval_matches_upstream_on_the_corpus() -> None:
    results = _verdicts(10)
    assert len(results) >= 200
    assert [c for c, ours, theirs in results if ours != theirs] == []
