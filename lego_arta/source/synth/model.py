"""Typed plan of a synthetic manual: parts, their 3D placements, and the tagged text of every row.

World frame (used by the planner, the language and the renderer alike):

* ``x`` runs left → right and ``y`` front → back, both in studs; ``z`` runs up in plate heights
  (a brick is 3 plates tall).
* A placement's ``(x, y, z)`` is its minimum corner; ``along_x`` says its long side runs left-right
  ("horizontally" in the instructions), otherwise front-back ("vertically").

Spatial words in instructions (left/right, front/back, on top of) are defined on this frame, so a
test can check every phrase against the geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lego_arta.palette import Colour

ShapeKind = Literal["brick", "plate", "tile"]

#: Height of each kind in plate units (a brick is three plates tall).
KIND_HEIGHT: dict[str, int] = {"brick": 3, "plate": 1, "tile": 1}
#: Names as the LEGO Audio & Braille manuals write them ("flat tile 1x2").
KIND_NAME: dict[str, str] = {"brick": "brick", "plate": "plate", "tile": "flat tile"}

#: One run of text inside a line: (entity class or None for untagged words, text).
Segment = tuple["str | None", str]


@dataclass(frozen=True)
class Shape:
    """A part type: kind and stud footprint (``short`` ≤ ``long``)."""

    kind: ShapeKind
    short: int
    long: int

    def __post_init__(self) -> None:
        if not 1 <= self.short <= self.long:
            raise ValueError(f"shape {self.kind} needs 1 <= short <= long, got {self.short}x{self.long}")

    @property
    def height(self) -> int:
        return KIND_HEIGHT[self.kind]

    @property
    def studded(self) -> bool:
        return self.kind != "tile"

    @property
    def size(self) -> str:
        return f"{self.short}x{self.long}"

    @property
    def name(self) -> str:
        """Singular name, e.g. ``brick 2x4``, ``flat tile 1x2``."""
        return f"{KIND_NAME[self.kind]} {self.size}"

    @property
    def plural(self) -> str:
        """Plural name, e.g. ``bricks 2x4``, ``flat tiles 1x2``."""
        return f"{KIND_NAME[self.kind]}s {self.size}"


@dataclass(frozen=True)
class Placement:
    """One part in the world: shape, colour, minimum corner and orientation."""

    shape: Shape
    colour: Colour
    x: int
    y: int
    z: int
    along_x: bool = True

    @property
    def size_x(self) -> int:
        return self.shape.long if self.along_x else self.shape.short

    @property
    def size_y(self) -> int:
        return self.shape.short if self.along_x else self.shape.long

    @property
    def size_z(self) -> int:
        return self.shape.height

    @property
    def top(self) -> int:
        return self.z + self.size_z

    def cells(self) -> frozenset[tuple[int, int]]:
        """The stud cells ``(x, y)`` of its footprint."""
        return frozenset((x, y) for x in range(self.x, self.x + self.size_x) for y in range(self.y, self.y + self.size_y))

    def occupies(self) -> frozenset[tuple[int, int, int]]:
        """Every unit voxel ``(x, y, z)`` the part fills, for overlap checks."""
        return frozenset((x, y, z) for x, y in self.cells() for z in range(self.z, self.top))


@dataclass(frozen=True)
class PartGroup:
    """Identical parts named together in an object-finding line: "2 bright red bricks 2x4"."""

    shape: Shape
    colour: Colour
    count: int


@dataclass(frozen=True)
class StepPlan:
    """One step of a session: what to find (eop row, may be absent) and what to place (step row)."""

    number: int
    code: str
    placed: tuple[int, ...]
    find: tuple[PartGroup, ...] = ()
    eop_lines: tuple[tuple[Segment, ...], ...] = ()
    step_lines: tuple[tuple[Segment, ...], ...] = ()

    @property
    def has_eop(self) -> bool:
        return bool(self.eop_lines)


@dataclass(frozen=True)
class SessionPlan:
    """A sub-assembly built from scratch: its parts in build order and the steps that place them."""

    name: str
    title: str
    placements: tuple[Placement, ...]
    steps: tuple[StepPlan, ...]
    boundary: Colour | None = None


@dataclass(frozen=True)
class ManualPlan:
    """Everything needed to write one manual folder, decided before any pixel is drawn."""

    manual_id: str
    set_number: str
    set_name: str
    intro_lines: tuple[tuple[Segment, ...], ...]
    sessions: tuple[SessionPlan, ...]
    closing_lines: tuple[tuple[Segment, ...], ...] = field(default_factory=tuple)

    @property
    def highlighted(self) -> bool:
        """Whether assembly images outline the newly added parts (about two thirds of manuals)."""
        return any(session.boundary is not None for session in self.sessions)
