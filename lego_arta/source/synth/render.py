"""Synthetic LEGO manual pictures: assembly steps, parts-to-find images and the start image.

The pictures imitate the LEGO Audio & Braille manual art: an orthographic view from the front-left
above (see :mod:`.camera`), shaded faces, round studs, thin darker edge lines, and, in highlighted
manuals, the parts added by a step outlined and lightly tinted in the session's boundary colour.
Assembly images are RGBA on a vertical grey gradient; parts images are RGB on flat light blue with
the sub-assembly so far on the left and the new parts on the right.

Every rendering comes with its ground truth: a label image (which placement each pixel shows) and
the pixel box of every visible placement, so the object and state tasks have exact answers.

>>> from lego_arta.source.synth.model import Colour, Placement, Shape
>>> brick = Placement(Shape("brick", 2, 4), Colour("bright red", (201, 26, 9)), 0, 0, 0)
>>> view = fit_view([brick], 320, 148)
>>> rendering = render_assembly([brick], view)
>>> rendering.image.size, rendering.image.mode, sorted(rendering.boxes)
((320, 148), 'RGBA', [0])
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from lego_arta.boxes import PixelBox
from lego_arta.palette import COLOURS
from lego_arta.source.synth.camera import View, fit_view, screen_extent
from lego_arta.source.synth.model import Colour, Placement, Shape
from lego_arta.source.synth.raster import Canvas, draw_group, pack

__all__ = [
    "PARTS_BACKGROUND",
    "SUBASSEMBLY_LABEL",
    "ColumnLayout",
    "Rendering",
    "View",
    "fit_view",
    "layout_columns",
    "render_assembly",
    "render_parts",
    "render_start",
]

RGB = tuple[int, int, int]

#: Flat background of parts-to-find (eop) images, as in the real manuals.
PARTS_BACKGROUND: RGB = (181, 217, 240)
#: Grey of the assembly background at the top and at the bottom row (vertical gradient).
GRADIENT_TOP = 217
GRADIENT_BOTTOM = 246
#: Label of sub-assembly pixels in parts images (new part ``i`` is ``i + 1``); its box key is -1.
SUBASSEMBLY_LABEL = -1
#: Width of the frame at which lines take their nominal thickness.
REFERENCE_WIDTH = 1024
#: Edge lines: 1 px at the reference width, thicker on larger frames.
EDGE_PX_AT_REFERENCE = 1.0
#: Edge line colour: bright parts are darkened by this factor, dark ones lightened toward white.
EDGE_DARKEN = 0.55
EDGE_LIGHTEN = 0.28
DARK_LUMA = 70.0
#: Highlight outline thickness: 3 px at the reference width, clamped to [2, 4].
OUTLINE_PX_AT_REFERENCE = 3.0
OUTLINE_PX_RANGE = (2, 4)
#: Share of the boundary colour mixed into highlighted parts, at most.
HIGHLIGHT_TINT = 0.25
#: Shares tried for one part, strongest first: the first that leaves the part's colour nearest its
#: own palette name (:func:`part_tint`) is used; 0 is outline only.
HIGHLIGHT_TINTS = (HIGHLIGHT_TINT, 0.2, 0.15, 0.1, 0.05, 0.0)
#: Parts images: the sub-assembly region and the new parts region (fractions of the frame).
PARTS_ASSEMBLY_REGION = (0.02, 0.05, 0.60, 0.95)
PARTS_ASSEMBLY_MARGIN = 0.10
PARTS_NEW_REGION = (0.63, 0.06, 0.98, 0.94)
#: Free space between new parts on the right, in stud pitches, and at least this many pixels.
PARTS_GAP = 0.8
PARTS_GAP_MIN_PX = 6
#: Scale cap of new parts when there is no sub-assembly: pixels per stud as a share of the height.
PARTS_MAX_SCALE = 0.11
#: Space between finished models in the start image (stud pitches) and its free border (share).
START_GAP = 1.5
START_MARGIN = 0.08


@dataclass(frozen=True)
class Rendering:
    """A rendered image with its pixel ground truth.

    ``labels`` (int32, H×W) gives the placement each pixel shows (``i + 1``; 0 = background; in
    parts images new part ``i`` is ``i + 1`` and the sub-assembly ``SUBASSEMBLY_LABEL``).
    ``boxes`` maps each visible placement to the half-open pixel box ``(x1, y1, x2, y2)`` of its
    labelled pixels (``x2``/``y2`` one past the last pixel, as ``PIL.Image.crop`` takes it, so a
    box never has zero size and never exceeds the frame); highlight outlines are labelled with
    their part, so boxes include them.
    """

    image: Image.Image
    labels: np.ndarray
    boxes: dict[int, PixelBox]


def _line_px(width: int, at_reference: float, low: int, high: int) -> int:
    return int(min(max(round(at_reference * width / REFERENCE_WIDTH), low), high))


@lru_cache(maxsize=8)
def gradient_background(width: int, height: int) -> np.ndarray:
    """The assembly background (read-only, opaque RGBA): grey rows from ``GRADIENT_TOP`` to
    ``GRADIENT_BOTTOM``."""
    rows = np.linspace(GRADIENT_TOP, GRADIENT_BOTTOM, num=height, dtype=np.float64).round().astype(np.uint8)
    grey = np.broadcast_to(rows[:, None, None], (height, width, 3))
    return _frozen(cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_RGB2RGBA))


@lru_cache(maxsize=8)
def flat_background(width: int, height: int, rgb: RGB = PARTS_BACKGROUND) -> np.ndarray:
    """A flat opaque RGBA background (read-only)."""
    return _frozen(np.broadcast_to(np.asarray([*rgb, 255], dtype=np.uint8), (height, width, 4)))


def _frozen(array: np.ndarray) -> np.ndarray:
    owned = np.ascontiguousarray(array).copy()
    owned.flags.writeable = False
    return owned


def _drawn_zone(canvas: Canvas, pad: int) -> tuple[slice, slice] | None:
    if not canvas.windows:
        return None
    windows = np.array(list(canvas.windows.values()))
    x0, y0 = windows[:, 0].min() - pad, windows[:, 1].min() - pad
    x1, y1 = windows[:, 2].max() + pad, windows[:, 3].max() + pad
    return np.s_[max(y0, 0) : min(y1, canvas.height), max(x0, 0) : min(x1, canvas.width)]


def _draw_edges(canvas: Canvas, groups: Sequence[Collection[int]] | None = None) -> None:
    """Darken (or, on dark parts, lighten) pixels where face ids change, on the nearer side.

    ``groups`` lists label sets drawn apart from each other (parts images, start image) so only the
    frame around each is scanned; by default the whole drawn area. Only the (few) pixel pairs that
    straddle a face change are depth-compared.
    """
    if groups is None:
        zones = [_drawn_zone(canvas, pad=2)]
    else:
        zones = [_window_zone(canvas, labels, pad=2) for labels in groups]
    edge = np.zeros(canvas.face.shape, dtype=bool)
    for zone in zones:
        if zone is None:
            continue
        face, near, mark = canvas.face[zone], canvas.depth[zone], edge[zone]
        ys, xs = np.nonzero(face[:, 1:] != face[:, :-1])
        mark[ys, np.where(near[ys, xs] >= near[ys, xs + 1], xs, xs + 1)] = True
        ys, xs = np.nonzero(face[1:, :] != face[:-1, :])
        mark[np.where(near[ys, xs] >= near[ys + 1, xs], ys, ys + 1), xs] = True
    thickness = _line_px(canvas.width, EDGE_PX_AT_REFERENCE, 1, 3)
    if thickness > 1:
        edge = cv2.dilate(edge.view(np.uint8), np.ones((thickness, thickness), np.uint8)).view(bool)
        edge &= canvas.face > 0
    where = np.flatnonzero(edge)
    flat = canvas.rgba.reshape(-1, 4)
    pixels = flat[where, :3].astype(np.float32)
    luma = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    dark = (luma < DARK_LUMA)[:, None]
    lined = np.where(dark, pixels + (255.0 - pixels) * EDGE_LIGHTEN, pixels * EDGE_DARKEN)
    flat[where, :3] = lined.round().astype(np.uint8)


def _window_zone(canvas: Canvas, labels: Collection[int], pad: int) -> tuple[slice, slice] | None:
    """The frame slice around where ``labels`` were drawn, ``pad`` pixels wider."""
    windows = [canvas.windows[label] for label in sorted(labels) if label in canvas.windows]
    if not windows:
        return None
    x0, y0 = min(w[0] for w in windows) - pad, min(w[1] for w in windows) - pad
    x1, y1 = max(w[2] for w in windows) + pad, max(w[3] for w in windows) + pad
    return np.s_[max(y0, 0) : min(y1, canvas.height), max(x0, 0) : min(x1, canvas.width)]


@lru_cache(maxsize=1)
def _palette_lab() -> tuple[tuple[str, ...], np.ndarray]:
    return tuple(c.name for c in COLOURS), _lab(np.array([c.rgb for c in COLOURS], dtype=np.float32))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def nearest_colour_name(rgb: Sequence[float]) -> str:
    """The palette name nearest ``rgb`` (CIE Lab, ΔE 1976): the name a person would give it.

    >>> nearest_colour_name((196, 40, 27)), nearest_colour_name((250, 250, 250))
    ('bright red', 'white')
    """
    names, lab = _palette_lab()
    return names[int(np.linalg.norm(lab - _lab(np.asarray(rgb, np.float32).round()), axis=1).argmin())]


@lru_cache(maxsize=4096)
def part_tint(colour: Colour, boundary: RGB) -> float:
    """The strongest of :data:`HIGHLIGHT_TINTS` at which the tinted colour is still nearest the part's
    own palette name: a tint that turns "sand green" tan or "light purple" blue-grey would make a
    wrong-colour question unanswerable. A colour outside the palette keeps the full tint.

    >>> part_tint(Colour("white", (242, 243, 242)), (255, 236, 32)) < HIGHLIGHT_TINT
    True
    """
    if colour.name not in _palette_lab()[0]:
        return HIGHLIGHT_TINT
    base, towards = np.asarray(colour.rgb, np.float32), np.asarray(boundary, np.float32)
    return next(t for t in HIGHLIGHT_TINTS if t == 0.0 or nearest_colour_name(base * (1 - t) + t * towards) == colour.name)


def _highlight(
    canvas: Canvas, labels: np.ndarray, highlight: Collection[int], boundary: RGB, width: int, tints: dict[int, float] | None = None
) -> None:
    """Tint highlighted labels toward ``boundary`` (by ``tints[index]``, else :data:`HIGHLIGHT_TINT`)
    and outline them (updating ``labels``).

    Outline pixels take the label of the nearest highlighted part (largest label on ties), and no
    other pixel is left exactly equal to ``boundary``, so the colour alone finds the outline.
    """
    thickness = _line_px(width, OUTLINE_PX_AT_REFERENCE, *OUTLINE_PX_RANGE)
    wanted = sorted({i + 1 for i in highlight})
    outline = np.zeros(labels.shape, dtype=bool)
    zone = _window_zone(canvas, wanted, pad=thickness + 1)
    if zone is not None:
        label, rgb = labels[zone], canvas.rgb[zone]
        lit = label == wanted[0] if len(wanted) == 1 else np.isin(label, wanted)
        shares = np.zeros(int(label.max(initial=0)) + 2, dtype=np.float32)
        for index in highlight:
            if index + 1 < shares.size:
                shares[index + 1] = HIGHLIGHT_TINT if tints is None else tints.get(index, HIGHLIGHT_TINT)
        share = shares[np.clip(label[lit], 0, shares.size - 1)][:, None]
        tinted = rgb[lit].astype(np.float32) * (1.0 - share) + share * np.asarray(boundary, np.float32)
        rgb[lit] = tinted.round().astype(np.uint8)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * thickness + 1, 2 * thickness + 1))
        grown = cv2.dilate(np.where(lit, label, 0).astype(np.uint16), kernel)
        ring = (grown > 0) & ~lit
        label[ring] = grown[ring]
        rgb[ring] = np.asarray(boundary, dtype=np.uint8)
        outline[zone] = ring
    # No other pixel may keep the boundary colour (the background only could if it is grey).
    grey = boundary[0] == boundary[1] == boundary[2]
    search = np.s_[:, :] if grey else _drawn_zone(canvas, pad=0)
    if search is not None:
        clash = (canvas.packed[search] == pack(boundary)) & ~outline[search]
        if clash.any():
            canvas.rgb[..., 0][search][clash] = boundary[0] + 1 if boundary[0] < 255 else boundary[0] - 1


def _boxes(canvas: Canvas, labels: np.ndarray, pad: int) -> dict[int, PixelBox]:
    """Half-open pixel box of every label's visible pixels, searched where that label was drawn."""
    boxes: dict[int, PixelBox] = {}
    for label, (x0, y0, x1, y1) in sorted(canvas.windows.items()):
        x0, y0 = max(x0 - pad, 0), max(y0 - pad, 0)
        x1, y1 = min(x1 + pad, canvas.width), min(y1 + pad, canvas.height)
        mine = labels[y0:y1, x0:x1] == label
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        if rows.size:
            boxes[label] = (int(x0 + cols[0]), int(y0 + rows[0]), int(x0 + cols[-1]) + 1, int(y0 + rows[-1]) + 1)
    return boxes


def render_assembly(
    placements: Sequence[Placement],
    view: View,
    *,
    highlight: Collection[int] = (),
    boundary: RGB | None = None,
) -> Rendering:
    """Render an assembly step (RGBA, grey gradient); ``highlight`` indexes ``placements``.

    With a ``boundary`` colour the highlighted placements are tinted and outlined in it; with
    ``boundary=None`` nothing is highlighted. Boxes are keyed by placement index.
    """
    bad = sorted(i for i in highlight if not 0 <= i < len(placements))
    if bad:
        raise ValueError(f"highlight indexes {bad} are outside the {len(placements)} placements")
    canvas = Canvas.over(gradient_background(view.width, view.height))
    draw_group(canvas, placements, range(1, len(placements) + 1), view.scale, view.offset_x, view.offset_y)
    _draw_edges(canvas)
    labels = canvas.labels()
    pad = 1
    if boundary is not None:
        tints = {i: part_tint(placements[i].colour, tuple(boundary)) for i in highlight}
        _highlight(canvas, labels, highlight, boundary, view.width, tints)
        pad = _line_px(view.width, OUTLINE_PX_AT_REFERENCE, *OUTLINE_PX_RANGE) + 1
    image = Image.fromarray(canvas.rgba)
    boxes = {label - 1: box for label, box in _boxes(canvas, labels, pad).items()}
    return Rendering(image=image, labels=labels, boxes=boxes)


Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class ColumnLayout:
    """Where items go: one scale and each item's world → pixel offset (new parts, start models)."""

    scale: float
    offsets: tuple[tuple[float, float], ...]


def _column_scale(
    widths: list[float], heights: list[list[float]], region_w: float, region_h: float, gap: float, min_gap_px: float
) -> float:
    """Largest scale at which columns of items, with their gaps, fit the region."""
    columns = len(widths)
    relative = min(
        region_w / (sum(widths) + gap * (columns - 1)),
        min(region_h / (sum(column) + gap * (len(column) - 1)) for column in heights),
    )
    if gap * relative >= min_gap_px:
        return relative
    return min(
        (region_w - min_gap_px * (columns - 1)) / sum(widths),
        min((region_h - min_gap_px * (len(column) - 1)) / sum(column) for column in heights),
    )


def layout_columns(
    extents: Sequence[Extent],
    region: tuple[float, float, float, float],
    cap: float,
    *,
    gap: float = PARTS_GAP,
    min_gap_px: float = PARTS_GAP_MIN_PX,
) -> ColumnLayout:
    """Lay items out in columns (in order, top to bottom, then the next column) inside a pixel region.

    ``extents`` are the items' scale-free screen boxes; ``region`` is ``(x0, y0, x1, y1)`` in pixels;
    the scale never exceeds ``cap``. The column count is the one that shows the items largest
    (fewest columns on ties); neighbours keep ``gap`` stud pitches and at least ``min_gap_px``
    pixels apart.

    >>> layout = layout_columns([(0.0, 0.0, 2.0, 1.0)] * 2, (0.0, 0.0, 100.0, 100.0), cap=20.0)
    >>> layout.scale, layout.offsets
    (20.0, ((30.0, 22.0), (30.0, 58.0)))
    """
    if not extents:
        return ColumnLayout(scale=cap, offsets=())
    x0, y0, x1, y1 = region
    region_w, region_h = x1 - x0, y1 - y0
    sizes = [(r - l, b - t) for l, t, r, b in extents]
    best: tuple[float, list[list[int]]] | None = None
    for count in range(1, len(extents) + 1):
        per_column = math.ceil(len(extents) / count)
        chunks = [list(range(i, min(i + per_column, len(extents)))) for i in range(0, len(extents), per_column)]
        widths = [max(sizes[i][0] for i in chunk) for chunk in chunks]
        heights = [[sizes[i][1] for i in chunk] for chunk in chunks]
        scale = min(_column_scale(widths, heights, region_w, region_h, gap, min_gap_px), cap)
        if best is None or scale > best[0] + 1e-9:
            best = (scale, chunks)
    assert best is not None
    scale, chunks = best
    if scale <= 0:
        raise ValueError(f"{len(extents)} items do not fit a {region_w:.0f}x{region_h:.0f} px region")
    gap_px = max(gap * scale, min_gap_px)
    widths = [max(sizes[i][0] for i in chunk) * scale for chunk in chunks]
    offsets: list[tuple[float, float]] = []
    left = x0 + (region_w - sum(widths) - gap_px * (len(chunks) - 1)) / 2.0
    for chunk, column_w in zip(chunks, widths, strict=True):
        column_h = sum(sizes[i][1] for i in chunk) * scale + gap_px * (len(chunk) - 1)
        top = y0 + (region_h - column_h) / 2.0
        for i in chunk:
            l, t, r, _ = extents[i]
            centre_x = left + column_w / 2.0
            offsets.append((centre_x - scale * (l + r) / 2.0, top - scale * t))
            top += sizes[i][1] * scale + gap_px
        left += column_w + gap_px
    return ColumnLayout(scale=scale, offsets=tuple(offsets))


def render_parts(assembly: Sequence[Placement], new_parts: Sequence[tuple[Shape, Colour]], width: int, height: int) -> Rendering:
    """Render a parts-to-find image (RGB, flat light blue).

    The sub-assembly so far is drawn small on the left (may be empty); the new parts, one instance
    each, in columns on the right at no larger a scale than the sub-assembly, as manuals do.
    Boxes: keys ``0..len(new_parts)-1`` for new parts, ``-1`` for the whole sub-assembly (if any).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    canvas = Canvas.over(flat_background(width, height))
    cap = height * PARTS_MAX_SCALE
    if assembly:
        view = fit_view(assembly, width, height, margin=PARTS_ASSEMBLY_MARGIN, region=PARTS_ASSEMBLY_REGION)
        draw_group(canvas, assembly, [SUBASSEMBLY_LABEL] * len(assembly), view.scale, view.offset_x, view.offset_y)
        cap = min(cap, view.scale)
    lone = [Placement(shape, colour, 0, 0, 0) for shape, colour in new_parts]
    rx0, ry0, rx1, ry1 = PARTS_NEW_REGION
    layout = layout_columns([screen_extent([p]) for p in lone], (rx0 * width, ry0 * height, rx1 * width, ry1 * height), cap)
    for index, (part, (offset_x, offset_y)) in enumerate(zip(lone, layout.offsets, strict=True)):
        draw_group(canvas, [part], [index + 1], layout.scale, offset_x, offset_y)
    _draw_edges(canvas, [[SUBASSEMBLY_LABEL]] + [[index + 1] for index in range(len(lone))])
    image = Image.fromarray(cv2.cvtColor(canvas.rgba, cv2.COLOR_RGBA2RGB))
    labels = canvas.labels()
    boxes = {(label - 1 if label > 0 else -1): box for label, box in _boxes(canvas, labels, pad=1).items()}
    return Rendering(image=image, labels=labels, boxes=boxes)


def render_start(models: Sequence[Sequence[Placement]], width: int, height: int) -> Image.Image:
    """Render the start image (RGBA, grey gradient): the finished sub-assemblies side by side
    (in columns of two or more when that shows them larger), all at one scale."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    canvas = Canvas.over(gradient_background(width, height))
    shown = [list(model) for model in models if model]
    if shown:
        margin_x, margin_y = START_MARGIN * width, START_MARGIN * height
        layout = layout_columns(
            [screen_extent(model) for model in shown],
            (margin_x, margin_y, width - margin_x, height - margin_y),
            cap=fit_view(max(shown, key=len), width, height).scale,
            gap=START_GAP,
        )
        for label, (model, (offset_x, offset_y)) in enumerate(zip(shown, layout.offsets, strict=True), start=1):
            draw_group(canvas, model, [label] * len(model), layout.scale, offset_x, offset_y)
    _draw_edges(canvas, [[label] for label in range(1, len(shown) + 1)])
    return Image.fromarray(canvas.rgba)
