"""Fixtures for fine-tuning tests: a tiny random LLaVA and a small built folder (Hub layout + llava/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lego_arta.build.export import LlavaWriter
from lego_arta.models.tiny_vlm import build_tiny_vlm
from tests.support.built_dataset import write_fixture_dataset

ROWS_PER_SPLIT = 6
#: Extra train conversations with two images each (the builder writes one; the format allows more).
MULTI_IMAGE_SAMPLES = 4
MULTI_IMAGE_SIZE = (40, 30)


def _write_llava(folder: Path) -> None:
    """LLaVA conversations of the fixture's rows through the real exporter (``LlavaWriter``)."""
    import datasets

    writer = LlavaWriter(folder)
    for config in ("scene", "object", "state"):
        for split in ("train", "test"):
            table = datasets.load_dataset(str(folder), config, split=split).cast_column("image", datasets.Image(decode=False))
            writer.write(config, split, list(table))
    writer.close()


def _add_multi_image(folder: Path, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    path = folder / "llava" / "train.json"
    entries = json.loads(path.read_text())
    for index in range(count):
        names = []
        for side in ("left", "right"):
            pixels = rng.integers(0, 255, size=(MULTI_IMAGE_SIZE[1], MULTI_IMAGE_SIZE[0], 3), dtype=np.uint8)
            name = f"images/pair-{index}-{side}.png"
            Image.fromarray(pixels).save(folder / "llava" / name)
            names.append(name)
        entries.append({
            "id": f"pair-{index}",
            "task": "state",
            "image": names,
            "conversations": [
                {"from": "human", "value": "<image>\n<image>\n[state] Did I do it correctly for the right one? Just tell me Yes or No."},
                {"from": "gpt", "value": "Yes." if index % 2 else "No."},
            ],
        })  # fmt: skip
    path.write_text(json.dumps(entries, indent=1))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("models") / "tiny-llava", seed=0)


@pytest.fixture(scope="session")
def built_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built folder: scene/object/state Parquet (for lmms-eval) and llava/{train,test}.json with images."""
    folder = write_fixture_dataset(tmp_path_factory.mktemp("built") / "lego-arta", n_per_split=ROWS_PER_SPLIT, seed=0)
    _write_llava(folder)
    _add_multi_image(folder, MULTI_IMAGE_SAMPLES, seed=1)
    return folder
