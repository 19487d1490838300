"""The fixed orthographic camera of synthetic manual images, and fitting it to a model.

The camera looks from the front-left, above, like the real LEGO manual art: on screen the world
``x`` axis runs right and slightly up, ``y`` (front → back) runs left and up, ``z`` straight up.
Visible box faces are therefore the top, the front (``y`` minimum) and the left (``x`` minimum).

All geometry is in world units of one stud pitch (8 mm); a plate is 0.4 of it (3.2 mm).
Screen coordinates follow OpenCV: ``px`` to the right, ``py`` down, integer values at pixel centres.
A :class:`View` maps world to screen: ``px = offset_x + scale * (P · RIGHT)``,
``py = offset_y - scale * (P · UP)``. Depth (larger = nearer the camera) is ``P · TOWARD_CAMERA``.

>>> view = View(width=100, height=50, scale=10.0, offset_x=50.0, offset_y=25.0)
>>> project(np.array([[0.0, 0.0, 0.0]]), view)[0].tolist()
[50.0, 25.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lego_arta.source.synth.model import Placement

#: Horizontal angle of the camera from straight in front (degrees): the ``x`` axis rises ~20°.
AZIMUTH_DEG = 34.0
#: Elevation of the camera above the ground plane (degrees): the ``y`` axis rises ~38°.
ELEVATION_DEG = 32.0
#: Height of one plate in stud pitches (3.2 mm / 8 mm).
PLATE_HEIGHT = 0.4
#: Stud radius and height in stud pitches (4.8 mm diameter, 1.7 mm tall).
STUD_RADIUS = 0.3
STUD_HEIGHT = 1.7 / 8.0
#: Free border on each side of the fitted model, as a share of the fitting region.
DEFAULT_MARGIN = 0.12
#: Smallest screen span (stud pitches, both axes) a view is fitted to: one small part never fills the frame.
MIN_FIT_SPAN = 6.0

_AZ = math.radians(AZIMUTH_DEG)
_EL = math.radians(ELEVATION_DEG)
SIN_EL = math.sin(_EL)
COS_EL = math.cos(_EL)
#: Unit vectors of the screen's right and up directions and of the direction toward the camera.
RIGHT = np.array([math.cos(_AZ), -math.sin(_AZ), 0.0])
UP = np.array([SIN_EL * math.sin(_AZ), SIN_EL * math.cos(_AZ), COS_EL])
TOWARD_CAMERA = np.array([-COS_EL * math.sin(_AZ), -COS_EL * math.cos(_AZ), SIN_EL])

Region = tuple[float, float, float, float]
FULL_FRAME: Region = (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class View:
    """World → pixel mapping of one image; fitted once per session so the model never jumps."""

    width: int
    height: int
    scale: float
    offset_x: float
    offset_y: float


def box_corners(placement: Placement, *, with_studs: bool = True) -> np.ndarray:
    """The 8 world corners (stud pitches) of a placement's box; studs raise the top when present."""
    x0, y0, z0 = float(placement.x), float(placement.y), placement.z * PLATE_HEIGHT
    x1, y1 = x0 + placement.size_x, y0 + placement.size_y
    z1 = placement.top * PLATE_HEIGHT + (STUD_HEIGHT if with_studs and placement.shape.studded else 0.0)
    return np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])


def screen_coords(points: np.ndarray) -> np.ndarray:
    """Scale-free screen coordinates ``(right, down)`` of world points, shape ``(n, 2)``."""
    return np.stack([points @ RIGHT, -(points @ UP)], axis=-1)


def depth(points: np.ndarray) -> np.ndarray:
    """Distance toward the camera of world points (larger = nearer)."""
    return points @ TOWARD_CAMERA


def project(points: np.ndarray, view: View) -> np.ndarray:
    """Pixel coordinates ``(px, py)`` of world points under ``view``, shape ``(n, 2)``."""
    return screen_coords(points) * view.scale + np.array([view.offset_x, view.offset_y])


def screen_extent(placements: Sequence[Placement]) -> tuple[float, float, float, float]:
    """Scale-free screen box ``(left, top, right, bottom)`` of placements, studs included."""
    if not placements:
        return (-0.5, -0.5, 0.5, 0.5)
    coords = screen_coords(np.concatenate([box_corners(p) for p in placements]))
    left, top = coords.min(axis=0)
    right, bottom = coords.max(axis=0)
    return (float(left), float(top), float(right), float(bottom))


def fit_extent(extent: tuple[float, float, float, float], width: int, height: int, *, margin: float, region: Region) -> View:
    """The view that centres a scale-free screen box in ``region`` of a ``width``×``height`` frame."""
    rx0, ry0, rx1, ry1 = region
    if not (0.0 <= rx0 < rx1 <= 1.0 and 0.0 <= ry0 < ry1 <= 1.0):
        raise ValueError(f"region must be fractions x0 < x1, y0 < y1 within [0, 1], got {region}")
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    left, top, right, bottom = extent
    span_x = max(right - left, MIN_FIT_SPAN)
    span_y = max(bottom - top, MIN_FIT_SPAN)
    region_w = (rx1 - rx0) * width * (1.0 - 2.0 * margin)
    region_h = (ry1 - ry0) * height * (1.0 - 2.0 * margin)
    scale = min(region_w / span_x, region_h / span_y)
    centre_x = (rx0 + rx1) / 2.0 * width
    centre_y = (ry0 + ry1) / 2.0 * height
    return View(
        width=width,
        height=height,
        scale=float(scale),
        offset_x=float(centre_x - scale * (left + right) / 2.0),
        offset_y=float(centre_y - scale * (top + bottom) / 2.0),
    )


def fit_view(
    placements: Sequence[Placement],
    width: int,
    height: int,
    *,
    margin: float = DEFAULT_MARGIN,
    region: Region | None = None,
) -> View:
    """Fit the camera so every placement (studs included) lies inside ``region`` minus ``margin``.

    ``region`` is ``(x0, y0, x1, y1)`` in fractions of the frame (default: the whole frame); parts
    images put the sub-assembly in the left part. Fit on the finished session model so that every
    step of the session shares one view.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return fit_extent(screen_extent(placements), width, height, margin=margin, region=region or FULL_FRAME)
