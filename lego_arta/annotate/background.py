"""Background of manual images: flat (parts images) or a vertical gradient (assembly images).

The real images have a plain backdrop, light blue (181, 217, 240) behind parts and a grey ramp
(~217 at the top to ~246 at the bottom) behind assemblies, and a one-pixel frame of another colour.
Estimating the backdrop row by row from the left and right border bands handles both, and the
frame is ignored, so no colour constant is baked in:

>>> image = np.full((40, 60, 3), 200, np.uint8); image[10:20, 25:35] = (200, 30, 30)
>>> background_box(image)
(25.0, 10.0, 35.0, 20.0)
"""

from __future__ import annotations

import cv2
import numpy as np

from lego_arta.boxes import PixelBox

#: Outer pixels ignored everywhere: real images carry a thin frame in another colour.
FRAME_PIXELS = 2
#: Width of the border band (share of the image width, at least 2 px) the row backdrop is read from.
BORDER_BAND_SHARE = 0.02
#: A pixel is foreground when one RGB channel differs from its row's backdrop by more than this.
FOREGROUND_TOLERANCE = 6
#: Connected foreground specks smaller than this share of the image are noise, not objects.
MIN_OBJECT_SHARE = 5e-5


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An ``H×W×3`` uint8 view of an RGB or RGBA (alpha dropped) or grey image; clear error otherwise."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {array.dtype}")
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return array[:, :, :3]
    raise ValueError(f"expected an H×W, H×W×3 or H×W×4 image, got shape {array.shape}")


def channel_max(pixels: np.ndarray) -> np.ndarray:
    """The largest of the last axis's three channels: ``pixels.max(axis=-1)``, in two element-wise
    passes (numpy's reduction over a 3-wide inner axis is several times slower on a whole image).

    >>> channel_max(np.array([[[1, 7, 3], [9, 0, 2]]], np.uint8)).tolist()
    [[7, 9]]
    """
    return np.maximum(np.maximum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])


def row_background(image: np.ndarray) -> np.ndarray:
    """``(H, 3)`` float backdrop colour of each row: median of its left and right border bands."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    band = max(2, int(round(width * BORDER_BAND_SHARE)))
    start = min(FRAME_PIXELS, max(0, width // 2 - band))
    left = rgb[:, start : start + band]
    right = rgb[:, width - start - band : width - start]
    return np.median(np.concatenate([left, right], axis=1), axis=1).astype(np.float32)


def foreground_mask(image: np.ndarray, *, tolerance: int = FOREGROUND_TOLERANCE) -> np.ndarray:
    """Bool ``H×W``: pixels that are not backdrop (frame excluded, isolated specks removed)."""
    return remove_specks(_raw_foreground(image, tolerance))


def _raw_foreground(image: np.ndarray, tolerance: int) -> np.ndarray:
    """Bool ``H×W``: pixels with a channel more than ``tolerance`` from their row's backdrop, frame excluded."""
    rgb = np.ascontiguousarray(as_rgb(image))
    backdrop = np.round(row_background(rgb)).astype(np.uint8)
    height, width = rgb.shape[:2]
    # Each row's colour repeated along the row: nearest-neighbour resizing copies it exactly, and
    # several times faster than numpy's copy of a broadcast view.
    rows = cv2.resize(np.ascontiguousarray(backdrop[:, None, :]), (width, height), interpolation=cv2.INTER_NEAREST)
    mask = cv2.inRange(cv2.absdiff(rgb, rows), (0, 0, 0), (tolerance,) * 3) == 0
    f = FRAME_PIXELS
    mask[:f, :] = False
    mask[-f:, :] = False
    mask[:, :f] = False
    mask[:, -f:] = False
    return mask


def _kept_components(mask: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray]:
    """8-connected components of ``mask``: their labels and which labels are kept (at least
    ``min_share`` of the image; never the background, label 0).

    Pixel counts come from a histogram of the labels: OpenCV's per-component statistics cost
    several times the labelling itself, and only the areas are needed.
    """
    count, labels = cv2.connectedComponents(np.ascontiguousarray(mask, dtype=bool).view(np.uint8), connectivity=8)
    keep = np.bincount(labels.ravel(), minlength=count) >= max(1, int(min_share * mask.size))
    keep[0] = False
    return labels, keep


def remove_specks(mask: np.ndarray, *, min_share: float = MIN_OBJECT_SHARE) -> np.ndarray:
    """``mask`` without connected components smaller than ``min_share`` of the image.

    >>> mask = np.zeros((100, 100), bool); mask[10:40, 10:40] = True; mask[70, 70] = True
    >>> kept = remove_specks(mask, min_share=0.01)  # at least 100 of the 10,000 pixels
    >>> int(kept.sum()), bool(kept[70, 70])
    (900, False)
    """
    labels, keep = _kept_components(mask, min_share)
    return mask != 0 if keep[1:].all() else keep[labels]


def mask_box(mask: np.ndarray) -> PixelBox | None:
    """Half-open bounding box ``(x1, y1, x2, y2)`` of a bool mask (``x2`` is one past the last
    column), None when empty."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask, dtype=bool).view(np.uint8))
    if w == 0:
        return None
    return (float(x), float(y), float(x + w), float(y + h))


def background_box(image: np.ndarray) -> PixelBox:
    """The model's bounding box ("background box"): half-open box of all non-backdrop pixels.

    Raises ValueError when the image shows nothing but backdrop.
    """
    box = mask_box(foreground_mask(image))
    if box is None:
        raise ValueError("background_box: the image has no foreground pixels (nothing but backdrop)")
    return box
