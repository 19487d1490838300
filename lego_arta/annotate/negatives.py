"""Wrong-state images for the state task: the step's new item pasted at a wrong place (SPEC §3).

The highlighted item of assembly step t is cut out by its boundary colour and pasted on the image
of the previous assembly step, inside the model's bounding box ("background box") and moved by at
least :data:`MIN_DISPLACEMENT` of that box from its true place. Three per state, as in the study.

Every negative that cannot be made is counted under its reason, so for any call
``len(result.negatives) + sum(result.rejected.values()) == count``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from lego_arta.annotate.background import as_rgb, mask_box
from lego_arta.annotate.background import background_box as _background_box
from lego_arta.annotate.boundary import highlighted_item_mask

Box = tuple[float, float, float, float]
RGB = tuple[int, int, int]

#: Smallest move of a pasted item, as a share of the background box (study: 5%).
MIN_DISPLACEMENT = 0.05
#: Negatives per state (study: 3).
NEGATIVES_PER_STATE = 3
#: Candidate paste positions per axis (evenly spread over the allowed range), before the random pick.
POSITION_GRID = 48

EMPTY_MASK = "empty mask"
ITEM_AT_BORDER = "item touches image border"
SIZE_MISMATCH = "image sizes differ"
EMPTY_PREVIOUS = "previous image has no model"
ITEM_TOO_LARGE = "item larger than background box"
NO_ROOM = "no room to displace"


@dataclass(frozen=True)
class Negative:
    """A wrong-state image and how it was made.

    ``offset`` moves ``item_box`` (true place in step t) to ``pasted_box``; ``displacement`` is
    ``max(|dx| / box width, |dy| / box height)`` of the background box.
    """

    image: np.ndarray
    offset: tuple[int, int]
    item_box: Box
    pasted_box: Box
    displacement: float


@dataclass(frozen=True)
class NegativeResult:
    negatives: tuple[Negative, ...]
    rejected: Counter[str]


def background_box(image: np.ndarray) -> Box:
    """The model's bounding box in an assembly image (half-open pixels); see :mod:`.background`."""
    return _background_box(image)


def _rejected(reason: str, count: int) -> NegativeResult:
    return NegativeResult(negatives=(), rejected=Counter({reason: count}))


def displacement_of(offset: tuple[int, int], box: Box) -> float:
    """Move of ``offset`` as a share of ``box``: the larger of the x and y shares."""
    width, height = box[2] - box[0], box[3] - box[1]
    return max(abs(offset[0]) / width, abs(offset[1]) / height)


def _axis_positions(low: int, high: int) -> np.ndarray:
    return np.unique(np.linspace(low, high, num=min(POSITION_GRID, high - low + 1)).round().astype(int))


def make_negatives(
    step_image: np.ndarray,
    previous_image: np.ndarray,
    boundary: RGB,
    rng: np.random.Generator,
    *,
    count: int = NEGATIVES_PER_STATE,
    min_displacement: float = MIN_DISPLACEMENT,
) -> NegativeResult:
    """Up to ``count`` negatives for one state; inputs are never modified.

    Paste positions are drawn with ``rng`` from a grid over the places where the item fits inside
    the background box; positions closer than ``min_displacement`` to the true place or to an
    already chosen one are skipped, so the negatives differ from the positive and from each other.
    """
    step, previous = as_rgb(step_image), as_rgb(previous_image)
    if step.shape != previous.shape:
        return _rejected(SIZE_MISMATCH, count)
    mask = highlighted_item_mask(step, boundary)
    item = mask_box(mask)
    if item is None:
        return _rejected(EMPTY_MASK, count)
    height, width = step.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in item)
    if x1 == 0 or y1 == 0 or x2 == width or y2 == height:
        return _rejected(ITEM_AT_BORDER, count)
    try:
        box = background_box(previous)
    except ValueError:
        return _rejected(EMPTY_PREVIOUS, count)
    bx1, by1, bx2, by2 = (int(v) for v in box)
    item_w, item_h = x2 - x1, y2 - y1
    if item_w > bx2 - bx1 or item_h > by2 - by1:
        return _rejected(ITEM_TOO_LARGE, count)
    xs, ys = _axis_positions(bx1, bx2 - item_w), _axis_positions(by1, by2 - item_h)
    grid = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1).reshape(-1, 2)
    chosen: list[tuple[int, int]] = []
    for nx, ny in grid[rng.permutation(len(grid))]:
        offset = (int(nx) - x1, int(ny) - y1)
        if displacement_of(offset, box) < min_displacement:
            continue
        if any(displacement_of((offset[0] - ox, offset[1] - oy), box) < min_displacement for ox, oy in chosen):
            continue
        chosen.append(offset)
        if len(chosen) == count:
            break
    cut = mask[y1:y2, x1:x2]
    pixels = step[y1:y2, x1:x2]
    negatives = []
    for dx, dy in chosen:
        image = previous.copy()
        target = image[y1 + dy : y2 + dy, x1 + dx : x2 + dx]
        target[cut] = pixels[cut]
        pasted = (float(x1 + dx), float(y1 + dy), float(x2 + dx), float(y2 + dy))
        negatives.append(Negative(image, (dx, dy), (float(x1), float(y1), float(x2), float(y2)), pasted, displacement_of((dx, dy), box)))
    rejected: Counter[str] = Counter()
    if len(chosen) < count:
        rejected[NO_ROOM] = count - len(chosen)
    return NegativeResult(negatives=tuple(negatives), rejected=rejected)
