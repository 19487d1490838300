"""Shared, generated fixtures: small synthetic raw manuals, made once per test session (per worker)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lego_arta.source.synth.generator import SynthConfig, synthesize

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
