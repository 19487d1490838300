"""Shared, generated fixtures, made once per test session (per worker): small synthetic raw manuals
and a real build of them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lego_arta.source.synth.generator import SynthConfig, synthesize

if TYPE_CHECKING:  # the build imports datasets (seconds): only sessions that build pay for it
    from lego_arta.dataset.recipe import BuildRecipe

#: Small images keep the suite fast; every algorithm scales with image size.
TEST_WIDTH = 384
TEST_HEIGHT = 178
TEST_MANUALS = 4


@pytest.fixture(scope="session", autouse=True)
def _offline_hf(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing may be fetched from the Hub: point every cache at a temporary folder, offline."""
    home = tmp_path_factory.mktemp("hf_home")
    os.environ.setdefault("HF_HOME", str(home))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def synth_config() -> SynthConfig:
    return SynthConfig(manuals=TEST_MANUALS, seed=7, width=TEST_WIDTH, height=TEST_HEIGHT)


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory, synth_config: SynthConfig) -> Path:
    """A folder of small synthetic raw manuals (read-only for tests: copy before changing it)."""
    out = tmp_path_factory.mktemp("raw") / "manuals"
    synthesize(out, synth_config, workers=1, progress=False)
    return out


#: The quick-start recipe, at the test image size (collages as small as the source images).
QUICKSTART_RECIPE = Path(__file__).resolve().parents[1] / "builders" / "quickstart.yaml"


@pytest.fixture(scope="session")
def built_recipe() -> BuildRecipe:
    """The recipe of :func:`built_dataset`: ``builders/quickstart.yaml`` with test-sized collages."""
    from lego_arta.dataset.recipe import load_recipe

    return replace(load_recipe(QUICKSTART_RECIPE), collage_width=TEST_WIDTH, collage_height=TEST_HEIGHT)


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: BuildRecipe) -> Path:
    """A real ``lego-arta build`` of :func:`synthetic_raw` (Hub layout, LLaVA, manifest); read-only."""
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("built") / "lego-arta"
    build(built_recipe, out, raw=synthetic_raw, progress=False)
    return out
