"""Benchmarks: one module per benchmark plus one registry line each."""

from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem
from posttrainbench.benchmarks.registry import BENCHMARKS, get_benchmark

__all__ = ["BENCHMARKS", "Benchmark", "GenerationSettings", "TestItem", "get_benchmark"]
