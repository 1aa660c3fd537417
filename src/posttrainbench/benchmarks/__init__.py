"""Benchmarks: one module per benchmark plus one registry line each."""

from posttrainbench.benchmarks.base import (
    AllowedExample,
    Benchmark,
    GenerationSettings,
    Judge,
    JudgedBenchmark,
    TestItem,
    TwinPair,
)
from posttrainbench.benchmarks.data import DatasetUnavailable, DataSource, DataStatus
from posttrainbench.benchmarks.registry import BENCHMARKS, get_benchmark

__all__ = [
    "BENCHMARKS",
    "AllowedExample",
    "Benchmark",
    "DataSource",
    "DataStatus",
    "DatasetUnavailable",
    "GenerationSettings",
    "Judge",
    "JudgedBenchmark",
    "TestItem",
    "TwinPair",
    "get_benchmark",
]
