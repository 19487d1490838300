"""Render-true wrong-state images: step t re-rendered from the 3D truth with a real execution error.

The pasted method (:mod:`.negatives`) cuts the highlighted item out and pastes it elsewhere; the
item then floats over the model or overlaps other parts, and a model can spot the sprite without
reading the instruction. A synthetic manual records its 3D plan (``truth.json``: every placement,
and per step what it places), so here the step is built again with one mistake a person makes,
checked against the geometry, and drawn by the generator's own renderer with the same camera and
the same highlight as the real step image. Each mistake is its own ``negative_kind``:

==================  ===============================================================================
kind                the step's last new part (the one nothing else rests on) ...
==================  ===============================================================================
``shifted``         ... on the same layer, moved by at least one stud (nearest moves first)
``rotated``         ... turned 90° (a square part has no visible rotation: none made)
``wrong_size``      ... of the same kind, another size (nearest sizes first), as near as it fits
``wrong_colour``    ... in place, in another colour (the session's own colours first)
``missing``         ... left out; the step's other new parts are still there (steps of >= 2 parts)
``wrong_layer``     ... resting on another layer (higher or lower), same way round, as near as it fits
``undo``            nothing done: the previous step's image again, its own new parts highlighted
==================  ===============================================================================

A ``shifted`` or ``wrong_layer`` part must also contradict the instruction's words (it rests on
none of the parts the instruction may name, or on one at another place: "on the left side" …), so
no negative is a right answer to the text. Every negative except ``undo`` is a valid build (:func:`~lego_arta.source.synth.assembly.build_problems`:
on studs, no overlap, no part on a tile), the moved or swapped part is seen by the camera and lies
inside the frame, its placements differ from the truth and its pixels from the positive. ``undo``
is the real previous state. The highlight is drawn by :func:`~lego_arta.source.synth.render.render_assembly`
on the step's new parts as placed, exactly as the generator draws it on a positive.

>>> sorted(RENDER_KINDS)[:3]
['missing', 'rotated', 'shifted']
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from lego_arta.palette import COLOURS, Colour
from lego_arta.source.layout import TRUTH_FILE
from lego_arta.source.synth.assembly import AssemblyState, build_problems, contact, drops, is_seen, main_supports
from lego_arta.source.synth.camera import View, box_corners, fit_view, project
from lego_arta.source.synth.catalog import PART_SHAPES, colour_by_name, colours_compatible_with
from lego_arta.source.synth.language import position_phrase
from lego_arta.source.synth.model import Placement, Shape
from lego_arta.source.synth.render import render_assembly

#: The render-true kinds, in the order the module docstring describes them.
RENDER_KINDS: tuple[str, ...] = ("shifted", "rotated", "wrong_size", "wrong_colour", "missing", "wrong_layer", "undo")
#: Kinds whose error is only where the part is: each must contradict the instruction's words
#: (target and position phrase), not only the exact studs of the true image.
WHERE_KINDS: frozenset[str] = frozenset({"shifted", "wrong_layer"})
#: A wrong colour differs from the true one by at least this RGB (Euclidean) distance: tinted by the
#: highlight, closer colours ("dark stone grey" for "black") are hard to tell even for a person.
MIN_COLOUR_DISTANCE = 80.0
#: Candidates kept per kind and state (the nearest errors first); more than a state ever asks for.
MAX_CANDIDATES = 6

NO_TRUTH = "manual has no 3D truth (truth.json)"
NO_TRUTH_STEP = "step not in the manual's 3D truth"
SQUARE_PART = "square part looks the same rotated"
ONE_PART_STEP = "one-part step (missing it is 'undo')"
FIRST_STEP = "first step of the session (no state before it)"
NO_VALID_PLACEMENT = "no valid placement for this error"
NO_OTHER_COLOUR = "no distinguishable other colour"


@dataclass(frozen=True)
class RenderedNegative:
    """A wrong-state image made from the 3D truth: its kind, the placements shown and the pixels.

    ``displacement`` is 0: the column measures the pasted method's move (a share of the model's
    box), which a re-rendered error does not have.
    """

    image: np.ndarray
    kind: str
    placements: tuple[Placement, ...]
    highlight: tuple[int, ...]
    displacement: float = 0.0


@dataclass(frozen=True)
class StepScene:
    """One assembly step of a synthetic session as its truth records it, ready to re-render."""

    placements: tuple[Placement, ...]
    present: tuple[int, ...]
    placed: tuple[int, ...]
    previous_placed: tuple[int, ...] | None
    boundary: tuple[int, int, int] | None
    view: View

    def shown(self, indices: Sequence[int]) -> tuple[Placement, ...]:
        return tuple(self.placements[i] for i in indices)

    @cached_property
    def positive(self) -> np.ndarray:
        """The step's true image, rendered as the generator rendered it (RGB)."""
        return self.render(self.shown(self.present), [self.present.index(i) for i in self.placed])

    def render(self, shown: Sequence[Placement], highlight: Sequence[int]) -> np.ndarray:
        rendering = render_assembly(list(shown), self.view, highlight=highlight, boundary=self.boundary)
        return np.asarray(rendering.image.convert("RGB"))


def _placement(data: dict[str, Any]) -> Placement:
    shape = Shape(data["kind"], int(data["short"]), int(data["long"]))
    # The palette entry, not just name and RGB: transparent colours are drawn differently.
    colour = colour_by_name(str(data["colour"]))
    return Placement(shape, colour, int(data["x"]), int(data["y"]), int(data["z"]), bool(data["along_x"]))


@lru_cache(maxsize=16)
def _truth(path: Path, stamp: tuple[int, int]) -> dict[str, StepScene]:
    """Decoded step image file → its :class:`StepScene`, for one ``truth.json`` (``stamp``: mtime, size)."""
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
        width, height = (int(v) for v in truth["image_size"])
        scenes: dict[str, StepScene] = {}
        for session in truth["sessions"]:
            placements = tuple(_placement(p) for p in session["placements"])
            view = fit_view(placements, width, height)
            boundary = tuple(int(v) for v in session["boundary"]["rgb"]) if session["boundary"] else None
            previous: tuple[int, ...] | None = None
            for step in session["steps"]:
                placed = tuple(int(i) for i in step["placed"])
                scenes[unquote(step["step"]["file"])] = StepScene(
                    placements,
                    tuple(int(i) for i in step["step"]["present"]),
                    placed,
                    previous,
                    boundary,
                    view,  # type: ignore[arg-type]
                )
                previous = placed
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: not a synthetic truth file with sessions[].placements and steps[].step ({error!r})") from error
    return scenes


def step_scene(manual_folder: Path, step_file: str) -> StepScene | str:
    """The 3D truth of the assembly image ``step_file`` of a manual, or why there is none."""
    path = Path(manual_folder) / TRUTH_FILE
    if not path.is_file():
        return NO_TRUTH
    status = path.stat()
    return _truth(path, (status.st_mtime_ns, status.st_size)).get(unquote(step_file), NO_TRUTH_STEP)


# --- the errors -----------------------------------------------------------------------------------


def _state(placements: Sequence[Placement]) -> AssemblyState:
    state = AssemblyState.start(placements[0])
    for part in placements[1:]:
        state = state.with_part(part)
    return state


def _centre(part: Placement) -> tuple[float, float]:
    return part.x + part.size_x / 2.0, part.y + part.size_y / 2.0


def _distance(a: Placement, b: Placement) -> float:
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    return float(np.hypot(ax - bx, ay - by))


def _nearest(candidates: Sequence[Placement], truth: Placement, rng: np.random.Generator) -> list[Placement]:
    """Candidates nearest ``truth`` first; ties broken by ``rng`` (one permutation, so seeded)."""
    ties = rng.permutation(len(candidates))
    order = sorted(range(len(candidates)), key=lambda i: (round(_distance(candidates[i], truth), 6), int(ties[i])))
    return [candidates[i] for i in order]


def _colour_distance(a: Colour, b: Colour) -> float:
    return float(np.linalg.norm(np.subtract(a.rgb, b.rgb, dtype=np.float64)))


def _replacements(scene: StepScene, kind: str, rng: np.random.Generator) -> list[Placement] | str:
    """Wrong versions of the step's last new part for a part-level kind, nearest errors first."""
    truth = scene.placements[scene.present[-1]]
    base = _state(scene.shown(scene.present[:-1]))
    if kind == "wrong_colour":
        session = {p.colour.name: p.colour for p in scene.placements}
        boundary = None if scene.boundary is None else Colour("boundary", scene.boundary)
        own = [c for c in session.values() if c.name != truth.colour.name]
        others = [c for c in COLOURS if c.name not in session]
        found = []
        for group in (own, others):
            allowed = [c for c in colours_compatible_with(boundary, group) if _colour_distance(c, truth.colour) >= MIN_COLOUR_DISTANCE]
            found += [allowed[int(i)] for i in rng.permutation(len(allowed))]
        if not found:
            return NO_OTHER_COLOUR
        return [Placement(truth.shape, c, truth.x, truth.y, truth.z, truth.along_x) for c in found]
    if kind == "rotated" and truth.shape.short == truth.shape.long:
        return SQUARE_PART
    if kind == "wrong_size":
        shapes = sorted(
            (s for s in PART_SHAPES if s.kind == truth.shape.kind and s != truth.shape),
            key=lambda s: (abs(s.short - truth.shape.short) + abs(s.long - truth.shape.long), s.short, s.long),
        )
        found = []
        for shape in shapes:
            near = [p for p, _ in drops(base, shape, truth.colour)]
            found += _nearest(near, truth, rng)[:1]
        return found or NO_VALID_PLACEMENT
    candidates = [p for p, _ in drops(base, truth.shape, truth.colour)]
    if kind == "shifted":
        candidates = [p for p in candidates if p.along_x == truth.along_x and p.z == truth.z and (p.x, p.y) != (truth.x, truth.y)]
    elif kind == "rotated":
        candidates = [p for p in candidates if p.along_x != truth.along_x]
    elif kind == "wrong_layer":
        candidates = [p for p in candidates if p.z != truth.z and p.along_x == truth.along_x]
    else:
        raise ValueError(f"unknown render-true negative kind {kind!r}; expected one of {list(RENDER_KINDS)}")
    return _nearest(candidates, truth, rng) or NO_VALID_PLACEMENT


def contradicts_instruction(wrong: Placement, truth: Placement, earlier: Sequence[Placement]) -> bool:
    """Whether the instruction's words rule ``wrong`` out: it rests on none of the parts the
    instruction may name as its target (the supports with most contact), or on one of them at
    another place ("at the back left" …, :func:`~lego_arta.source.synth.language.position_phrase`).

    A one-stud shift can keep "on the plate 6x8, on the left side" true; such a negative would be
    a right answer to the text, so it is not made.
    """
    for index in main_supports(truth, earlier):
        target = earlier[index]
        if contact(wrong, target) and position_phrase(wrong, target) == position_phrase(truth, target):
            return False
    return True


def _inside_frame(part: Placement, view: View) -> bool:
    corners = project(box_corners(part), view)
    return bool((corners >= 0).all() and (corners[:, 0] <= view.width - 1).all() and (corners[:, 1] <= view.height - 1).all())


Layout = tuple[tuple[Placement, ...], tuple[int, ...]]


def _layouts(scene: StepScene, kind: str, rng: np.random.Generator) -> Iterator[Layout] | str:
    """(placements shown, highlighted positions) of each candidate negative of ``kind``, checked
    as they are consumed (a state takes one or two of a kind, and each check rebuilds the model);
    or why the kind cannot be made for this step. Every draw from ``rng`` happens here, before
    the first candidate is checked, so how many are consumed never changes what is drawn next.
    """
    if scene.previous_placed is None:
        return FIRST_STEP
    if kind == "undo":
        before = [i for i in scene.present if i not in scene.placed]
        return iter([(scene.shown(before), tuple(before.index(i) for i in scene.previous_placed))])
    if kind == "missing":
        if len(scene.placed) < 2:
            return ONE_PART_STEP
        shown = [i for i in scene.present if i != scene.present[-1]]
        return iter([(scene.shown(shown), tuple(shown.index(i) for i in scene.placed if i in shown))])
    replacements = _replacements(scene, kind, rng)
    if isinstance(replacements, str):
        return replacements
    valid = itertools.islice(_valid_layouts(scene, kind, replacements), MAX_CANDIDATES)
    first = next(valid, None)
    return NO_VALID_PLACEMENT if first is None else itertools.chain([first], valid)


def _valid_layouts(scene: StepScene, kind: str, replacements: Sequence[Placement]) -> Iterator[Layout]:
    """The replacements that make a valid, visible build contradicting the instruction, in order."""
    kept = scene.shown(scene.present[:-1])
    truth = scene.placements[scene.present[-1]]
    highlight = tuple(scene.present.index(i) for i in scene.placed)
    for part in replacements:
        if kind in WHERE_KINDS and not contradicts_instruction(part, truth, kept):
            continue
        placements = (*kept, part)
        if build_problems(placements) or not is_seen(_state(placements), len(placements) - 1):
            continue
        if not _inside_frame(part, scene.view):
            continue
        yield placements, highlight


def iter_negatives(
    scene: StepScene, kind: str, rng: np.random.Generator, *, positive: np.ndarray | None = None
) -> Iterator[RenderedNegative] | str:
    """The negatives of ``kind`` for one step, nearest error first, rendered as they are consumed;
    or why the kind cannot be made for this step.

    A candidate whose pixels equal the positive's (the error hidden from the camera) is passed
    over, so every negative looks wrong. ``positive`` is the step's own image (RGB) when the
    caller has it decoded; without it the step is rendered (:attr:`StepScene.positive`, the same
    pixels for a synthetic manual's image).
    """
    if kind not in RENDER_KINDS:
        raise ValueError(f"unknown render-true negative kind {kind!r}; expected one of {list(RENDER_KINDS)}")
    layouts = _layouts(scene, kind, rng)
    if isinstance(layouts, str):
        return layouts
    return _rendered(scene, kind, layouts, positive)


def _rendered(scene: StepScene, kind: str, layouts: Iterator[Layout], positive: np.ndarray | None) -> Iterator[RenderedNegative]:
    truth = frozenset(scene.shown(scene.present))
    if positive is None:
        positive = scene.positive
    for placements, highlight in layouts:
        if frozenset(placements) == truth:
            continue
        image = scene.render(placements, highlight)
        if not np.array_equal(image, positive):
            yield RenderedNegative(image, kind, tuple(placements), tuple(highlight))
