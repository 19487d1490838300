"""Read a built folder and the synthetic truth it was made from, independently of the builder's code.

Rows are read straight from the Parquet shards with pyarrow; the truth comes from the generator's
sidecars (``truth.json``, page HTML) of the raw manuals.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import cv2
import numpy as np
import pyarrow.parquet as pq
from bs4 import BeautifulSoup
from PIL import Image

CONFIGS: tuple[str, ...] = ("scene", "object", "state")
SPLITS: tuple[str, ...] = ("train", "test")


def shards(folder: Path, config: str, split: str) -> list[Path]:
    return sorted((folder / config).glob(f"{split}-*.parquet"))


def read_rows(folder: Path, config: str, split: str) -> list[dict[str, Any]]:
    """Every row of one (config, split), in file order, images as ``{"bytes", "path"}``."""
    return [row for shard in shards(folder, config, split) for row in pq.read_table(shard).to_pylist()]


def all_rows(folder: Path, config: str) -> list[dict[str, Any]]:
    return [row for split in SPLITS for row in read_rows(folder, config, split)]


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def union(boxes: list[list[float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


@dataclass(frozen=True)
class StepTruth:
    """One step of a synthetic session as the generator recorded it."""

    manual_folder: Path
    session: str
    number: int
    step: dict[str, Any]
    eop: dict[str, Any] | None
    placed: tuple[int, ...]
    previous: dict[str, Any] | None  # the previous assembly step of the session
    boundary: tuple[int, int, int] | None

    def image(self, entry: dict[str, Any]) -> np.ndarray:
        with Image.open(self.manual_folder / "images" / entry["file"]) as image:
            return np.asarray(image.convert("RGB"))

    def item_mask(self) -> np.ndarray:
        """Bool H×W: the pixels of the parts this step adds (outline included), from the label image."""
        labels = cv2.imread(str(self.manual_folder / self.step["labels"]), cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise FileNotFoundError(self.manual_folder / self.step["labels"])
        present = list(self.step["present"])
        return np.isin(labels, [present.index(index) + 1 for index in self.placed])


@cache
def truth_steps(raw: Path, manual_id: str) -> dict[tuple[str, int], StepTruth]:
    folder = raw / manual_id
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    steps: dict[tuple[str, int], StepTruth] = {}
    for session in truth["sessions"]:
        previous = None
        boundary = tuple(session["boundary"]["rgb"]) if session["boundary"] else None
        for step in session["steps"]:
            steps[session["name"], step["number"]] = StepTruth(
                folder, session["name"], step["number"], step["step"], step["eop"], tuple(step["placed"]), previous, boundary
            )
            previous = step["step"]
    return steps


@cache
def page_texts(raw: Path, manual_id: str) -> dict[str, str]:
    """Image file name (decoded) → the row's text lines joined by a space, whitespace folded."""
    html = (raw / manual_id / f"{manual_id}.html").read_text(encoding="utf-8")
    texts = {}
    for row in BeautifulSoup(html, "html.parser").select("div.manual-table-container div.row"):
        name = unquote(row.select_one(".image img")["src"].rsplit("/", 1)[-1])
        texts[name] = " ".join(" ".join(box.get_text().split()) for box in row.select(".text .txtbox"))
    return texts
