"""TEMPORARY fixture: a tiny built LEGO-ARTA dataset in the Hub layout, until the real builder lands.

It mimics the builder's output contract (one folder per config, ``<config>/<split>-00000-of-00001
.parquet`` with embedded images, and a README whose YAML ``configs:`` lets
``datasets.load_dataset(folder, config)`` work offline). The lead replaces it with the real
builder run on synthetic manuals; the harness tests only rely on the contract, not on the data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from lego_arta.build.prompts import object_answer, object_query, scene_query, state_answer, state_query

CONFIGS: tuple[str, ...] = ("scene", "object", "state")
SPLITS: tuple[str, ...] = ("train", "test")
IMAGE_SIZE = (48, 36)
COLOURS: tuple[str, ...] = ("bright red", "dark blue", "lime", "white", "light purple", "tan")
THEMES: tuple[str, ...] = ("bricks 2x4", "plates 1x2", "flat tiles 1x1", "slopes 2x2", "round bricks 1x1")
PLACES: tuple[str, ...] = ("on top of the base", "on the left side", "at the back", "in the middle")
STATE_POSITIVE_SHARE = 0.25  # one real image per three cut-and-paste negatives, as in the study


def _image(rng: np.random.Generator) -> Image.Image:
    """A flat background with one coloured rectangle: enough for processors and the dummy model."""
    height, width = IMAGE_SIZE[1], IMAGE_SIZE[0]
    pixels = np.full((height, width, 3), rng.integers(150, 255, size=3), dtype=np.uint8)
    x1, y1 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
    pixels[y1 : y1 + height // 3, x1 : x1 + width // 3] = rng.integers(0, 120, size=3)
    return Image.fromarray(pixels)


def _opaque_id(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:16]


def _phrase(rng: np.random.Generator) -> tuple[str, list[str]]:
    colour, theme = COLOURS[int(rng.integers(len(COLOURS)))], THEMES[int(rng.integers(len(THEMES)))]
    return f"{int(rng.integers(1, 5))} {colour} {theme}", [colour, theme]


def _common(config: str, split: str, index: int, seed: int, query, answer: str, rng: np.random.Generator) -> dict:
    return {
        "id": _opaque_id(seed, config, split, index),
        "image": _image(rng),
        "query": query.text,
        "answer": answer,
        "manual_id": f"fixture-{split}-{index % 2}",
        "task_token": query.task_token,
        "instruction": query.instruction,
        "question": query.question,
    }


def _scene_row(split: str, index: int, seed: int, rng: np.random.Generator) -> dict:
    found, _ = _phrase(rng)
    placed, entities = _phrase(rng)
    answer = f"Put {placed} {PLACES[int(rng.integers(len(PLACES)))]}."
    return {**_common("scene", split, index, seed, scene_query(found), answer, rng), "entities": entities}


def _object_row(split: str, index: int, seed: int, rng: np.random.Generator) -> dict:
    phrase, entities = _phrase(rng)
    x1, y1 = (float(v) for v in rng.integers(0, 60, size=2))
    box = [x1, y1, x1 + float(rng.integers(10, 40)), y1 + float(rng.integers(10, 40))]
    row = _common("object", split, index, seed, object_query(phrase), object_answer(phrase, tuple(box)), rng)
    return {**row, "box": box, "object": phrase, "entities": entities}


def _state_row(split: str, index: int, seed: int, rng: np.random.Generator, label: bool) -> dict:
    found, _ = _phrase(rng)
    placed, _ = _phrase(rng)
    query = state_query(found, f"Put {placed} {PLACES[int(rng.integers(len(PLACES)))]}.")
    return {**_common("state", split, index, seed, query, state_answer(label), rng), "label": label}


def _rows(config: str, split: str, n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, CONFIGS.index(config), SPLITS.index(split)])
    if config == "scene":
        return [_scene_row(split, i, seed, rng) for i in range(n)]
    if config == "object":
        return [_object_row(split, i, seed, rng) for i in range(n)]
    positives = max(1, round(n * STATE_POSITIVE_SHARE))
    labels = rng.permutation(np.arange(n) < positives)
    return [_state_row(split, i, seed, rng, bool(label)) for i, label in enumerate(labels)]


def _features(config: str):
    from datasets import Features, Image as ImageFeature, List, Value

    common = {name: Value("string") for name in ("id", "query", "answer", "manual_id", "task_token", "instruction", "question")}
    common["image"] = ImageFeature()
    extra = {
        "scene": {"entities": List(Value("string"))},
        "object": {"box": List(Value("float32")), "object": Value("string"), "entities": List(Value("string"))},
        "state": {"label": Value("bool")},
    }[config]
    return Features({**common, **extra})


def _readme() -> str:
    lines = ["---", "configs:"]
    for config in CONFIGS:
        lines += [f"- config_name: {config}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {config}/{split}-*" for split in SPLITS]
    lines += ["---", "", "# LEGO-ARTA test fixture (generated, temporary)", ""]
    return "\n".join(lines)


def write_fixture_dataset(directory: Path, n_per_split: int = 6, seed: int = 0) -> Path:
    """Write ``n_per_split`` rows per config and split under ``directory``; return ``directory``."""
    from datasets import Dataset

    directory = Path(directory)
    for config in CONFIGS:
        for split in SPLITS:
            rows = _rows(config, split, n_per_split, seed)
            table = Dataset.from_list(rows, features=_features(config))
            target = directory / config / f"{split}-00000-of-00001.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            table.to_parquet(str(target))
    (directory / "README.md").write_text(_readme(), encoding="utf-8")
    return directory
