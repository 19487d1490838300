"""Classical grounding of part phrases in a parts (eop) image: backdrop, blobs, colours, counts.

Parts images show the sub-assembly so far on the left and each new part once, apart, on the right,
on a plain backdrop. So: mask what is not backdrop, split it into blobs (one per part instance, the
sub-assembly one big blob), set the sub-assembly aside, and give each phrase the blobs whose pixels
best match its colour name, as many as its count says; the phrase's box is around all of them.

>>> image = np.full((100, 200, 3), (181, 217, 240), np.uint8)
>>> image[20:40, 120:160] = (196, 40, 27); image[60:80, 120:150] = (13, 105, 171)
>>> OpenCVGrounder().ground(None, image, ["1 bright blue brick 1x2", "1 bright red brick 1x4"])
[(120.0, 60.0, 150.0, 80.0), (120.0, 20.0, 160.0, 40.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from lego_arta.annotate.background import as_rgb, foreground_mask
from lego_arta.annotate.colours import RGB, lookup_colour, nearest_colour, to_lab
from lego_arta.annotate.phrases import PartPhrase, parse_phrase
from lego_arta.boxes import PixelBox, union_box

#: Gaps inside one part (edge lines, stud shadows) up to this share of the image width are closed.
CLOSE_SHARE = 0.004
#: Blobs smaller than this share of the image are specks, not parts.
MIN_BLOB_SHARE = 2e-4
#: Pixels per blob used for colour matching at most (deterministic stride).
MAX_BLOB_PIXELS = 4000
#: A pixel farther than this (CIE Lab ΔE) from every phrase colour's shades matches none of them.
MAX_COLOUR_DE = 30.0
#: A blob is given to a phrase only when at least this share of its pixels has the phrase's colour.
MIN_COLOUR_SHARE = 0.15
#: Weights of size and elongation agreement against the colour share, for blobs tied on colour.
SIZE_WEIGHT = 0.15
SHAPE_WEIGHT = 0.15
#: Weight of the left-to-right position: new parts are on the right of parts images.
POSITION_WEIGHT = 0.05
#: A generic instruction-art view (degrees) to predict a named part's on-screen shape; plates are
#: 0.4 stud pitches high. Only ratios between parts are used, so the exact view matters little.
VIEW_AZIMUTH, VIEW_ELEVATION, PLATE_HEIGHT = 34.0, 32.0, 0.4


@dataclass(frozen=True)
class Blob:
    """One connected foreground region: its half-open box, area, sampled Lab pixels and elongation."""

    box: PixelBox
    area: int
    centre_x: float
    lab: np.ndarray
    elongation: float = 1.0


def find_blobs(image: np.ndarray) -> list[Blob]:
    """Foreground blobs of a parts image, left to right (holes filled, specks dropped)."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    mask = foreground_mask(rgb).astype(np.uint8)
    size = max(3, int(round(width * CLOSE_SHARE)) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(filled, connectivity=8)
    min_area = max(1, int(MIN_BLOB_SHARE * height * width))
    blobs: list[Blob] = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if area < min_area:
            continue
        region = labels[y : y + h, x : x + w] == index
        inside = region & (mask[y : y + h, x : x + w] > 0)
        pixels = rgb[y : y + h, x : x + w][inside]
        stride = max(1, len(pixels) // MAX_BLOB_PIXELS)
        outline, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        points = np.concatenate(outline).reshape(-1, 2).astype(np.float32)
        blobs.append(
            Blob(
                box=(float(x), float(y), float(x + w), float(y + h)),
                area=area,
                centre_x=float(centroids[index][0]),
                lab=to_lab(pixels[::stride]),
                elongation=elongation(points),
            )
        )
    return sorted(blobs, key=lambda blob: (blob.box[0], blob.box[1]))


def elongation(points: np.ndarray) -> float:
    """Long over short side of the minimum-area rectangle around 2D points (1 for a square)."""
    if len(points) < 3:
        return 1.0
    (_, _), (w, h), _ = cv2.minAreaRect(points.reshape(-1, 1, 2))
    short, long = sorted((max(w, 1.0), max(h, 1.0)))
    return float(long / short)


def expected_shape(phrase: PartPhrase) -> tuple[float, float] | None:
    """(relative on-screen area, elongation) of one part of a phrase under a generic view, None
    when the phrase names no stud footprint."""
    footprint = phrase.footprint
    if footprint is None:
        return None
    short, long = footprint
    height = phrase.plates * PLATE_HEIGHT
    corners = np.array([[x, y, z] for x in (0, long) for y in (0, short) for z in (0, height)], dtype=np.float64)
    az, el = np.radians(VIEW_AZIMUTH), np.radians(VIEW_ELEVATION)
    right = np.array([np.cos(az), -np.sin(az), 0.0])
    up = np.array([np.sin(el) * np.sin(az), np.sin(el) * np.cos(az), np.cos(el)])
    screen = np.stack([corners @ right, -(corners @ up)], axis=1).astype(np.float32)
    hull = cv2.convexHull(screen)
    return float(cv2.contourArea(hull)), elongation(screen)


def split_subassembly(blobs: Sequence[Blob], expected: int) -> tuple[list[Blob], list[Blob]]:
    """(sub-assembly blobs, candidate part blobs).

    With more blobs than parts asked for, the blobs left of the widest empty vertical band are the
    sub-assembly, when together they are at least as large as the largest blob on the right (the
    manuals never draw a new part larger than the model it goes on).
    """
    if len(blobs) <= expected or len(blobs) < 2:
        return [], list(blobs)
    order = sorted(blobs, key=lambda blob: blob.box[0])
    best_gap, best_cut = -1.0, 0
    reach = order[0].box[2]
    for cut in range(1, len(order)):
        gap = order[cut].box[0] - reach
        if gap > best_gap:
            best_gap, best_cut = gap, cut
        reach = max(reach, order[cut].box[2])
    left, right = order[:best_cut], order[best_cut:]
    if best_gap <= 0 or sum(b.area for b in left) < max(b.area for b in right):
        return [], list(blobs)
    return left, right


def colour_shares(blobs: Sequence[Blob], phrases: Sequence[PartPhrase]) -> np.ndarray:
    """``(blobs, phrases)``: share of each blob's pixels whose nearest phrase colour is the phrase's."""
    shares = np.zeros((len(blobs), len(phrases)))
    palette: list[RGB] = []
    owners: list[set[int]] = []
    for j, phrase in enumerate(phrases):
        for name in phrase.colours:
            rgb = lookup_colour(name)
            if rgb is None:
                continue
            if rgb in palette:
                owners[palette.index(rgb)].add(j)
            else:
                palette.append(rgb)
                owners.append({j})
    if not palette:
        return shares
    for i, blob in enumerate(blobs):
        if len(blob.lab) == 0:
            continue
        nearest, distance = nearest_colour(blob.lab, palette)
        for k, phrase_set in enumerate(owners):
            share = float(((nearest == k) & (distance <= MAX_COLOUR_DE)).mean())
            for j in phrase_set:
                shares[i, j] += share
    return shares


def _shape_costs(blobs: Sequence[Blob], phrases: Sequence[PartPhrase]) -> np.ndarray:
    """``(blobs, phrases)``: weighted |log ratio| of area and elongation between blob and phrase."""
    costs = np.zeros((len(blobs), len(phrases)))
    expected = [expected_shape(p) for p in phrases]
    known = [e[0] for e in expected if e is not None]
    if not known or not blobs:
        return costs
    scale = float(np.median([b.area for b in blobs])) / float(np.median(known))
    for j, shape in enumerate(expected):
        if shape is None:
            continue
        area, stretch = shape
        for i, blob in enumerate(blobs):
            costs[i, j] = SIZE_WEIGHT * abs(np.log(blob.area / (area * scale))) + SHAPE_WEIGHT * abs(np.log(blob.elongation / stretch))
    return costs


def assign_blobs(blobs: Sequence[Blob], phrases: Sequence[PartPhrase], image_width: int) -> list[list[int]]:
    """Blob indexes per phrase: one blob per part asked for, best colour (then size) match first.

    A phrase left without a blob (blobs merged, or fewer found) takes the best-matching blob when
    its colour share is high enough; a phrase whose colour matches nothing gets no blob.
    """
    shares = colour_shares(blobs, phrases)
    shapes = _shape_costs(blobs, phrases)
    slots = [j for j, phrase in enumerate(phrases) for _ in range(phrase.count)]
    assigned: list[list[int]] = [[] for _ in phrases]
    if not blobs or not slots:
        return assigned
    position = np.array([blob.centre_x / max(image_width, 1) for blob in blobs])
    score = shares - shapes + POSITION_WEIGHT * position[:, None]
    cost = -score[:, slots]
    rows, cols = linear_sum_assignment(cost)
    for i, slot in zip(rows, cols, strict=True):
        j = slots[slot]
        if shares[i, j] >= MIN_COLOUR_SHARE or not phrases[j].colours:
            assigned[j].append(int(i))
    for j, phrase in enumerate(phrases):
        if not assigned[j] and phrase.colours:
            best = int(np.argmax(score[:, j]))
            if shares[best, j] >= MIN_COLOUR_SHARE:
                assigned[j].append(best)
    return assigned


class OpenCVGrounder:
    """Grounds part phrases in parts images with OpenCV: no model, no training, works offline."""

    name = "opencv"

    def ground(self, row: object, image: np.ndarray, phrases: Sequence[str]) -> list[PixelBox | None]:
        """One half-open pixel box per phrase around all its parts, None when not found."""
        parsed = [parse_phrase(phrase) for phrase in phrases]
        if not parsed:
            return []
        rgb = as_rgb(image)
        blobs = find_blobs(rgb)
        _, candidates = split_subassembly(blobs, sum(p.count for p in parsed))
        assigned = assign_blobs(candidates, parsed, rgb.shape[1])
        return [union_box([candidates[i].box for i in indexes]) if indexes else None for indexes in assigned]
