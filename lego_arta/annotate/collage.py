"""2x2 collages for the object task: the target parts image in one quadrant, three distractors in the others.

A box given in pixels of the target image is mapped into the collage's 0–100 frame (SPEC §3), the
frame object-task answers use:

>>> box_to_frame((10, 20, 30, 40), width=200, height=100)
(5.0, 20.0, 15.0, 40.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from lego_arta.annotate.background import as_rgb
from lego_arta.boxes import FrameBox, PixelBox
from lego_arta.study import COLLAGE_QUADRANTS

#: Quadrants in order 0=top-left, 1=top-right, 2=bottom-left, 3=bottom-right.
QUADRANTS = COLLAGE_QUADRANTS
#: Coordinates of the normalised frame run from 0 to this.
FRAME_SCALE = 100.0


@dataclass(frozen=True)
class Collage:
    """A collage image and the target box in its 0–100 frame."""

    image: np.ndarray
    box: FrameBox


def box_to_frame(box: PixelBox, width: int, height: int) -> FrameBox:
    """Pixel box of a ``width``×``height`` image → the 0–100 frame."""
    if width <= 0 or height <= 0:
        raise ValueError(f"box_to_frame needs a positive size, got {width}x{height}")
    x1, y1, x2, y2 = box

    def frame(value: float, side: int) -> float:
        # A box reaching past the image still answers inside the frame (queries, metrics and score assume 0–100).
        return min(FRAME_SCALE, max(0.0, value / side * FRAME_SCALE))

    return (frame(x1, width), frame(y1, height), frame(x2, width), frame(y2, height))


def quadrant_rect(quadrant: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixel rectangle ``(x, y, w, h)`` of a quadrant in a collage of ``size = (width, height)``."""
    if not 0 <= quadrant < QUADRANTS:
        raise ValueError(f"quadrant must be 0..{QUADRANTS - 1}, got {quadrant}")
    width, height = size
    half_w, half_h = width // 2, height // 2
    column, row = quadrant % 2, quadrant // 2
    x = 0 if column == 0 else half_w
    y = 0 if row == 0 else half_h
    w = half_w if column == 0 else width - half_w
    h = half_h if row == 0 else height - half_h
    return x, y, w, h


class TileCache:
    """Quadrant-sized copies of tile images, each resized once.

    A manual's object pairs put each parts image into many collages (4 per grounded image as the
    target, more as a distractor), and resizing was a fifth of the build's time. Entries are keyed
    by the array's identity and keep the array alive, so a key never names another array; use it
    for images that do not change (the build's decoded images are read-only).

    >>> cache, image = TileCache(), np.zeros((40, 60, 3), dtype=np.uint8)
    >>> cache.resized(image, 30, 20) is cache.resized(image, 30, 20), cache.resized(image, 30, 20).shape
    (True, (20, 30, 3))
    """

    def __init__(self) -> None:
        self._tiles: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}

    def resized(self, image: np.ndarray, width: int, height: int) -> np.ndarray:
        key = (id(image), width, height)
        hit = self._tiles.get(key)
        if hit is None or hit[0] is not image:
            hit = (image, resize_tile(image, width, height))
            self._tiles[key] = hit
        return hit[1]


def resize_tile(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """An image resized to a ``width``x``height`` quadrant (area interpolation: no aliasing when shrinking)."""
    return cv2.resize(as_rgb(image), (width, height), interpolation=cv2.INTER_AREA)


def make_collage(
    images: Sequence[np.ndarray], target: int, box: PixelBox, *, size: tuple[int, int], tiles: TileCache | None = None
) -> Collage:
    """Place ``images[i]`` in quadrant ``i`` (each resized to the quadrant) and map ``box`` of
    ``images[target]`` into the collage's 0–100 frame.

    The caller decides the order: to put the target in quadrant ``q`` pass it as ``images[q]``.
    With ``tiles``, resized images are taken from (and kept in) that cache.
    """
    if len(images) != QUADRANTS:
        raise ValueError(f"make_collage needs exactly {QUADRANTS} images, got {len(images)}")
    if not 0 <= target < QUADRANTS:
        raise ValueError(f"target must be a quadrant 0..{QUADRANTS - 1}, got {target}")
    width, height = size
    if width < 2 or height < 2:
        raise ValueError(f"collage size must be at least 2x2, got {width}x{height}")
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    for quadrant, image in enumerate(images):
        x, y, w, h = quadrant_rect(quadrant, size)
        canvas[y : y + h, x : x + w] = tiles.resized(image, w, h) if tiles is not None else resize_tile(image, w, h)
    source_h, source_w = as_rgb(images[target]).shape[:2]
    x, y, w, h = quadrant_rect(target, size)
    x1, y1, x2, y2 = box
    sx, sy = w / source_w, h / source_h
    pixel_box = (x + x1 * sx, y + y1 * sy, x + x2 * sx, y + y2 * sy)
    return Collage(image=canvas, box=box_to_frame(pixel_box, width, height))
