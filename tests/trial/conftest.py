"""Fixtures shared by the trial tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def trial_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runs folder shared by attack trials: the base model's score is computed once."""
    return tmp_path_factory.mktemp("shared-runs")
