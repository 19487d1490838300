"""A build with both two-way verdict tasks (``state`` and ``order``), for the harness tests that need ``order``
(the quick-start build of tests/conftest.py makes the study's three configs only)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

#: The configs of :func:`verdict_data`.
VERDICT_CONFIGS = ("state", "order")


@pytest.fixture(scope="session")
def verdict_data(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: Any) -> Path:
    """A real build of the test manuals with :data:`VERDICT_CONFIGS` (read-only)."""
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("verdict-built") / "lego-arta"
    build(replace(built_recipe, configs=VERDICT_CONFIGS), out, raw=synthetic_raw, progress=False)
    return out
