"""Shared fixtures. Tests never touch the network: the hub is forced offline here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen3-shaped base model built locally (the 'test' preset)."""
    from posttrainbench.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-base", seed=0, preset="test")


@pytest.fixture
def runs_root(tmp_path: Path) -> Iterator[Path]:
    """An empty runs directory."""
    root = tmp_path / "runs"
    root.mkdir()
    yield root


_OPT_IN_MARKERS = ("slow", "gpu", "network", "api")

# Parallel runs (`pytest -n 3 --dist loadscope`, as .ci/run does): a worker takes a whole
# module at a time, so that module-scoped fixtures (often a real trial) are built once.
# The longest modules are handed out first, so that the workers finish together: this list
# is in the order of their time in a CI run (2026-12-02: test_local 240 s of mostly
# waiting, the demo 212 s, the resume tests 200 s, ... test_network_policy 25 s).
_LONG_FIRST = (
    "tests/executors/test_local.py",
    "tests/test_demo.py",
    "tests/trial/test_resume.py",
    "tests/audit/test_redteam.py",
    "tests/executors/test_slurm.py",
    "tests/test_cli.py",
    "tests/sandbox/test_sandbox_attacks.py",
    "tests/testing/test_stand_in_internet.py",
    "tests/evaluation/test_engine.py",
    "tests/benchmarks/test_data_lock.py",
    "tests/audit/test_trial_audit.py",
    "tests/agents/test_sft_recipe_packing.py",
    "tests/trial/test_fallback.py",
    "tests/benchmarks/test_data_cli.py",
    "tests/trial/test_network_policy.py",
)


def _long_modules_first(items: list[pytest.Item]) -> None:
    rank = {module: index for index, module in enumerate(_LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests with an opt-in marker run only when ``-m`` names that marker."""
    selected = config.option.markexpr or ""
    for item in items:
        for marker in _OPT_IN_MARKERS:
            if item.get_closest_marker(marker) and marker not in selected:
                item.add_marker(pytest.mark.skip(reason=f"opt-in tier: run with -m {marker}"))
    _long_modules_first(items)
