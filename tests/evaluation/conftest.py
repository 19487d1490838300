"""A small real build shared by the evaluation tests (one per test session and worker).

Three synthetic manuals at a small image size: the builder's own output (Hub layout, README
``configs:``), so the tests see what ``lego-arta quickstart`` users see, in about ten seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lego_arta.dataset.pipeline import build
from lego_arta.dataset.recipe import BuildRecipe, SourceSpec

#: Three manuals put one in test and two in train (25% test, grouped by manual); with this
#: source seed every config has rows in both splits.
MANUALS = 3
SEED = 1
WIDTH, HEIGHT = 256, 118


@pytest.fixture(scope="session")
def built_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built LEGO-ARTA folder in the Hub layout (read-only for tests)."""
    recipe = BuildRecipe(
        source=SourceSpec(manuals=MANUALS, seed=SEED, width=WIDTH, height=HEIGHT),
        collage_width=WIDTH,
        collage_height=HEIGHT,
    )
    out = tmp_path_factory.mktemp("evaluation-built") / "lego-arta"
    result = build(recipe, out, workers=1, progress=False)
    empty = [f"{config}/{split}" for config, splits in result.counts.items() for split, rows in splits.items() if not rows]
    assert not empty, f"the evaluation tests need rows in every config and split; empty: {empty}"
    return out
