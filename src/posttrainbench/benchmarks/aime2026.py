"""AIME 2026: the 30 problems of the 2026 American Invitational Mathematics Examination.

Upstream's ``aime2026`` task: ``math-ai/aime26`` (test split) with AIME 2025's prompt and
answer matching, so everything but the data is :class:`Aime2025`'s. Upstream reads the
dataset at its default branch; here ``ptb data fetch`` resolves that branch to a commit and
locks it in ``data.lock``, and evaluation reads only that commit. Outside the paper's
weighted average (it has no published weight).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from typing_extensions import override

from posttrainbench.benchmarks.aime2025 import Aime2025
from posttrainbench.benchmarks.base import TestItem
from posttrainbench.benchmarks.data import HubDataset

__all__ = ["AIME26", "Aime2026"]

AIME26 = HubDataset(repo_id="math-ai/aime26", revision="main", files=("test.jsonl",))
"""The source upstream reads (no revision pinned upstream: locked at fetch)."""


@cache
def _read(path: Path) -> tuple[dict[str, Any], ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


class Aime2026(Aime2025):
    """AIME 2026 I and II (30 problems), exact integer answers."""

    id = "aime2026"
    title = "AIME 2026 (competition math, integer answers)"
    allowed_training_data = (
        "Earlier AIME years (e.g. Maxwell-Jia/AIME_2024); no AIME 2026 problem or answer "
        "(e.g. opencompass/AIME2026, yentinglin/aime_2026, MathArena/aime_2026)."
    )
    data_sources = (AIME26,)

    @override
    def test_items(self) -> list[TestItem]:
        """The 30 problems in the dataset's order."""
        records = _read(AIME26.path(AIME26.files[0]))
        return [
            TestItem(
                id=f"aime2026-{record.get('id', index)}",
                question=str(record["problem"]),
                answer=str(record["answer"]),
            )
            for index, record in enumerate(records)
        ]
