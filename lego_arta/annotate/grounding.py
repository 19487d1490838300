"""Grounders: where the parts named by an object-finding line are in its parts (eop) image.

Three interchangeable implementations behind one protocol, picked by a spec string:

* ``truth`` — the boxes a synthetic manual's ``truth.json`` records (exact; synthetic only).
* ``opencv`` — classical image processing (:mod:`.grounding_opencv`); works on crawled manuals.
* ``transformers:<model id or path>`` — a zero-shot detector (:mod:`.grounding_transformers`).

>>> make_grounder("opencv").name
'opencv'

Boxes are ``(x1, y1, x2, y2)`` in pixels of the image, half-open (``x2`` is one past the last column
a part covers), the convention of the synthetic ground truth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import numpy as np

from lego_arta.annotate.grounding_opencv import OpenCVGrounder
from lego_arta.annotate.grounding_transformers import TransformersGrounder
from lego_arta.annotate.phrases import parse_phrase, part_phrases
from lego_arta.boxes import PixelBox, union_box
from lego_arta.parse.manual import Row
from lego_arta.source.layout import TRUTH_FILE

__all__ = [
    "Grounder",
    "GroundingError",
    "OpenCVGrounder",
    "PixelBox",
    "TransformersGrounder",
    "TruthGrounder",
    "make_grounder",
    "part_phrases",
]


class GroundingError(ValueError):
    """A grounder that cannot run on its input (no truth sidecar, unknown spec); names what is wrong."""


class Grounder(Protocol):
    """Finds one box per part phrase in the image of an eop row."""

    name: str

    def ground(self, row: Row, image: np.ndarray, phrases: Sequence[str]) -> list[PixelBox | None]: ...


def _phrase_key(phrase: str) -> tuple[str, str]:
    """(colour text, singular part name) of a phrase, to match truth instances by."""
    parsed = parse_phrase(phrase)
    colour = " and ".join(parsed.colours)
    theme = parsed.theme.lower()
    head, _, size = theme.rpartition(" ")
    if head.endswith("s") and parsed.count > 1:
        theme = f"{head[:-1]} {size}"
    return colour, theme


class TruthGrounder:
    """Reads the true part boxes of synthetic manuals from ``<manual>/truth.json``."""

    name = "truth"

    def __init__(self) -> None:
        self._cache: dict[Path, dict[str, list[dict[str, Any]]]] = {}

    def _eop_parts(self, folder: Path) -> dict[str, list[dict[str, Any]]]:
        if folder not in self._cache:
            path = folder / TRUTH_FILE
            if not path.is_file():
                raise GroundingError(f"{path}: no truth sidecar (the 'truth' grounder only works on synthetic manuals)")
            try:
                truth = json.loads(path.read_text(encoding="utf-8"))
                parts = {
                    unquote(step["eop"]["file"]): step["eop"]["parts"]
                    for session in truth["sessions"]
                    for step in session["steps"]
                    if step.get("eop")
                }
            except (KeyError, TypeError, json.JSONDecodeError) as error:
                raise GroundingError(f"{path}: not a truth file with sessions[].steps[].eop.parts ({error!r})") from error
            self._cache[folder] = parts
        return self._cache[folder]

    def ground(self, row: Row, image: np.ndarray, phrases: Sequence[str]) -> list[PixelBox | None]:
        """Union of the true boxes of the instances each phrase names (colour and part name)."""
        folder = row.image.path.parent.parent
        parts = self._eop_parts(folder).get(unquote(row.image.file))
        if parts is None:
            raise GroundingError(f"{folder / TRUTH_FILE}: no eop entry for image {row.image.file!r}")
        boxes: list[PixelBox | None] = []
        for phrase in phrases:
            key = _phrase_key(phrase)
            found = [tuple(float(v) for v in p["box"]) for p in parts if (p["colour"], p["name"]) == key]
            boxes.append(union_box(found) if found else None)  # type: ignore[arg-type]
        return boxes


def grounder_spec(spec: str) -> tuple[str, str]:
    """(kind, argument) of a grounder name, checked without building it (a recipe checks it on load).

    >>> grounder_spec("transformers:org/model")
    ('transformers', 'org/model')
    """
    kind, _, argument = spec.partition(":")
    if (kind in ("truth", "opencv") and not argument) or (kind == "transformers" and argument):
        return kind, argument
    raise GroundingError(f"unknown grounder {spec!r}; expected 'truth', 'opencv' or 'transformers:<model id or path>'")


def make_grounder(spec: str) -> Grounder:
    """``"truth"``, ``"opencv"`` or ``"transformers:<model id or path>"`` → a grounder."""
    kind, argument = grounder_spec(spec)
    if kind == "truth":
        return TruthGrounder()
    if kind == "opencv":
        return OpenCVGrounder()
    return TransformersGrounder(argument)
