"""Z-buffered rasteriser of stud-topped boxes: the drawing core behind :mod:`.render`.

Each visible face (top, front, left) is a flat polygon filled with ``cv2.fillPoly`` over its
own bounding box, its depth a plane in screen space; studs are a pre-rendered sprite (mask, depth
relief, shading) stamped per stud. A per-pixel depth test makes occlusion exact for any
arrangement of boxes, including those no painter's order can sort. Every primitive gets its own
face id, so edge lines are drawn later where face ids change, on the nearer side only, which keeps
them occlusion-correct too.

Labels are ``int32``: whatever the caller passes per placement (``0`` is background).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from lego_arta.source.synth.camera import (
    COS_EL,
    PLATE_HEIGHT,
    SIN_EL,
    STUD_HEIGHT,
    STUD_RADIUS,
    depth,
    screen_coords,
)
from lego_arta.source.synth.model import Colour, Placement

RGB = tuple[int, int, int]

#: Face shading: the top is lightened toward white, the sides darkened (light from the front-right).
TOP_LIGHTEN = 0.10
FRONT_SHADE = 0.80
LEFT_SHADE = 0.60
#: Stud sides run from this shade on their left edge to this one on their right edge.
STUD_SIDE_SHADE = (0.55, 0.88)
#: Floor added to shaded dark colours so black parts still show their faces.
DARK_LIFT = 14.0
#: Transparent parts are painted as their colour washed toward white by this share.
TRANSPARENT_WASH = 0.35
#: ``cv2.fillPoly`` sub-pixel bits (vertices are fixed point with 4 fractional bits).
SUBPIXEL_SHIFT = 4
#: Depth bonus of studs over the face they stand on, so the face never wins their base pixels.
STUD_DEPTH_BIAS = 1e-3

_FACES = ("top", "front", "left")


def shade(rgb: RGB | np.ndarray, factor: float) -> np.ndarray:
    """A colour as a face lit by ``factor`` (1 = as is), with a small lift for dark colours."""
    colour = np.asarray(rgb, dtype=np.float32)
    return np.clip(colour * factor + DARK_LIFT * factor, 0, 255)


def face_colours(colour: Colour) -> dict[str, np.ndarray]:
    """The uint8 RGB of each visible face of a part in ``colour``."""
    base = np.asarray(colour.rgb, dtype=np.float32)
    if colour.transparent:
        base = base + (255.0 - base) * TRANSPARENT_WASH
    top = np.clip(shade(base, 1.0) + (255.0 - base) * TOP_LIGHTEN, 0, 255)
    return {
        "top": top.round().astype(np.uint8),
        "front": shade(base, FRONT_SHADE).round().astype(np.uint8),
        "left": shade(base, LEFT_SHADE).round().astype(np.uint8),
    }


@dataclass(frozen=True)
class StudSprite:
    """One stud drawn at a given scale, relative to the pixel of its base centre.

    ``part`` is 1 on the top disk, 2 on the side, 0 outside; ``relief`` is the depth of each pixel
    above the base centre's depth; ``side_shade`` the lighting factor of side pixels;
    ``face_offset`` tells the side (1) from the top (0) in face ids.
    """

    dx: int
    dy: int
    part: np.ndarray
    relief: np.ndarray
    side_shade: np.ndarray
    face_offset: np.ndarray


@lru_cache(maxsize=64)
def stud_sprite(scale: float) -> StudSprite:
    """Rasterise a vertical cylinder (radius ``STUD_RADIUS``, height ``STUD_HEIGHT``) at ``scale``.

    Orthographic geometry: the top rim is an ellipse with semi-axes ``r`` and ``r·sin(el)``, lifted
    ``h·cos(el)`` pixels above the base; the visible side is the front half of the cylinder.
    """
    radius = STUD_RADIUS * scale
    lift = STUD_HEIGHT * COS_EL * scale
    minor = radius * SIN_EL
    half_w = int(math.ceil(radius))
    top_y = int(math.floor(-lift - minor))
    bottom_y = int(math.ceil(minor))
    xs = np.arange(-half_w, half_w + 1, dtype=np.float32)
    ys = np.arange(top_y, bottom_y + 1, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    top = (gx / radius) ** 2 + ((gy + lift) / minor) ** 2 <= 1.0
    # Front half of the cylinder: column ``dx`` spans screen rows [q·sin(el) - lift, q·sin(el)].
    q = np.sqrt(np.clip(radius**2 - gx**2, 0.0, None))
    front_y = q * SIN_EL
    side = (np.abs(gx) <= radius) & (gy <= front_y) & (gy >= front_y - lift) & ~top
    part = np.where(top, 1, np.where(side, 2, 0)).astype(np.uint8)
    # Depth of a horizontal plane grows by cot(el) per pixel down; the top disk sits STUD_HEIGHT up.
    top_relief = (STUD_HEIGHT * SIN_EL) + (gy + lift) / scale * (COS_EL / SIN_EL)
    height_on_side = (front_y - gy) / (scale * COS_EL)
    side_relief = q / scale * COS_EL + height_on_side * SIN_EL
    relief = np.where(top, top_relief, side_relief).astype(np.float32) + STUD_DEPTH_BIAS
    low, high = STUD_SIDE_SHADE
    side_shade = (low + (high - low) * (gx / max(radius, 1e-6) + 1.0) / 2.0).astype(np.float32)
    face_offset = np.where(part == 2, 1, 0).astype(np.int32)
    for array in (part, relief, side_shade, face_offset):
        array.flags.writeable = False
    return StudSprite(dx=-half_w, dy=top_y, part=part, relief=relief, side_shade=side_shade, face_offset=face_offset)


def pack(rgb: np.ndarray | RGB) -> np.uint32:
    """An opaque RGBA pixel as one ``uint32`` in memory order, for one-store colour writes."""
    return np.array([*np.asarray(rgb, dtype=np.uint8).tolist(), 255], dtype=np.uint8).view(np.uint32)[0]


@dataclass
class Canvas:
    """The frame being drawn: colour, depth and face ids, plus where each label was drawn.

    Colour is kept as opaque RGBA; ``packed`` views the same memory as one ``uint32`` per pixel.
    Labels are not written per pixel while drawing: each face id remembers its label and
    :meth:`labels` resolves them once at the end.
    """

    rgba: np.ndarray
    depth: np.ndarray
    face: np.ndarray
    face_labels: list[int] = field(default_factory=lambda: [0])
    windows: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def over(cls, background: np.ndarray) -> Canvas:
        """An empty canvas over an ``H×W×4`` opaque uint8 background (copied)."""
        height, width = background.shape[:2]
        return cls(
            rgba=background.copy(),
            depth=np.full((height, width), -np.inf, dtype=np.float32),
            face=np.zeros((height, width), dtype=np.int32),
        )

    def labels(self) -> np.ndarray:
        """The ``int32`` label of every pixel (0 = background), from its face id."""
        labels = np.zeros(self.face.shape, dtype=np.int32)
        if self.windows:
            windows = np.array(list(self.windows.values()))
            zone = np.s_[windows[:, 1].min() : windows[:, 3].max(), windows[:, 0].min() : windows[:, 2].max()]
            labels[zone] = np.asarray(self.face_labels, dtype=np.int32)[self.face[zone]]
        return labels

    @property
    def rgb(self) -> np.ndarray:
        return self.rgba[..., :3]

    @property
    def packed(self) -> np.ndarray:
        return self.rgba.view(np.uint32)[..., 0]

    @property
    def height(self) -> int:
        return int(self.rgba.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgba.shape[1])

    def _grow(self, label: int, x0: int, y0: int, x1: int, y1: int) -> None:
        window = self.windows.get(label)
        if window is None:
            self.windows[label] = [x0, y0, x1, y1]
        else:
            window[0], window[1] = min(window[0], x0), min(window[1], y0)
            window[2], window[3] = max(window[2], x1), max(window[3], y1)

    def fill_polygon(self, points: np.ndarray, depths: np.ndarray, colour: np.uint32, label: int) -> None:
        """Z-test and fill a planar convex polygon: pixel ``points`` (n×2), their depths, a packed colour."""
        xs, ys = points[:, 0].tolist(), points[:, 1].tolist()
        x0 = max(math.floor(min(xs)), 0)
        y0 = max(math.floor(min(ys)), 0)
        x1 = min(math.ceil(max(xs)) + 1, self.width)
        y1 = min(math.ceil(max(ys)) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        fixed = np.round((points - (x0, y0)) * (1 << SUBPIXEL_SHIFT)).astype(np.int32)
        cv2.fillPoly(mask, [fixed], 1, lineType=cv2.LINE_8, shift=SUBPIXEL_SHIFT)
        # Plane d = a·x + b·y + c through the first three vertices.
        (px0, py0), (px1, py1), (px2, py2) = points[:3].tolist()
        d0, d1, d2 = depths[:3].tolist()
        ux, uy, ud = px1 - px0, py1 - py0, d1 - d0
        vx, vy, vd = px2 - px0, py2 - py0, d2 - d0
        nx, ny, nd = uy * vd - ud * vy, ud * vx - ux * vd, ux * vy - uy * vx
        if abs(nd) < 1e-12:
            return
        a, b = -nx / nd, -ny / nd
        c = d0 - a * px0 - b * py0
        plane = np.add.outer(
            np.arange(y0, y1, dtype=np.float32) * np.float32(b) + np.float32(c),
            np.arange(x0, x1, dtype=np.float32) * np.float32(a),
        )
        zone = np.s_[y0:y1, x0:x1]
        wins = mask.view(bool) & (plane > self.depth[zone])
        np.copyto(self.depth[zone], plane, where=wins)
        np.copyto(self.face[zone], len(self.face_labels), where=wins)
        np.copyto(self.packed[zone], colour, where=wins)
        self.face_labels.append(label)
        self._grow(label, x0, y0, x1, y1)

    def stamp(self, px: float, py: float, base_depth: float, sprite: Sprite, label: int) -> None:
        """Z-test and draw a sprite anchored at pixel ``(px, py)`` whose anchor has ``base_depth``."""
        sh, sw = sprite.mask.shape
        x0 = int(round(px)) + sprite.dx
        y0 = int(round(py)) + sprite.dy
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + sw, self.width), min(y0 + sh, self.height)
        if cx0 >= cx1 or cy0 >= cy1:
            return
        local = np.s_[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        zone = np.s_[cy0:cy1, cx0:cx1]
        sprite_depth = sprite.relief[local] + np.float32(base_depth)
        wins = sprite.mask[local] & (sprite_depth > self.depth[zone])
        np.copyto(self.depth[zone], sprite_depth, where=wins)
        np.copyto(self.face[zone], sprite.face_offset[local] + len(self.face_labels), where=wins)
        np.copyto(self.packed[zone], sprite.colours[local], where=wins)
        self.face_labels += [label] * sprite.faces
        self._grow(label, cx0, cy0, cx1, cy1)


@lru_cache(maxsize=256)
def _stud_colours(scale: float, rgb: RGB, transparent: bool) -> np.ndarray:
    """The packed colour image of a stud sprite: top disk as the part's top, side shaded across."""
    sprite = stud_sprite(scale)
    faces = face_colours(Colour("stud", rgb, transparent))
    base = np.asarray(rgb, dtype=np.float32)
    if transparent:
        base = base + (255.0 - base) * TRANSPARENT_WASH
    side = np.clip(base[None, None, :] * sprite.side_shade[..., None] + DARK_LIFT * sprite.side_shade[..., None], 0, 255)
    out = np.where((sprite.part == 1)[..., None], faces["top"][None, None, :], side.round().astype(np.uint8))
    packed = cv2.cvtColor(np.ascontiguousarray(out.astype(np.uint8)), cv2.COLOR_RGB2RGBA).view(np.uint32)[..., 0]
    packed.flags.writeable = False
    return packed


@dataclass(frozen=True)
class Sprite:
    """A pre-drawn group of primitives, stamped with one depth test (see :meth:`Canvas.stamp`).

    Arrays share one shape; ``(dx, dy)`` is the top-left pixel relative to the anchor pixel;
    ``relief`` is depth relative to the anchor; ``face_offset`` numbers its ``faces`` face ids.
    """

    dx: int
    dy: int
    mask: np.ndarray
    relief: np.ndarray
    face_offset: np.ndarray
    colours: np.ndarray
    faces: int

    @property
    def nbytes(self) -> int:
        return self.mask.nbytes + self.relief.nbytes + self.face_offset.nbytes + self.colours.nbytes


ClusterKey = tuple[float, tuple[tuple[int, int], ...], RGB, bool]


class _SpriteCache:
    """Least-recently-used sprites up to a byte budget (big plates at full size take megabytes)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[ClusterKey, Sprite] = OrderedDict()

    def get(self, key: ClusterKey) -> Sprite:
        sprite = self.entries.get(key)
        if sprite is not None:
            self.entries.move_to_end(key)
            return sprite
        sprite = _build_cluster(*key)
        self.entries[key] = sprite
        self.bytes += sprite.nbytes
        while self.bytes > self.max_bytes and len(self.entries) > 1:
            _, dropped = self.entries.popitem(last=False)
            self.bytes -= dropped.nbytes
        return sprite


#: Budget of the stud sprite cache per process.
SPRITE_CACHE_BYTES = 64 * 2**20
_CLUSTERS = _SpriteCache(SPRITE_CACHE_BYTES)


def stud_cluster(scale: float, cells: tuple[tuple[int, int], ...], rgb: RGB, transparent: bool) -> Sprite:
    """All open studs of one part as one sprite, anchored at the base centre of ``cells[0]``.

    ``cells`` are stud offsets relative to the anchor stud. Studs are laid far to near, so the
    nearer stud covers the farther where they overlap on screen; each stud keeps its own two face
    ids (top, side) so edge lines still separate them. Parts repeat across a session's steps,
    which makes the (byte-bounded) cache hit almost always.
    """
    return _CLUSTERS.get((scale, cells, rgb, transparent))


def _build_cluster(scale: float, cells: tuple[tuple[int, int], ...], rgb: RGB, transparent: bool) -> Sprite:
    stud = stud_sprite(scale)
    paint = _stud_colours(scale, rgb, transparent)
    offsets = np.array([[x, y, 0.0] for x, y in cells])
    shifts = np.round(screen_coords(offsets) * scale).astype(int) + (stud.dx, stud.dy)
    reliefs = depth(offsets).astype(np.float32)
    height, width = stud.part.shape
    left, top = shifts.min(axis=0)
    right, bottom = shifts.max(axis=0) + (width, height)
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    relief = np.zeros(mask.shape, dtype=np.float32)
    face_offset = np.zeros(mask.shape, dtype=np.int32)
    colours = np.zeros(mask.shape, dtype=np.uint32)
    on = stud.part > 0
    for k in np.argsort(reliefs, kind="stable"):
        x, y = shifts[k] - (left, top)
        zone = np.s_[y : y + height, x : x + width]
        mask[zone] |= on
        np.copyto(relief[zone], stud.relief + reliefs[k], where=on)
        np.copyto(face_offset[zone], stud.face_offset + 2 * int(k), where=on)
        np.copyto(colours[zone], paint, where=on)
    for array in (mask, relief, face_offset, colours):
        array.flags.writeable = False
    return Sprite(dx=int(left), dy=int(top), mask=mask, relief=relief, face_offset=face_offset, colours=colours, faces=2 * len(cells))


@dataclass(frozen=True)
class Occupancy:
    """Which unit voxels are filled and where part bottoms sit: for culling hidden faces and studs."""

    voxels: frozenset[tuple[int, int, int]]
    bottoms: frozenset[tuple[int, int, int]]

    @classmethod
    def of(cls, placements: Sequence[Placement]) -> Occupancy:
        voxels: set[tuple[int, int, int]] = set()
        bottoms: set[tuple[int, int, int]] = set()
        for p in placements:
            z0, z1 = p.z, p.top
            cells = p.cells()
            voxels.update((x, y, z) for x, y in cells for z in range(z0, z1))
            bottoms.update((x, y, z0) for x, y in cells)
        return cls(frozenset(voxels), frozenset(bottoms))

    def hidden_faces(self, p: Placement) -> set[str]:
        """Faces of ``p`` entirely covered by neighbouring parts (never visible)."""
        hidden: set[str] = set()
        top, front, left = p.top, p.y - 1, p.x - 1
        xs, ys, zs = range(p.x, p.x + p.size_x), range(p.y, p.y + p.size_y), range(p.z, top)
        voxels, bottoms = self.voxels, self.bottoms
        if all((x, y, top) in bottoms for x in xs for y in ys):
            hidden.add("top")
        if all((x, front, z) in voxels for x in xs for z in zs):
            hidden.add("front")
        if all((left, y, z) in voxels for y in ys for z in zs):
            hidden.add("left")
        return hidden

    def open_studs(self, p: Placement) -> list[tuple[int, int]]:
        """Stud cells of ``p`` not plugged into a part above, in a fixed order."""
        if not p.shape.studded:
            return []
        top, bottoms = p.top, self.bottoms
        return sorted((x, y) for x, y in p.cells() if (x, y, top) not in bottoms)


def _face_corners(p: Placement) -> list[list[float]]:
    """World corners of the top, front and left faces (4 each, in that order)."""
    x0, y0, z0 = float(p.x), float(p.y), p.z * PLATE_HEIGHT
    x1, y1, z1 = x0 + p.size_x, y0 + p.size_y, p.top * PLATE_HEIGHT
    return [
        [x0, y0, z1],
        [x1, y0, z1],
        [x1, y1, z1],
        [x0, y1, z1],
        [x0, y0, z0],
        [x1, y0, z0],
        [x1, y0, z1],
        [x0, y0, z1],
        [x0, y0, z0],
        [x0, y1, z0],
        [x0, y1, z1],
        [x0, y0, z1],
    ]


@lru_cache(maxsize=256)
def _packed_faces(colour: Colour) -> tuple[np.uint32, ...]:
    faces = face_colours(colour)
    return tuple(pack(faces[name]) for name in _FACES)


def draw_group(
    canvas: Canvas,
    placements: Sequence[Placement],
    labels: Sequence[int],
    scale: float,
    offset_x: float,
    offset_y: float,
) -> None:
    """Draw placements that touch each other (one model) under one world → pixel mapping."""
    if not placements:
        return
    occupancy = Occupancy.of(placements)
    key = round(scale, 4)
    offset = np.array([offset_x, offset_y])
    corners = np.array([_face_corners(p) for p in placements])
    pixels = screen_coords(corners.reshape(-1, 3)).reshape(len(placements), 3, 4, 2) * scale + offset
    depths = depth(corners.reshape(-1, 3)).reshape(len(placements), 3, 4)
    studs = [occupancy.open_studs(p) for p in placements]
    anchors = np.array(
        [[cells[0][0] + 0.5, cells[0][1] + 0.5, p.top * PLATE_HEIGHT] for p, cells in zip(placements, studs) if cells]
    ).reshape(-1, 3)
    anchor_pixels = (screen_coords(anchors) * scale + offset).tolist()
    anchor_depths = depth(anchors).tolist()
    next_anchor = 0
    for index, (placement, label) in enumerate(zip(placements, labels, strict=True)):
        colours = _packed_faces(placement.colour)
        hidden = occupancy.hidden_faces(placement)
        for face, name in enumerate(_FACES):
            if name not in hidden:
                canvas.fill_polygon(pixels[index, face], depths[index, face], colours[face], label)
        cells = studs[index]
        if not cells:
            continue
        first_x, first_y = cells[0]
        relative = tuple((x - first_x, y - first_y) for x, y in cells)
        sprite = stud_cluster(key, relative, placement.colour.rgb, placement.colour.transparent)
        (px, py), base = anchor_pixels[next_anchor], anchor_depths[next_anchor]
        canvas.stamp(px, py, base, sprite, label)
        next_anchor += 1
