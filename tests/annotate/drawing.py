"""Hand-drawn test pictures with known geometry: backdrops like the manuals', shaded blocks, outlines.

Independent of the synthetic renderer, so the algorithms are checked on pictures whose every box
is known by construction.
"""

from __future__ import annotations

import cv2
import numpy as np

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]

PARTS_BACKDROP: RGB = (181, 217, 240)
FRAME: RGB = (201, 217, 227)


def parts_backdrop(height: int, width: int, *, frame: bool = True) -> np.ndarray:
    """Flat light blue, with the real images' one-pixel frame in another colour."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = PARTS_BACKDROP
    if frame:
        image[0, :] = FRAME
        image[-1, :] = FRAME
        image[:, 0] = FRAME
        image[:, -1] = FRAME
    return image


def gradient_backdrop(height: int, width: int, top: int = 217, bottom: int = 246) -> np.ndarray:
    """Vertical grey ramp, like the assembly images."""
    rows = np.linspace(top, bottom, height).round().astype(np.uint8)
    return np.repeat(np.repeat(rows[:, None, None], width, axis=1), 3, axis=2)


def draw_block(image: np.ndarray, box: Box, rgb: RGB) -> None:
    """A block in the half-open ``box``: lighter top third, shaded front, darker edge lines."""
    x1, y1, x2, y2 = box
    colour = np.asarray(rgb, np.float32)
    top = np.clip(colour + (255 - colour) * 0.1, 0, 255).astype(np.uint8)
    front = np.clip(colour * 0.8, 0, 255).astype(np.uint8)
    split = y1 + max(1, (y2 - y1) // 3)
    image[y1:split, x1:x2] = top
    image[split:y2, x1:x2] = front
    edge = tuple(int(v) for v in np.clip(colour * 0.55, 0, 255))
    cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), edge, 1)
    cv2.line(image, (x1, split), (x2 - 1, split), edge, 1)


def draw_outline(image: np.ndarray, box: Box, rgb: RGB, thickness: int = 2) -> Box:
    """A ring of ``thickness`` pixels around ``box`` (outside it); returns the ring's half-open box."""
    x1, y1, x2, y2 = box
    t = thickness
    ring = (x1 - t, y1 - t, x2 + t, y2 + t)
    mask = np.zeros(image.shape[:2], bool)
    mask[ring[1] : ring[3], ring[0] : ring[2]] = True
    mask[y1:y2, x1:x2] = False
    image[mask] = rgb
    return ring
