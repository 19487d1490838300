"""LEGO colour names → RGB, and shading-tolerant matching of pixels to named colours.

Object-finding lines name each part's colour ("2 bright red bricks 2x4"); the classical grounder
finds the parts by those colours. Rendered faces are the base colour lit differently (top lighter,
sides darker), so a pixel matches a named colour when it is close in CIE Lab to any *shade* of it.

>>> lookup_colour("bright red")
(196, 40, 27)
>>> colour_names("white, black and bright orange")
('white', 'black', 'bright orange')
>>> lookup_colour("teal blue")   # unknown official name: falls back to its basic colour word
(13, 105, 171)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import cv2
import numpy as np

from lego_arta.palette import COLOURS as PALETTE

RGB = tuple[int, int, int]

#: Official LEGO colour names seen in Audio & Braille manuals beyond :data:`lego_arta.palette.COLOURS`, with
#: approximate RGB from the public LEGO/LDraw colour tables.
EXTRA_COLOURS: dict[str, RGB] = {
    "dark brown": (53, 33, 0),
    "earth green": (39, 70, 44),
    "olive green": (130, 131, 83),
    "medium lilac": (52, 43, 117),
    "medium lavender": (160, 110, 185),
    "lavender": (205, 164, 222),
    "light nougat": (246, 215, 179),
    "medium nougat": (170, 125, 85),
    "warm gold": (170, 127, 46),
    "silver metallic": (160, 160, 160),
    "titanium metallic": (98, 95, 97),
    "vibrant coral": (240, 109, 120),
    "aqua": (179, 215, 209),
    "spring yellowish green": (226, 249, 154),
    "bright bluish green": (0, 153, 150),
    "light royal blue": (159, 195, 233),
    "bright reddish orange": (255, 102, 0),
    "dark red": (123, 46, 47),
    "medium red": (244, 155, 113),
    "bright pink": (228, 173, 200),
    "dark pink": (200, 112, 160),
    "light bluish violet": (175, 190, 214),
    "transparent": (238, 238, 238),
    "transparent blue": (123, 182, 232),
    "transparent dark blue": (32, 80, 176),
    "transparent bright orange": (240, 143, 28),
    "transparent fluorescent reddish orange": (255, 128, 13),
    "transparent fluorescent green": (248, 241, 132),
    "transparent brown": (99, 95, 82),
}

#: Basic colour words, the fallback for names missing from the tables ("teal blue" → blue).
BASIC_COLOURS: dict[str, RGB] = {
    "white": (242, 243, 242),
    "black": (27, 42, 52),
    "red": (196, 40, 27),
    "blue": (13, 105, 171),
    "yellow": (245, 205, 47),
    "green": (75, 151, 74),
    "orange": (218, 133, 64),
    "purple": (146, 57, 120),
    "violet": (146, 57, 120),
    "pink": (228, 173, 200),
    "brown": (105, 64, 39),
    "grey": (163, 162, 164),
    "gray": (163, 162, 164),
    "silver": (160, 160, 160),
    "gold": (170, 127, 46),
    "tan": (215, 197, 153),
    "azure": (54, 174, 191),
    "lime": (164, 189, 70),
    "teal": (0, 153, 150),
}

#: Every known name → RGB; the shared palette wins on conflicts (it is what synthetic images use).
LEGO_COLOURS: dict[str, RGB] = {**EXTRA_COLOURS, **{c.name: c.rgb for c in PALETTE}}

#: Brightness factors and white blends that cover how renderers light the faces of a part.
SHADE_FACTORS: tuple[float, ...] = (0.45, 0.55, 0.65, 0.75, 0.85, 1.0, 1.1)
WHITE_BLENDS: tuple[float, ...] = (0.1, 0.25)

_SPLIT = re.compile(r"\s*(?:,\s*and\s+|,\s*|\s+and\s+|/)\s*")


def colour_names(colorinfo: str) -> tuple[str, ...]:
    """The colour names of a ``colorinfo`` entity: multicolour parts list several."""
    text = colorinfo.strip().lower()
    return tuple(name for name in _SPLIT.split(text) if name)


def lookup_colour(name: str) -> RGB | None:
    """RGB of a LEGO colour name, else of its last basic colour word, else None."""
    key = " ".join(name.lower().split())
    if key in LEGO_COLOURS:
        return LEGO_COLOURS[key]
    for word in reversed(key.replace("-", " ").split()):
        if word in BASIC_COLOURS:
            return BASIC_COLOURS[word]
    return None


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (L 0–100) of an ``(..., 3)`` uint8 or 0–255 float RGB array."""
    array = np.asarray(rgb, dtype=np.float32)
    if array.size == 0:
        return array.copy()
    return cv2.cvtColor(array.reshape(-1, 1, 3) / 255.0, cv2.COLOR_RGB2LAB).reshape(array.shape)


def shade_variants(rgb: RGB) -> np.ndarray:
    """``(n, 3)`` float RGB: the colour as lit faces (darker sides, lighter tops) may show it."""
    base = np.asarray(rgb, dtype=np.float32)
    shades = [np.clip(base * f, 0, 255) for f in SHADE_FACTORS]
    tints = [base + (255.0 - base) * w for w in WHITE_BLENDS]
    return np.stack(shades + tints)


def shade_distance(pixels_lab: np.ndarray, rgb: RGB) -> np.ndarray:
    """ΔE (CIE76) of each Lab pixel ``(n, 3)`` to the nearest shade of ``rgb``."""
    variants = to_lab(shade_variants(rgb))
    diff = pixels_lab[:, None, :] - variants[None, :, :]
    return np.sqrt((diff**2).sum(-1)).min(axis=1)


def nearest_colour(pixels_lab: np.ndarray, palette: Sequence[RGB]) -> tuple[np.ndarray, np.ndarray]:
    """For each Lab pixel: index of the nearest palette colour (by shade distance) and that distance."""
    if not palette:
        raise ValueError("nearest_colour needs a non-empty palette")
    distances = np.stack([shade_distance(pixels_lab, rgb) for rgb in palette], axis=1)
    return distances.argmin(axis=1), distances.min(axis=1)
