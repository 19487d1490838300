"""Fixtures for fine-tuning tests: a tiny random LLaVA and a real (small, seeded) LEGO-ARTA build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lego_arta.dataset.export import llava_view
from lego_arta.dataset.pipeline import build
from lego_arta.dataset.recipe import BuildRecipe, SourceSpec
from lego_arta.models.tiny_vlm import build_tiny_vlm

#: Four small synthetic manuals: every task has train rows; building takes ~30 s on 2 cores.
TEST_RECIPE = BuildRecipe(
    name="finetune-tests",
    source=SourceSpec(manuals=4, seed=7, width=256, height=118),
    collage_width=128,
    collage_height=59,
)
#: The build's LLaVA export has one image per sample; the format allows several. This file (beside
#: train.json, so relative image paths resolve) pairs exported images two by two.
PAIRS_JSON = "pairs.json"
PAIR_SAMPLES = 4


def _write_pairs(exported: Path) -> Path:
    llava = exported / "llava"
    entries = [entry for entry in json.loads((llava / "train.json").read_text()) if entry["task"] == "state"]
    pairs = []
    for index in range(PAIR_SAMPLES):
        first, second = entries[2 * index], entries[2 * index + 1]
        query = second["conversations"][0]["value"].replace("<image>\n", "")
        pairs.append(
            {
                "id": f"pair-{index}",
                "task": "state",
                "image": [first["image"], second["image"]],
                "conversations": [
                    {"from": "human", "value": f"<image>\n<image>\n{query} (the second image)"},
                    {"from": "gpt", "value": second["conversations"][1]["value"]},
                ],
            }
        )
    path = llava / PAIRS_JSON
    path.write_text(json.dumps(pairs, indent=1))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("models") / "tiny-llava", seed=0)


@pytest.fixture(scope="session")
def built_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built folder (Hub-layout Parquet, manifest); its LLaVA export (:func:`llava_data`) has llava/pairs.json."""
    out = tmp_path_factory.mktemp("built") / "lego-arta"
    build(TEST_RECIPE, out, progress=False)
    _write_pairs(llava_view(out))
    return out


@pytest.fixture(scope="session")
def llava_data(built_data: Path) -> Path:
    """The LLaVA export fine-tuning makes of :func:`built_data` on first use (llava/{train,test,pairs}.json, images)."""
    return llava_view(built_data)


@pytest.fixture(scope="session")
def manifest_counts(built_data: Path) -> dict[str, dict[str, int]]:
    """Rows per config and split as the builder recorded them (an independent count to check against)."""
    return json.loads((built_data / "manifest.json").read_text())["counts"]
