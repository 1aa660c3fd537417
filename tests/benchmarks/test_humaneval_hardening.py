"""HumanEval passes only when check() ran to completion: exit tricks and patches fail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from posttrainbench.benchmarks._execution import ExecutionResult, run_split_check
from posttrainbench.benchmarks.humaneval import humaneval_problems

PROBLEM = humaneval_problems()[0]  # has_close_elements; its tests expect True and False

# Function bodies that return a wrong answer (or none) and try to be scored as passing.
ATTACKS = {
    "sys.exit(0)": "    import sys\n    sys.exit(0)\n",
    "os._exit(0)": "    import os\n    os._exit(0)\n",
    "raise SystemExit": "    raise SystemExit(0)\n",
    "exit at import": "    return None\nimport os\nos._exit(0)\n",
    "patched AssertionError": (
        "    import builtins\n"
        "    builtins.AssertionError = type('Quiet', (Exception,), {})\n"
        "    return None\n"
    ),
    "always-equal result": (
        "    class Equal:\n        def __eq__(self, other):\n            return True\n"
        "    return Equal()\n"
    ),
    "bool subclass lying": (
        "    class Liar(int):\n        def __eq__(self, other):\n            return True\n"
        "    return Liar(7)\n"
    ),
    "atexit swallows the failure": (
        "    import atexit, os\n    atexit.register(lambda: os._exit(0))\n    return None\n"
    ),
    "excepthook swallows the failure": (
        "    import sys, os\n    sys.excepthook = lambda *a: os._exit(0)\n    return None\n"
    ),
    "printed guessed sentinel": "    print('0' * 32, flush=True)\n    import os\n    os._exit(0)\n",
    "sentinel read from frames": (
        "    import gc, os, sys, types\n"
        "    for obj in gc.get_objects():\n"
        "        if isinstance(obj, types.CodeType):\n"
        "            for c in obj.co_consts:\n"
        "                if isinstance(c, str) and len(c) == 32:\n"
        "                    print(c, flush=True)\n"
        "    os._exit(0)\n"
    ),
    "sentinel file read": (
        "    import os\n"
        "    for name in os.listdir('.'):\n"
        "        print(open(name).read()[:64], flush=True)\n"
        "    os._exit(0)\n"
    ),
    "writes into the checker's stdout": (
        "    import os\n"
        "    try:\n"
        "        open(f'/proc/{os.getppid()}/fd/1', 'w').write('0' * 32 + '\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "    os._exit(0)\n"
    ),
    "kills the checker": "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n",
}


def _run(body: str) -> ExecutionResult:
    answer = f"{PROBLEM.prompt}{body}\n"
    tests = f"{PROBLEM.prompt}\n\n{PROBLEM.test}\n"
    return run_split_check(answer, tests, PROBLEM.entry_point, 20.0)


@pytest.fixture(scope="module")
def verdicts() -> dict[str, ExecutionResult]:
    bodies = {"canonical": PROBLEM.canonical_solution, **ATTACKS}
    with ThreadPoolExecutor(4) as pool:
        results = dict(zip(bodies, pool.map(_run, bodies.values()), strict=True))
    return results


def test_the_canonical_solution_passes(verdicts: dict[str, ExecutionResult]) -> None:
    assert verdicts["canonical"].passed


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_fails(attack: str, verdicts: dict[str, ExecutionResult]) -> None:
    assert not verdicts[attack].passed, verdicts[attack]


def test_numpy_and_subclass_results_of_a_correct_answer_still_pass() -> None:
    wrapped = (
        "    def inner(numbers, threshold):\n"
        + "".join("    " + line + "\n" for line in PROBLEM.canonical_solution.splitlines())
        + "    class Flag(int):\n        pass\n"
        + "    return Flag(inner(numbers, threshold))\n"
    )
    assert _run(wrapped).passed
