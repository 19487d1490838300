"""Plan whole synthetic manuals: sessions, steps, geometry and tagged text, before any pixel is drawn.

A manual is a handful of sessions ("sm01-Bag", "sm02-Bag", …), each a sub-assembly built from a
base plate in steps of 1–3 parts. About 86% of steps open with an object-finding (eop) line; the
others place parts an earlier eop line already named ("Find 4 white plates 1x2." then two steps of
two). About two thirds of manuals outline new parts in a per-session highlight colour, and those
sessions only use part colours whose hue is far from it. Scale follows the study (65 manuals ≈ 397
sessions, 5,614 assembly steps, 4,814 eop steps).

>>> plan = plan_manual(0, seed=0)
>>> plan.manual_id.startswith("lego-90000-"), plan.sessions[0].name
(True, 'sm01-Bag')
"""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lego_arta.source.layout import manual_id
from lego_arta.source.synth import language
from lego_arta.source.synth.assembly import AssemblyState, choose_placement, is_seen, state_supports
from lego_arta.source.synth.catalog import (
    BASE_SHAPES,
    COLOURS,
    PART_SHAPES,
    colours_compatible_with,
    pick_boundary_colour,
)
from lego_arta.source.synth.model import (
    Colour,
    ManualPlan,
    PartGroup,
    Placement,
    SessionPlan,
    Shape,
    StepPlan,
)

#: Fictional set numbers start here (real sets are 5 digits below it), so ids never clash with real ones.
SET_NUMBER_BASE = 90000
#: Share of steps (after the first of a session) that place parts found earlier, without an eop row.
NO_EOP_SHARE = 0.155
#: A step without an eop row repeats a part kind of the last eop line this often ("the other 2 …").
REPEAT_SHARE = 0.65
#: An eop line names at most this many pieces and part kinds.
MAX_FIND_PIECES = 8
MAX_FIND_GROUPS = 4
#: Step compositions: (number of parts, identical?) with their weights.
STEP_COMPOSITIONS: tuple[tuple[int, bool, float], ...] = (
    (1, True, 0.46),
    (2, True, 0.20),
    (3, True, 0.05),
    (2, False, 0.21),
    (3, False, 0.08),
)
#: Extra parts placed with the base in a session's first step: weights for 0, 1, 2.
FIRST_STEP_EXTRAS = (0.45, 0.4, 0.15)
#: Share of sessions whose first eop line opens with "Now, we will build the …" (study: 30 of 397).
OPENER_SHARE = 0.08
#: Share of sessions whose last step has no code in its image names (like "…-0033_step_Bag.png").
EMPTY_LAST_CODE_SHARE = 0.3
#: Share of assembly lines naming the target "the previous piece" when it is the part placed just before.
PREVIOUS_PIECE_SHARE = 0.3
#: Share of assembly lines that name the colour although the shape alone is unambiguous.
EXTRA_COLOUR_SHARE = 0.1
#: Part colours per session, and the popular colours drawn more often.
PALETTE_SIZE = (3, 6)
POPULAR_COLOURS = frozenset({"white", "black", "bright red", "bright blue", "bright yellow", "medium stone grey", "dark stone grey"})
POPULAR_WEIGHT = 3.0
#: Tiles have no studs, so they come late: their weight grows with the session's progress.
TILE_WEIGHT = (0.1, 1.2)
#: Small parts are common, long ones rarer: weight = 1 / (area ** SIZE_PENALTY).
SIZE_PENALTY = 0.6
#: Shapes tried, in this order, when a requested part does not fit anywhere.
FALLBACK_SHAPES: tuple[Shape, ...] = (
    Shape("plate", 1, 1),
    Shape("plate", 1, 2),
    Shape("brick", 1, 1),
    Shape("brick", 1, 2),
    Shape("tile", 1, 1),
)


# --- public API -----------------------------------------------------------------------------------


def plan_manual(
    index: int,
    seed: int,
    *,
    steps_per_session: tuple[int, int] = (8, 20),
    sessions: tuple[int, int] = (4, 8),
    highlight_share: float = 2 / 3,
) -> ManualPlan:
    """The full plan of synthetic manual ``index``; the same (index, seed) always gives the same plan.

    ``steps_per_session`` and ``sessions`` are inclusive ranges; ``highlight_share`` is the chance
    that the manual outlines new parts in a per-session boundary colour.
    """
    _check_range("steps_per_session", steps_per_session)
    _check_range("sessions", sessions)
    if not 0.0 <= highlight_share <= 1.0:
        raise ValueError(f"highlight_share must lie in [0, 1], got {highlight_share}")
    if index < 0:
        raise ValueError(f"manual index must be >= 0, got {index}")
    rng = random.Random(f"lego-arta/plan/{seed}/{index}")
    name = language.set_name(rng)
    set_number = str(SET_NUMBER_BASE + index)
    highlighted = rng.random() < highlight_share
    titles = language.session_titles(rng, name, rng.randint(*sessions))
    planned: list[SessionPlan] = []
    boundaries: list[Colour] = []
    for number, title in enumerate(titles, start=1):
        boundary = pick_boundary_colour(rng, taken=boundaries) if highlighted else None
        if boundary is not None:
            boundaries.append(boundary)
        planned.append(_plan_session(rng, f"sm{number:02d}-Bag", title, boundary, rng.randint(*steps_per_session)))
    colours = Counter(p.colour.name for s in planned for p in s.placements)
    return ManualPlan(
        manual_id=manual_id(set_number, language.slug(name)),
        set_number=set_number,
        set_name=name,
        intro_lines=(language.intro_line(rng, name, len(planned), [c for c, _ in colours.most_common(3)]),),
        sessions=tuple(planned),
        closing_lines=language.closing_lines(rng, name),
    )


def plan_manuals(count: int, seed: int, **options: object) -> list[ManualPlan]:
    """Plans of manuals 0 … count-1 (``options`` as for :func:`plan_manual`)."""
    if count < 0:
        raise ValueError(f"manual count must be >= 0, got {count}")
    return [plan_manual(index, seed, **options) for index in range(count)]  # type: ignore[arg-type]


def placements_after(session: SessionPlan, step: int) -> tuple[int, ...]:
    """Indices (into ``session.placements``) of every part present once step position ``step`` is done;
    ``step = -1`` gives the empty table. This is what the assembly image of that step shows."""
    if not -1 <= step < len(session.steps):
        raise IndexError(f"session {session.name} has {len(session.steps)} steps, asked for {step}")
    return tuple(sorted(i for s in session.steps[: step + 1] for i in s.placed))


def presence_by_step(manual: ManualPlan) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """``[session][step]`` → indices of the placements present after that step (see :func:`placements_after`)."""
    return tuple(tuple(placements_after(session, step) for step in range(len(session.steps))) for session in manual.sessions)


def eop_parts(session: SessionPlan, step: int) -> tuple[int, ...]:
    """Indices of the parts an eop step's line names: placed in this step and in the following steps
    without an eop row (what the parts image should show on the right); () for a step without eop."""
    return tuple(_found_indices(session.steps, step)) if session.steps[step].has_eop else ()


# --- one session ----------------------------------------------------------------------------------


@dataclass
class _Step:
    """A step while planning: placed indices, and the found kinds if it has an eop row."""

    placed: list[int] = field(default_factory=list)
    has_eop: bool = True
    found: Counter[tuple[Shape, Colour]] = field(default_factory=Counter)


def _check_range(name: str, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not 1 <= low <= high:
        raise ValueError(f"{name} must be (low, high) with 1 <= low <= high, got {bounds}")


def _weighted_sample(rng: random.Random, items: Sequence[Colour], weights: Sequence[float], k: int) -> list[Colour]:
    pool, pool_weights, chosen = list(items), list(weights), []
    for _ in range(min(k, len(pool))):
        pick = rng.choices(range(len(pool)), weights=pool_weights)[0]
        chosen.append(pool.pop(pick))
        pool_weights.pop(pick)
    return chosen


def _palette(rng: random.Random, boundary: Colour | None) -> list[Colour]:
    allowed = colours_compatible_with(boundary, COLOURS)
    weights = [POPULAR_WEIGHT if c.name in POPULAR_COLOURS else 1.0 for c in allowed]
    return _weighted_sample(rng, allowed, weights, rng.randint(*PALETTE_SIZE))


def _shape_weights(progress: float) -> list[float]:
    tile = TILE_WEIGHT[0] + (TILE_WEIGHT[1] - TILE_WEIGHT[0]) * progress
    return [(tile if s.kind == "tile" else 1.0) / (s.short * s.long) ** SIZE_PENALTY for s in PART_SHAPES]


def _random_kind(rng: random.Random, palette: Sequence[Colour], progress: float) -> tuple[Shape, Colour]:
    return rng.choices(PART_SHAPES, weights=_shape_weights(progress))[0], rng.choice(palette)


def _composition(rng: random.Random, palette: Sequence[Colour], progress: float) -> list[tuple[Shape, Colour]]:
    count, identical, _ = rng.choices(STEP_COMPOSITIONS, weights=[w for *_, w in STEP_COMPOSITIONS])[0]
    if identical:
        return [_random_kind(rng, palette, progress)] * count
    kinds: list[tuple[Shape, Colour]] = []
    while len(kinds) < count:
        kind = _random_kind(rng, palette, progress)
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def _target(present: language.PresentParts, contacts: dict[int, int], *, prefer_previous: bool) -> tuple[int, str] | None:
    """(index, label) of the target: a support with the most contact that can be named unambiguously,
    or "the previous piece" when that support is the part placed last (preferred if asked, or when
    no name is unambiguous)."""
    if not contacts:
        return None
    most = max(contacts.values())
    best = sorted(i for i, n in contacts.items() if n == most)
    previous = len(present.parts) - 1
    named = [(i, label) for i in best if (label := present.name(i)) is not None]
    if previous in best and (prefer_previous or not named):
        return previous, language.PREVIOUS_PIECE
    return named[0] if named else None


def _place(
    rng: random.Random,
    state: AssemblyState,
    present: language.PresentParts,
    shape: Shape,
    colour: Colour,
    same_step: Sequence[int],
) -> Placement | None:
    """A drop of ``shape`` (or a small fallback shape) whose target an instruction can name and
    that hides none of the parts placed earlier in the same step (``same_step``): the assembly
    image must show every new part."""

    def acceptable(part: Placement) -> bool:
        if _target(present, state_supports(state, part), prefer_previous=True) is None:
            return False
        after = state.with_part(part) if same_step else state
        return all(is_seen(after, i) for i in same_step)

    for candidate in (shape, *FALLBACK_SHAPES):
        part = choose_placement(state, candidate, colour, rng, accept=acceptable)
        if part is not None:
            return part
    return None


def _base(rng: random.Random, palette: Sequence[Colour], steps: int) -> Placement:
    # Longer sessions get larger bases so parts keep finding room low down.
    weights = [(s.short * s.long) ** (steps / 10) for s in BASE_SHAPES]
    shape = rng.choices(BASE_SHAPES, weights=weights)[0]
    along_x = shape.short == shape.long or rng.random() < 0.6
    return Placement(shape, rng.choice(palette), 0, 0, 0, along_x)


def _geometry(
    rng: random.Random, palette: Sequence[Colour], n_steps: int
) -> tuple[tuple[Placement, ...], list[dict[int, int]], list[_Step]]:
    """Placements in build order, each one's supports (index → studs), and the steps that place them."""
    state = AssemblyState.start(_base(rng, palette, n_steps))
    contacts: list[dict[int, int]] = [{}]
    present = language.PresentParts()
    present.add(state.placements[0])
    steps = [_Step(placed=[0])]
    extras = rng.choices(range(len(FIRST_STEP_EXTRAS)), weights=FIRST_STEP_EXTRAS)[0]
    requests = [_random_kind(rng, palette, 0.0) for _ in range(extras)]
    last_eop = steps[0]
    for number in range(n_steps):
        progress = number / max(n_steps - 1, 1)
        if number:
            finds = last_eop.found
            steps.append(_Step())
            roomy = sum(finds.values()) < MAX_FIND_PIECES and len(finds) < MAX_FIND_GROUPS
            steps[-1].has_eop = not (roomy and rng.random() < NO_EOP_SHARE)
            if not steps[-1].has_eop and rng.random() < REPEAT_SHARE:
                repeatable = sorted((k for k in finds if k[0] in PART_SHAPES), key=_kind_key)
                kinds = [rng.choice(repeatable)] if repeatable else []
                requests = kinds * rng.choice((1, 1, 2)) or _composition(rng, palette, progress)
            else:
                requests = _composition(rng, palette, progress)
        step = steps[-1]
        if step.has_eop:
            last_eop = step
        if number == 0:
            last_eop.found[(state.placements[0].shape, state.placements[0].colour)] += 1
        for shape, colour in requests:
            if not step.has_eop and sum(last_eop.found.values()) >= MAX_FIND_PIECES:
                break
            part = _place(rng, state, present, shape, colour, step.placed)
            if part is None:
                continue
            step.placed.append(len(state.placements))
            contacts.append(state_supports(state, part))
            state = state.with_part(part)
            present.add(part)
            last_eop.found[(part.shape, part.colour)] += 1
        if not step.placed:
            steps.pop()
            break
    return state.placements, contacts, steps


def _kind_key(kind: tuple[Shape, Colour]) -> tuple[str, int, int, str]:
    shape, colour = kind
    return shape.kind, shape.short, shape.long, colour.name


def _step_code(rng: random.Random, used: set[str]) -> str:
    """An opaque code like "Step ##E" or "Step #AM", unique within the session."""
    while True:
        letters = rng.choices(string.ascii_uppercase, k=2)
        code = "Step ##" + letters[0] if rng.random() < 0.5 else "Step #" + "".join(letters)
        if code not in used:
            used.add(code)
            return code


def _plan_session(rng: random.Random, name: str, title: str, boundary: Colour | None, n_steps: int) -> SessionPlan:
    palette = _palette(rng, boundary)
    placements, contacts, steps = _geometry(rng, palette, n_steps)
    opener = language.session_opener(title) if rng.random() < OPENER_SHARE else None
    used_codes: set[str] = set()
    hand: Counter[tuple[Shape, Colour]] = Counter()
    present = language.PresentParts()
    found_total: Counter[tuple[Shape, Colour]] = Counter()
    planned: list[StepPlan] = []
    for number, step in enumerate(steps):
        eop_lines: tuple[language.Line, ...] = ()
        groups: tuple[PartGroup, ...] = ()
        if step.has_eop:
            order: dict[tuple[Shape, Colour], int] = {}
            for i in _found_indices(steps, number):
                order.setdefault((placements[i].shape, placements[i].colour), i)
            groups = tuple(PartGroup(s, c, step.found[(s, c)]) for (s, c) in sorted(order, key=order.__getitem__))
            hand, found_total = Counter(step.found), Counter(step.found)
            eop_lines = (language.find_line(groups, opener if number == 0 else None),)
        step_lines = []
        for index in step.placed:
            part = placements[index]
            kind = (part.shape, part.colour)
            det = language.determiner(hand[kind], found_total[kind], found_total[kind] - hand[kind])
            in_hand = [k for k, n in hand.items() if n > 0]
            with_colour = language.needs_colour(part, in_hand) or rng.random() < EXTRA_COLOUR_SHARE
            target, label = None, None
            if index:
                prefer_previous = rng.random() < PREVIOUS_PIECE_SHARE
                chosen = _target(present, contacts[index], prefer_previous=prefer_previous)
                if chosen is None:
                    raise AssertionError(f"{name}: part {index} has no nameable target")  # planner invariant
                target, label = placements[chosen[0]], chosen[1]
            step_lines.append(language.assembly_line(rng, part, det=det, with_colour=with_colour, target=target, target_label=label))
            hand[kind] -= 1
            present.add(part)
        last = number == len(steps) - 1
        code = "" if last and rng.random() < EMPTY_LAST_CODE_SHARE else _step_code(rng, used_codes)
        planned.append(StepPlan(number, code, tuple(step.placed), groups, eop_lines, tuple(step_lines)))
    return SessionPlan(name, title, placements, tuple(planned), boundary)


class _StepLike(Protocol):
    @property
    def placed(self) -> Sequence[int]: ...

    @property
    def has_eop(self) -> bool: ...


def _found_indices(steps: Sequence[_StepLike], number: int) -> list[int]:
    """Parts an eop step's line names: its own and those of the following steps without eop."""
    found = list(steps[number].placed)
    for later in steps[number + 1 :]:
        if later.has_eop:
            break
        found += later.placed
    return found
