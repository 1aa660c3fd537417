"""The benchmark registry: one line per benchmark."""

from __future__ import annotations

from functools import cache

from posttrainbench._registry import Registry
from posttrainbench.benchmarks.base import Benchmark

__all__ = ["BENCHMARKS", "get_benchmark"]

BENCHMARKS: Registry[type[Benchmark]] = Registry(
    "benchmark",
    {
        "arith": "posttrainbench.benchmarks.arith:Arith",
        "arith-mini": "posttrainbench.benchmarks.arith:ArithMini",
        "aime2025": "posttrainbench.benchmarks.aime2025:Aime2025",
        "aime2026": "posttrainbench.benchmarks.aime2026:Aime2026",
        "arenahardwriting": "posttrainbench.benchmarks.arenahardwriting:ArenaHardWriting",
        "healthbench": "posttrainbench.benchmarks.healthbench:HealthBench",
        "bfcl": "posttrainbench.benchmarks.bfcl:Bfcl",
        "gpqamain": "posttrainbench.benchmarks.gpqa:GpqaMain",
        "gsm8k": "posttrainbench.benchmarks.gsm8k:Gsm8k",
        "humaneval": "posttrainbench.benchmarks.humaneval:HumanEval",
        "ifeval": "posttrainbench.benchmarks.ifeval:IfEval",
    },
)


@cache
def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (a registry id or ``module:Class``)."""
    return BENCHMARKS.resolve(name)()
