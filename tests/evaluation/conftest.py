"""A small built dataset shared by the evaluation tests (one build per test session and worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.built_dataset import write_fixture_dataset

#: Rows per config and split: enough for both state verdicts and a few TF-IDF neighbours.
ROWS_PER_SPLIT = 16


@pytest.fixture(scope="session")
def built_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built LEGO-ARTA folder in the Hub layout (read-only for tests)."""
    return write_fixture_dataset(tmp_path_factory.mktemp("evaluation-built") / "lego-arta", n_per_split=ROWS_PER_SPLIT, seed=3)
