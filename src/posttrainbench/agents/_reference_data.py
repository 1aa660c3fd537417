"""The ``reference`` recipe's training data: one public, allowed data set per benchmark.

Each benchmark names a well-known public training set (:data:`REFERENCE_DATA`), read
offline from the data cache like benchmark data (``ptb data fetch`` style errors when it
is missing), converted to prompt-completion records and decontaminated against the
benchmark's test texts with the audit's own n-gram index, so the recipe passes its own
contamination check. The harness prepares the records on the host, before the sandbox
starts; the recipe inside reads them from a JSON-lines file in its workspace.

Revisions: ``openai/gsm8k`` is pinned to the commit the benchmark uses; the others name
``main`` until a connected machine pins their commits (``HubDataset`` allows a branch
"only where no commit could be pinned").
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench.benchmarks.data import HubDataset
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from posttrainbench.benchmarks import Benchmark

__all__ = [
    "REFERENCE_DATA",
    "Decontaminated",
    "ReferenceData",
    "decontaminate",
    "read_rows",
    "reference_data",
    "reference_records",
    "write_records",
]

Pair = tuple[str, str]
"""(prompt, completion)."""


def _gsm8k(row: dict[str, Any]) -> Pair | None:
    reasoning, _, final = str(row.get("answer", "")).rpartition("####")
    if not final.strip():
        return None
    return str(row["question"]), f"{reasoning.strip()}\n\nANSWER: {final.strip()}"


def _numina(row: dict[str, Any]) -> Pair | None:
    problem, solution = row.get("problem"), row.get("solution")
    return (str(problem), str(solution)) if problem and solution else None


def _mbpp(row: dict[str, Any]) -> Pair | None:
    text, code = row.get("text"), row.get("code")
    if not text or not code:
        return None
    tests = "\n".join(str(t) for t in row.get("test_list") or [])
    prompt = f"{text}\nYour code should pass these tests:\n{tests}".strip()
    return prompt, f"```python\n{str(code).strip()}\n```"


def _xlam(row: dict[str, Any]) -> Pair | None:
    query, tools, answers = row.get("query"), row.get("tools"), row.get("answers")
    if not query or not tools or not answers:
        return None
    return f"Available functions:\n{tools}\n\n{query}", str(answers)


def _sciq(row: dict[str, Any]) -> Pair | None:
    question, answer = row.get("question"), row.get("correct_answer")
    if not question or not answer:
        return None
    options = [answer, row.get("distractor1"), row.get("distractor2"), row.get("distractor3")]
    choices = sorted(str(o) for o in options if o)
    letters = "ABCD"
    lines = [f"{letters[i]}) {choice}" for i, choice in enumerate(choices)]
    letter = letters[choices.index(str(answer))]
    return f"{question}\n\n" + "\n".join(lines), f"ANSWER: {letter}"


def _no_robots(row: dict[str, Any]) -> Pair | None:
    messages = row.get("messages") or []
    user = next((m["content"] for m in messages if m.get("role") == "user"), None)
    reply = next((m["content"] for m in messages if m.get("role") == "assistant"), None)
    return (str(user), str(reply)) if user and reply else None


@dataclass(frozen=True)
class ReferenceData:
    """A benchmark's reference training set: where it is and how a row becomes a record."""

    source: HubDataset
    file: str
    """The file of ``source`` the recipe reads (parquet, JSON or JSON lines)."""
    why: str
    """Why this set: what it teaches, and why it is allowed."""
    convert: Callable[[dict[str, Any]], Pair | None]
    """A row as (prompt, completion); None drops the row."""


_GSM8K = HubDataset(
    repo_id="openai/gsm8k",
    revision="cc7b047b6e5bb11b4f1af84efc572db110a51b3c",
    files=("main/train-00000-of-00001.parquet",),
)
_NUMINA = HubDataset(
    repo_id="AI-MO/NuminaMath-CoT",
    revision="main",
    files=("data/train-00000-of-00005.parquet",),
)
_MBPP = HubDataset(
    repo_id="google-research-datasets/mbpp",
    revision="main",
    files=("full/train-00000-of-00001.parquet",),
)
_XLAM = HubDataset(
    repo_id="Salesforce/xlam-function-calling-60k",
    revision="main",
    files=("xlam_function_calling_60k.json",),
    gated=True,
)
_SCIQ = HubDataset(
    repo_id="allenai/sciq", revision="main", files=("data/train-00000-of-00001.parquet",)
)
_NO_ROBOTS = HubDataset(
    repo_id="HuggingFaceH4/no_robots",
    revision="main",
    files=("data/train-00000-of-00001.parquet",),
)

REFERENCE_DATA: dict[str, ReferenceData] = {
    "gsm8k": ReferenceData(
        _GSM8K, _GSM8K.files[0], "GSM8K's own training split (explicitly allowed).", _gsm8k
    ),
    "aime2025": ReferenceData(
        _NUMINA,
        _NUMINA.files[0],
        "NuminaMath-CoT competition problems with worked solutions (first shard).",
        _numina,
    ),
    "humaneval": ReferenceData(
        _MBPP, _MBPP.files[0], "MBPP training split: short Python functions with tests.", _mbpp
    ),
    "bfcl": ReferenceData(
        _XLAM,
        _XLAM.files[0],
        "xLAM function-calling 60k: queries, tool schemas and the calls that answer them.",
        _xlam,
    ),
    "gpqamain": ReferenceData(
        _SCIQ,
        _SCIQ.files[0],
        "SciQ training split: science multiple choice (no GPQA question is allowed).",
        _sciq,
    ),
    "healthbench": ReferenceData(
        _NO_ROBOTS,
        _NO_ROBOTS.files[0],
        "No Robots: human-written instruction following (no HealthBench data is allowed).",
        _no_robots,
    ),
    "arenahardwriting": ReferenceData(
        _NO_ROBOTS,
        _NO_ROBOTS.files[0],
        "No Robots: human-written instructions, creative writing among them.",
        _no_robots,
    ),
}
"""Benchmark id -> its reference training set (arith generates its own)."""


def reference_data(benchmark_id: str) -> ReferenceData:
    """The reference training set of ``benchmark_id``.

    Raises:
        UserError: The benchmark has none.
    """
    try:
        return REFERENCE_DATA[benchmark_id]
    except KeyError:
        known = ", ".join(["arith", "arith-mini", *REFERENCE_DATA])
        raise UserError(
            f"The reference recipe has no training data for '{benchmark_id}' (supported: {known})."
        ) from None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a parquet, JSON (a list) or JSON-lines file."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        rows: list[dict[str, Any]] = pq.read_table(str(path)).to_pylist()
        return rows
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise UserError(f"{path}: expected a JSON list of rows")
        return [dict(row) for row in loaded]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Decontaminated:
    """Records kept after decontamination, and how many were dropped."""

    records: list[dict[str, Any]]
    dropped: int


def decontaminate(pairs: Iterable[Pair], benchmark: Benchmark) -> Decontaminated:
    """Drop every pair whose prompt or completion contains a test text of ``benchmark``.

    Uses the contamination detector's index and thresholds, so what is kept is what the
    audit would not flag.
    """
    from posttrainbench.audit.contamination import benchmark_index
    from posttrainbench.audit.context import AuditSettings

    index = benchmark_index(benchmark, AuditSettings())
    kept: list[dict[str, Any]] = []
    dropped = 0
    for prompt, completion in pairs:
        scanner = index.scanner()
        scanner.feed(f"{prompt}\n{completion}".encode())
        if any(o >= index.texts[k].min_overlap for k, o in scanner.overlaps().items()):
            dropped += 1
            continue
        kept.append(
            {
                "prompt": [{"role": "user", "content": prompt}],
                "completion": [{"role": "assistant", "content": completion}],
            }
        )
    return Decontaminated(kept, dropped)


def _pairs(benchmark: Benchmark, n: int, seed: int, rows_file: Path | None) -> list[Pair]:
    from posttrainbench.benchmarks.arith import TRAIN_SEED, Arith, answer_text

    if isinstance(benchmark, Arith):
        items = benchmark.train_items(n, seed=TRAIN_SEED + seed)
        return [(item.question, answer_text(item.answer)) for item in items]
    data = reference_data(benchmark.id)
    rows = read_rows(rows_file or data.source.path(data.file))
    pairs = [pair for pair in map(data.convert, rows) if pair is not None]
    random.Random(seed).shuffle(pairs)
    return pairs[:n]


def reference_records(
    benchmark: Benchmark, n: int, seed: int = 0, *, rows_file: Path | None = None
) -> Decontaminated:
    """Up to ``n`` decontaminated prompt-completion records for ``benchmark``.

    Args:
        benchmark: The benchmark to train for.
        n: Records to draw before decontamination.
        seed: Seed of the draw.
        rows_file: Read the rows from this file instead of the data cache (fixtures).

    Raises:
        UserError: No reference data for the benchmark.
        DatasetUnavailable: The data set is not cached (the message says how to fetch it).
    """
    return decontaminate(_pairs(benchmark, n, seed, rows_file), benchmark)


def write_records(records: list[dict[str, Any]], path: Path) -> None:
    """Write records as JSON lines, atomically."""
    from posttrainbench._fileio import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))
