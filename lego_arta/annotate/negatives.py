"""Wrong-state images for the state task: the step's new item pasted at a wrong place (SPEC §3).

The highlighted item of assembly step t is cut out by its boundary colour and pasted on the image
of the previous assembly step, inside the model's bounding box ("background box") and moved by at
least :data:`MIN_DISPLACEMENT` of that box from its true place. Three per state, as in the study.

The previous image shows *its own* new parts outlined (and tinted) in the same boundary colour.
Pasting onto it as is would give every negative two highlighted items and a positive one: the
count of boundary-colour pixels alone would tell them apart. So the previous highlight is removed
first (:func:`remove_highlight`) and a negative shows exactly one highlighted item, like a positive.

Every negative that cannot be made is counted under its reason, so for any call
``len(result.negatives) + sum(result.rejected.values()) == count``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from lego_arta.annotate.background import as_rgb, channel_max, mask_box
from lego_arta.annotate.background import background_box as _background_box
from lego_arta.annotate.boundary import OUTLINE_GAP_PX, boundary_mask, filled_outline, highlighted_item_mask
from lego_arta.boxes import PixelBox
from lego_arta.study import MIN_DISPLACEMENT, NEGATIVES_PER_STATE

RGB = tuple[int, int, int]

#: Candidate paste positions per axis (evenly spread over the allowed range), before the random pick.
POSITION_GRID = 48

#: A highlight's zone is its outline and enclosed item grown by this many pixels (antialiased edges).
HIGHLIGHT_MARGIN_PX = 1
#: The camera held still between two steps when, in this band around the previous highlight, this
#: share of the pixels agree within this many 8-bit levels per channel; only then are the step's
#: own pixels taken as the unhighlighted look of the previous highlight.
AGREEMENT_BAND_PX = 6
AGREEMENT_LEVELS = 24
MIN_AGREEMENT = 0.9
#: A tint mixes at most this share of the boundary colour into a part (higher estimates are refused).
MAX_TINT = 0.6
#: Pixels that cannot be taken from the step image: the outline is inpainted (OpenCV Telea) with this
#: radius, the enclosed item untinted.
INPAINT_RADIUS_PX = 3

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
    ``max(|dx| / box width, |dy| / box height)`` of the background box. ``kind`` is the state row's
    ``negative_kind`` (render-true kinds live in :mod:`.rendered_negatives`).
    """

    image: np.ndarray
    offset: tuple[int, int]
    item_box: PixelBox
    pasted_box: PixelBox
    displacement: float
    kind: str = "displaced"


@dataclass(frozen=True)
class NegativeResult:
    negatives: tuple[Negative, ...]
    rejected: Counter[str]


def background_box(image: np.ndarray) -> PixelBox:
    """The model's bounding box in an assembly image (half-open pixels); see :mod:`.background`."""
    return _background_box(image)


def _rejected(reason: str, count: int) -> NegativeResult:
    return NegativeResult(negatives=(), rejected=Counter({reason: count}))


def displacement_of(offset: tuple[int, int], box: PixelBox) -> float:
    """Move of ``offset`` as a share of ``box``: the larger of the x and y shares."""
    width, height = box[2] - box[0], box[3] - box[1]
    return max(abs(offset[0]) / width, abs(offset[1]) / height)


def _axis_positions(low: int, high: int) -> np.ndarray:
    return np.unique(np.linspace(low, high, num=min(POSITION_GRID, high - low + 1)).round().astype(int))


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    size = 2 * pixels + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def _same_view(image: np.ndarray, reference: np.ndarray, zone: np.ndarray, hidden: np.ndarray) -> bool:
    """Whether ``reference`` shows the scene around ``zone`` from the same camera as ``image``."""
    band = _grow(zone, AGREEMENT_BAND_PX) & ~zone & ~hidden
    if not band.any():
        return False
    gap = channel_max(np.abs(image[band].astype(np.int16) - reference[band].astype(np.int16)))
    return float((gap <= AGREEMENT_LEVELS).mean()) >= MIN_AGREEMENT


def tint_share(tinted: np.ndarray, plain: np.ndarray, boundary: RGB) -> float | None:
    """Least-squares ``a`` of ``tinted = (1 - a) * plain + a * boundary`` over paired ``(n, 3)`` pixels.

    None without pairs that can show a tint (plain pixels equal to the boundary colour) or when the
    estimate is outside ``[0, MAX_TINT]``.

    >>> plain = np.array([[100, 100, 100], [200, 50, 0]], dtype=np.uint8)
    >>> tinted = (0.75 * plain + 0.25 * np.array([0, 255, 0])).round().astype(np.uint8)
    >>> round(tint_share(tinted, plain, (0, 255, 0)), 2)
    0.25
    """
    base = plain.astype(np.float64)
    towards = np.asarray(boundary, np.float64) - base
    energy = float((towards * towards).sum())
    if energy == 0.0:
        return None
    share = float(((tinted.astype(np.float64) - base) * towards).sum() / energy)
    return share if 0.0 <= share <= MAX_TINT else None


def _crop_around(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (
        slice(max(int(rows[0]) - pad, 0), min(int(rows[-1]) + 1 + pad, height)),
        slice(max(int(cols[0]) - pad, 0), min(int(cols[-1]) + 1 + pad, width)),
    )


def remove_highlight(
    image: np.ndarray,
    boundary: RGB,
    *,
    reference: np.ndarray | None = None,
    reference_item: np.ndarray | None = None,
) -> np.ndarray:
    """``image`` without its boundary-colour outline and tint (a new array; ``image`` is unchanged).

    ``reference`` is the next step's image: with the same camera it shows the highlighted parts of
    ``image`` unhighlighted, except where its own highlighted item (``reference_item``, found when
    not given) covers them. Those pixels are copied; the rest of the enclosed item is untinted with
    the tint estimated from the copied ones (:func:`tint_share`; left as is when it cannot be
    estimated) and the rest of the outline is inpainted. Without a usable reference the outline is
    inpainted and the tint stays.
    """
    rgb = as_rgb(image)
    core = boundary_mask(rgb, boundary)
    restored = rgb.copy()
    if not core.any():
        return restored
    # Everything below only looks this far from the outline: work on that crop.
    crop = _crop_around(core, HIGHLIGHT_MARGIN_PX + AGREEMENT_BAND_PX + INPAINT_RADIUS_PX + OUTLINE_GAP_PX + 1)
    part, outline = restored[crop], core[crop]
    outline_zone = _grow(outline, HIGHLIGHT_MARGIN_PX)
    zone = _grow(filled_outline(outline), HIGHLIGHT_MARGIN_PX) | outline_zone
    interior = zone & ~outline_zone
    known = np.zeros(zone.shape, dtype=bool)
    if reference is not None and as_rgb(reference).shape == rgb.shape:
        full_plain = as_rgb(reference)
        item = highlighted_item_mask(full_plain, boundary) if reference_item is None else reference_item
        plain, hidden = full_plain[crop], _grow(item[crop], HIGHLIGHT_MARGIN_PX)
        if _same_view(part, plain, zone, hidden):
            known = zone & ~hidden
            original = part.copy()
            np.copyto(part, plain, where=known[..., None])
            share = tint_share(original[interior & known], plain[interior & known], boundary)
            untint = interior & ~known
            if share is not None and untint.any():
                colour = np.asarray(boundary, np.float64)
                values = (original[untint].astype(np.float64) - share * colour) / (1.0 - share)
                part[untint] = np.clip(values.round(), 0, 255).astype(np.uint8)
    fill = (outline_zone & ~known).astype(np.uint8)
    if fill.any():
        restored[crop] = cv2.inpaint(part, fill, INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)
    return restored


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
    The previous image's own highlight is removed first (:func:`remove_highlight`, with the step
    image as the reference), so a negative shows one highlighted item, as a positive does.
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
    backdrop = remove_highlight(previous, boundary, reference=step, reference_item=mask) if chosen else previous
    negatives = []
    for dx, dy in chosen:
        image = backdrop.copy()
        target = image[y1 + dy : y2 + dy, x1 + dx : x2 + dx]
        target[cut] = pixels[cut]
        pasted = (float(x1 + dx), float(y1 + dy), float(x2 + dx), float(y2 + dy))
        negatives.append(Negative(image, (dx, dy), (float(x1), float(y1), float(x2), float(y2)), pasted, displacement_of((dx, dy), box)))
    rejected: Counter[str] = Counter()
    if len(chosen) < count:
        rejected[NO_ROOM] = count - len(chosen)
    return NegativeResult(negatives=tuple(negatives), rejected=rejected)
