"""Physically plausible sub-assemblies: a base plate on the table and parts pressed onto studs.

Parts are dropped from above onto a height field over the base footprint, so voxels never overlap.
A drop is valid when the part lands on at least one stud of an earlier part and touches no flat
tile (tiles have no studs), and the model stays within the base footprint and :data:`MAX_TOP` plates,
so every session renders at a similar scale.

>>> import random
>>> from lego_arta.source.synth.model import Colour, Shape
>>> grey = Colour("medium stone grey", (163, 162, 164))
>>> state = AssemblyState.start(Placement(Shape("plate", 6, 8), grey, 0, 0, 0))
>>> part = choose_placement(state, Shape("brick", 2, 4), grey, random.Random(0))
>>> part.z, supports(part, state.placements)
(1, {0: 8})
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lego_arta.source.synth.camera import AZIMUTH_DEG, ELEVATION_DEG, PLATE_HEIGHT
from lego_arta.source.synth.model import Colour, Placement, Shape

#: Highest top (in plates) a session may reach: base plate plus four bricks.
MAX_TOP = 13
#: How strongly lower drops are preferred (plates per e-fold); low values build flat, wide models.
LOW_DROP_SCALE = 3.0
#: Weight of an overhanging drop relative to ``1 + floor`` for one supported under its whole footprint.
SUPPORT_WEIGHT_FLOOR = 0.2
#: Tried drops per part before giving up on the acceptance predicate.
MAX_TRIES = 40
#: Sampling step (studs) of the sight line from a cell toward the camera.
SIGHT_STEP = 0.25

_TABLE, _STUDDED, _TILE = 0, 1, 2


@dataclass(frozen=True)
class AssemblyState:
    """The placements so far and the height field over the base footprint.

    ``height[x, y]`` is the top (in plates) of the highest part over cell ``(x, y)``, ``top_kind``
    whether that top has studs, ``top_index`` which placement it is. Arrays are never mutated:
    :meth:`with_part` returns a new state.
    """

    placements: tuple[Placement, ...]
    height: np.ndarray
    top_kind: np.ndarray
    top_index: np.ndarray

    @staticmethod
    def start(base: Placement) -> AssemblyState:
        """A state holding only the base part, which lies on the table at the origin."""
        if (base.x, base.y, base.z) != (0, 0, 0):
            raise ValueError(f"the base part must lie at the origin on the table, got {base}")
        shape = (base.size_x, base.size_y)
        empty = AssemblyState(
            (),
            np.zeros(shape, dtype=np.int16),
            np.full(shape, _TABLE, dtype=np.int8),
            np.full(shape, -1, dtype=np.int16),
        )
        return empty.with_part(base)

    @property
    def width(self) -> int:
        return int(self.height.shape[0])

    @property
    def depth(self) -> int:
        return int(self.height.shape[1])

    def with_part(self, part: Placement) -> AssemblyState:
        """The state after adding ``part`` (which must fit the footprint and land where it claims)."""
        if part.x < 0 or part.y < 0 or part.x + part.size_x > self.width or part.y + part.size_y > self.depth:
            raise ValueError(f"{part} leaves the {self.width}x{self.depth} footprint")
        window = (slice(part.x, part.x + part.size_x), slice(part.y, part.y + part.size_y))
        if int(self.height[window].max()) != part.z:
            raise ValueError(f"{part} does not rest at z={int(self.height[window].max())}")
        height, top_kind, top_index = self.height.copy(), self.top_kind.copy(), self.top_index.copy()
        height[window] = part.top
        top_kind[window] = _STUDDED if part.shape.studded else _TILE
        top_index[window] = len(self.placements)
        return AssemblyState(self.placements + (part,), height, top_kind, top_index)


def _window_reduce(values: np.ndarray, size_x: int, size_y: int, op: np.ufunc) -> np.ndarray:
    """``op`` (maximum/minimum) over every ``size_x`` x ``size_y`` window, computed separably."""
    nx, ny = values.shape[0] - size_x + 1, values.shape[1] - size_y + 1
    along_x = values[:nx].copy()
    for dx in range(1, size_x):
        op(along_x, values[dx : dx + nx], out=along_x)
    result = along_x[:, :ny].copy()
    for dy in range(1, size_y):
        op(result, along_x[:, dy : dy + ny], out=result)
    return result


@lru_cache(maxsize=64)
def _sight_lines(width: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """For each cell, the cells its sight line toward the camera crosses and how far the line has
    risen there (plates); padded with a sentinel index ``width * depth``."""
    toward_x, toward_y = -math.sin(math.radians(AZIMUTH_DEG)), -math.cos(math.radians(AZIMUTH_DEG))
    rise = math.tan(math.radians(ELEVATION_DEG)) / PLATE_HEIGHT
    lines: list[list[tuple[int, float]]] = []
    for x in range(width):
        for y in range(depth):
            line, k = [], 1
            while True:
                px, py = x + 0.5 + k * SIGHT_STEP * toward_x, y + 0.5 + k * SIGHT_STEP * toward_y
                if px < 0 or py < 0:
                    break
                line.append((int(px) * depth + int(py), k * SIGHT_STEP * rise))
                k += 1
            lines.append(line)
    longest = max(1, max(len(line) for line in lines))
    cells = np.full((width * depth, longest), width * depth, dtype=np.intp)
    risen = np.zeros((width * depth, longest))
    for i, line in enumerate(lines):
        for k, (cell, r) in enumerate(line):
            cells[i, k], risen[i, k] = cell, r
    return cells, risen


def sight_floor(state: AssemblyState) -> np.ndarray:
    """Per cell, the height (plates) above which a top face there is seen by the fixed manual camera
    (:mod:`lego_arta.source.synth.camera`): nearer, taller columns hide what lies behind them."""
    cells, risen = _sight_lines(state.width, state.depth)
    heights = np.append(state.height.ravel().astype(float), -np.inf)
    return (heights[cells] - risen).max(axis=1).reshape(state.width, state.depth)


def is_seen(state: AssemblyState, index: int) -> bool:
    """Whether the manual camera sees part of the top of ``state.placements[index]``."""
    part = state.placements[index]
    window = (slice(part.x, part.x + part.size_x), slice(part.y, part.y + part.size_y))
    return bool((sight_floor(state)[window] < part.top).any())


def _drop_table(state: AssemblyState, shape: Shape) -> list[tuple[int, int, int, bool, float]]:
    """(x, y, z, along_x, weight) of every valid drop; plain tuples keep the planner fast.

    The window maximum of ``2 * height + is_tile`` gives both the resting height (halved) and
    whether a tile lies at that height (odd), so one separable pass finds every drop. Drops whose
    top the camera sees (see :func:`sight_floor`) are returned when there are any, else hidden ones.
    """
    orientations = [True] if shape.short == shape.long else [True, False]
    keys = 2 * state.height + (state.top_kind == _TILE)
    floor = sight_floor(state)
    found: list[tuple[int, int, int, bool, float]] = []
    hidden: list[tuple[int, int, int, bool, float]] = []
    for along_x in orientations:
        size_x, size_y = (shape.long, shape.short) if along_x else (shape.short, shape.long)
        if size_x > state.width or size_y > state.depth:
            continue
        top_key = _window_reduce(keys, size_x, size_y, np.maximum)
        rest = top_key >> 1
        fits = ((top_key & 1) == 0) & (rest > 0) & (rest + shape.height <= MAX_TOP)
        if not fits.any():
            continue
        flat = _window_reduce(state.height, size_x, size_y, np.minimum) == rest
        seen = _window_reduce(floor, size_x, size_y, np.minimum) < rest + shape.height
        low = int(rest[fits].min())
        weight = np.exp(-(rest - low) / LOW_DROP_SCALE) * (SUPPORT_WEIGHT_FLOOR + flat)
        for keep, into in ((fits & seen, found), (fits & ~seen, hidden)):
            xs, ys = np.nonzero(keep)
            into += zip(xs.tolist(), ys.tolist(), rest[xs, ys].tolist(), [along_x] * len(xs), weight[xs, ys].tolist())
    return found or hidden


def drops(state: AssemblyState, shape: Shape, colour: Colour) -> list[tuple[Placement, float]]:
    """Every valid drop of ``shape`` (both orientations) with its preference weight.

    Valid: inside the footprint, top at most :data:`MAX_TOP`, resting on at least one cell and only
    on studded tops; visible to the manual camera when any valid drop is. Weight favours low drops
    and drops supported under their whole footprint.
    """
    return [(Placement(shape, colour, x, y, z, along_x), w) for x, y, z, along_x, w in _drop_table(state, shape)]


def choose_placement(
    state: AssemblyState,
    shape: Shape,
    colour: Colour,
    rng: random.Random,
    accept: Callable[[Placement], bool] | None = None,
) -> Placement | None:
    """A random valid drop of ``shape`` in ``colour`` that ``accept`` agrees to, or None if none fits.

    Drops are drawn by weight (see :func:`drops`); after :data:`MAX_TRIES` refusals the remaining
    drops are tried in a fixed order, so None means no acceptable drop exists at all.
    """
    candidates = _drop_table(state, shape)
    for tries in range(len(candidates)):
        if tries < MAX_TRIES:
            pick = rng.choices(range(len(candidates)), weights=[c[-1] for c in candidates])[0]
        else:
            pick = 0
        x, y, z, along_x, _ = candidates.pop(pick)
        part = Placement(shape, colour, x, y, z, along_x)
        if accept is None or accept(part):
            return part
    return None


def state_supports(state: AssemblyState, part: Placement) -> dict[int, int]:
    """Like :func:`supports` for a drop onto ``state``, read from the height field (fast path)."""
    window = (slice(part.x, part.x + part.size_x), slice(part.y, part.y + part.size_y))
    touching = state.height[window] == part.z
    found: dict[int, int] = {}
    for i in state.top_index[window][touching].tolist():
        found[i] = found.get(i, 0) + 1
    return found


def contact(part: Placement, below: Placement) -> int:
    """Number of studs of ``below`` that ``part`` sits on (0 unless ``below``'s top is ``part``'s bottom)."""
    if below.top != part.z:
        return 0
    return len(part.cells() & below.cells())


def supports(part: Placement, earlier: Sequence[Placement]) -> dict[int, int]:
    """Index → contact (studs) of every earlier part that ``part`` rests on."""
    return {i: n for i, below in enumerate(earlier) if (n := contact(part, below)) > 0}


def main_supports(part: Placement, earlier: Sequence[Placement]) -> tuple[int, ...]:
    """Indices of the supports with the most contact, in build order (the instruction's target is one)."""
    found = supports(part, earlier)
    if not found:
        return ()
    most = max(found.values())
    return tuple(sorted(i for i, n in found.items() if n == most))


def build_problems(placements: Sequence[Placement]) -> list[str]:
    """Why a build order is not physically plausible; empty when it is.

    Checks: the first part lies on the table; later parts overlap no voxel, rest on at least one
    studded part and on no tile.
    """
    problems: list[str] = []
    filled: set[tuple[int, int, int]] = set()
    for i, part in enumerate(placements):
        voxels = part.occupies()
        if voxels & filled:
            problems.append(f"part {i} ({part.shape.name}) overlaps earlier parts")
        filled |= voxels
        if i == 0:
            if part.z != 0:
                problems.append(f"base part 0 is not on the table (z={part.z})")
            continue
        below = supports(part, placements[:i])
        if not below:
            problems.append(f"part {i} ({part.shape.name}) rests on nothing")
        tiles = [j for j in below if not placements[j].shape.studded]
        if tiles:
            problems.append(f"part {i} ({part.shape.name}) rests on tile(s) {tiles}")
    return problems
