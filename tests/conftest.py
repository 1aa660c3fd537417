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
# The longest modules are handed out first, so that the workers finish together.
_LONG_FIRST = (
    "tests/test_demo.py",
    "tests/trial/test_resume.py",
    "tests/executors/test_local.py",
    "tests/test_cli.py",
    "tests/trial/test_network_policy.py",
    "tests/trial/test_submission_snapshot.py",
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
