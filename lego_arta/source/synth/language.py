"""Tagged instruction text for synthetic manuals, worded like the LEGO Audio & Braille manuals.

A line is a tuple of :data:`~lego_arta.source.synth.model.Segment` ``(entity class or None, text)``;
joined, the texts are the line. Every spatial phrase is defined on the world frame of
:mod:`lego_arta.source.synth.model`, so it can be checked against the placements:

* orientation: ``horizontally`` = long side along x, ``vertically`` = along y, none for square parts;
* position: the part's centre relative to its target's footprint, in thirds: left/centre/right
  along x and front/middle/back along y; ``in the centre`` when both are central;
* target: the supporting part with the most contact, named by shape (plus colour when another part
  of that shape is present), or ``the previous piece`` when it is the part placed just before.

>>> from lego_arta.source.synth.model import Colour, Placement, Shape
>>> red = Colour("bright red", (196, 40, 27))
>>> line_text(find_line([PartGroup(Shape("brick", 2, 4), red, 2)]))
'Find 2 bright red bricks 2x4.'
>>> base = Placement(Shape("plate", 6, 8), red, 0, 0, 0)
>>> position_phrase(Placement(Shape("brick", 2, 4), red, 0, 4, 1), base)
'at the back left'
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from lego_arta.source.synth.model import Colour, PartGroup, Placement, Segment

VERB, DET, COLORINFO, THEME, TARGET, SUFFIX = "verb", "det", "colorinfo", "theme", "target", "suffix"
#: Every entity class a line may tag.
ENTITY_CLASSES: tuple[str, ...] = (VERB, DET, COLORINFO, THEME, TARGET, SUFFIX)

Line = tuple[Segment, ...]
XThird = Literal["left", "centre", "right"]
YThird = Literal["front", "middle", "back"]

#: Assembly verbs and the prepositions that read naturally after them.
VERB_PREPOSITIONS: dict[str, tuple[str, ...]] = {
    "Put": ("on", "on top of"),
    "Place": ("on", "onto"),
    "Attach": ("onto", "on top of"),
    "Add": ("on", "on top of"),
    "Mount": ("on", "onto"),
    "Press": ("onto",),
}
#: How often each verb is drawn: "Put" dominates, as in the real manuals.
VERB_WEIGHTS: dict[str, float] = {"Put": 4.0, "Place": 2.0, "Attach": 1.5, "Add": 1.0, "Mount": 1.0, "Press": 0.5}
#: Verbs for the base part, which goes on the table.
BASE_VERBS: tuple[str, ...] = ("Put", "Place")
#: Target phrase for the part placed immediately before.
PREVIOUS_PIECE = "previous piece"
TABLE = "table"

#: Position phrase for each (x third, y third) of a part's centre on its target.
POSITION_PHRASES: dict[tuple[XThird, YThird], str] = {
    ("left", "front"): "at the front left",
    ("centre", "front"): "at the front",
    ("right", "front"): "at the front right",
    ("left", "middle"): "on the left side",
    ("centre", "middle"): "in the centre",
    ("right", "middle"): "on the right side",
    ("left", "back"): "at the back left",
    ("centre", "back"): "at the back",
    ("right", "back"): "at the back right",
}


def line_text(line: Iterable[Segment]) -> str:
    """The plain text of a tagged line."""
    return "".join(text for _, text in line)


# --- object-finding lines -------------------------------------------------------------------------


def _group_segments(group: PartGroup) -> list[Segment]:
    theme = group.shape.name if group.count == 1 else group.shape.plural
    return [(DET, str(group.count)), (None, " "), (COLORINFO, group.colour.name), (None, " "), (THEME, theme)]


def find_line(groups: Sequence[PartGroup], opener: str | None = None) -> Line:
    """ "Find 2 bright red bricks 2x4." for one group, "Collect the following 3 pieces: 1 …, and 2 …."
    for several; ``opener`` ("Now, we will build the cabin.") is prefixed untagged."""
    if not groups:
        raise ValueError("an object-finding line needs at least one part group")
    if any(group.count < 1 for group in groups):
        raise ValueError(f"part groups need a positive count, got {[g.count for g in groups]}")
    segments: list[Segment] = [(None, f"{opener} ")] if opener else []
    if len(groups) == 1:
        segments += [(VERB, "Find"), (None, " ")] + _group_segments(groups[0])
    else:
        total = sum(group.count for group in groups)
        segments += [(VERB, "Collect"), (None, f" the following {total} pieces: ")]
        for i, group in enumerate(groups):
            if i:
                segments.append((None, ", and " if i == len(groups) - 1 else ", "))
            segments += _group_segments(group)
    segments.append((SUFFIX, "."))
    return tuple(segments)


def session_opener(title: str) -> str:
    """The sentence that announces a sub-assembly, as the real manuals prefix it to a Find line."""
    return f"Now, we will build the {title}."


# --- spatial words --------------------------------------------------------------------------------


def orientation_word(part: Placement) -> str | None:
    """``horizontally`` (long side along x), ``vertically`` (along y), None for square parts."""
    if part.shape.short == part.shape.long:
        return None
    return "horizontally" if part.along_x else "vertically"


def _third(start: int, size: int, ref_start: int, ref_size: int) -> int:
    """-1, 0 or 1: which third of ``[ref_start, ref_start + ref_size)`` the centre of ``[start, start+size)``
    lies in; centres exactly on a third boundary count as central. Integer arithmetic, no rounding."""
    doubled_offset = 2 * (start - ref_start) + size  # 2 x (centre - ref_start)
    if 3 * doubled_offset < 2 * ref_size:
        return -1
    if 3 * doubled_offset > 4 * ref_size:
        return 1
    return 0


def x_third(part: Placement, target: Placement) -> XThird:
    return ("left", "centre", "right")[_third(part.x, part.size_x, target.x, target.size_x) + 1]


def y_third(part: Placement, target: Placement) -> YThird:
    return ("front", "middle", "back")[_third(part.y, part.size_y, target.y, target.size_y) + 1]


def position_phrase(part: Placement, target: Placement) -> str:
    """Where ``part`` sits on ``target``: "at the back left", "on the right side", "in the centre"…"""
    return POSITION_PHRASES[(x_third(part, target), y_third(part, target))]


# --- naming parts ---------------------------------------------------------------------------------


def target_name(index: int, present: Sequence[Placement], *, with_colour: bool = False) -> str | None:
    """The shortest name that singles out ``present[index]`` among ``present``: its shape name, or
    colour + shape when another present part has the same shape; None when even that is ambiguous."""
    part = present[index]
    same_shape = [p for i, p in enumerate(present) if i != index and p.shape == part.shape]
    if any(p.colour == part.colour for p in same_shape):
        return None
    if same_shape or with_colour:
        return f"{part.colour.name} {part.shape.name}"
    return part.shape.name


def target_names(present: Sequence[Placement]) -> list[str | None]:
    """:func:`target_name` of every present part at once (linear time)."""
    shapes = Counter(p.shape for p in present)
    kinds = Counter((p.shape, p.colour) for p in present)
    return [_name_from_counts(p, shapes[p.shape], kinds[(p.shape, p.colour)]) for p in present]


def _name_from_counts(part: Placement, same_shape: int, same_kind: int) -> str | None:
    if same_kind > 1:
        return None
    return part.shape.name if same_shape == 1 else f"{part.colour.name} {part.shape.name}"


class PresentParts:
    """The parts present so far, named as :func:`target_name` would, updated one part at a time
    (the planner asks for names thousands of times per manual)."""

    def __init__(self) -> None:
        self.parts: list[Placement] = []
        self._shapes: Counter[object] = Counter()
        self._kinds: Counter[object] = Counter()

    def add(self, part: Placement) -> None:
        self.parts.append(part)
        self._shapes[part.shape] += 1
        self._kinds[(part.shape, part.colour)] += 1

    def name(self, index: int) -> str | None:
        part = self.parts[index]
        return _name_from_counts(part, self._shapes[part.shape], self._kinds[(part.shape, part.colour)])


def determiner(remaining: int, group_total: int, placed_before: int) -> str:
    """Which of the found parts of one kind is meant.

    ``remaining``: parts of this kind still in hand, this one included; ``group_total``: how many
    the object-finding line named; ``placed_before``: how many of them are already placed.
    "the" (the only one), "1" (first of several), "another", "the other" (last of two), "the last".
    """
    if remaining < 1 or remaining > group_total or placed_before + remaining != group_total:
        raise ValueError(f"inconsistent hand: {remaining} remaining + {placed_before} placed != {group_total} found")
    if remaining > 1:
        return "1" if placed_before == 0 else "another"
    if group_total == 1:
        return "the"
    return "the other" if group_total == 2 else "the last"


def needs_colour(part: Placement, hand: Iterable[tuple[object, Colour]]) -> bool:
    """Whether naming ``part`` by shape is ambiguous: another part in hand has its shape but not its colour."""
    return any(shape == part.shape and colour != part.colour for shape, colour in hand)


def assembly_line(
    rng: random.Random,
    part: Placement,
    *,
    det: str,
    with_colour: bool,
    target: Placement | None,
    target_label: str | None = None,
) -> Line:
    """One assembly sentence: "Put the brick 2x4 horizontally on the plate 6x8, at the back left."

    ``target`` None means the part goes on the table (the base). ``target_label`` is how the target
    is named (from :func:`target_name`, or :data:`PREVIOUS_PIECE`).
    """
    if target is not None and not target_label:
        raise ValueError(f"a part placed on {target.shape.name} needs a target label")
    orientation = orientation_word(part)
    tail = f" {orientation}" if orientation else ""
    verbs = BASE_VERBS if target is None else tuple(VERB_WEIGHTS)
    verb = rng.choices(verbs, weights=[VERB_WEIGHTS[v] for v in verbs])[0]
    segments: list[Segment] = [(VERB, verb), (None, " "), (DET, det), (None, " ")]
    if with_colour:
        segments += [(COLORINFO, part.colour.name), (None, " ")]
    segments.append((THEME, part.shape.name))
    if target is None:
        segments.append((None, f"{tail} on the {TABLE}"))
    else:
        preposition = rng.choice(VERB_PREPOSITIONS[verb])
        segments += [
            (None, f"{tail} {preposition} the "),
            (TARGET, target_label or ""),
            (None, f", {position_phrase(part, target)}"),
        ]
    segments.append((SUFFIX, "."))
    return tuple(segments)


# --- names, introduction and closing --------------------------------------------------------------

SET_PLACES: tuple[str, ...] = (
    "Harbour",
    "Mountain",
    "Desert",
    "Arctic",
    "City",
    "Forest",
    "Space",
    "Ocean",
    "Jungle",
    "Farm",
    "Castle",
    "Rescue",
    "Racing",
    "Garden",
    "Island",
    "Volcano",
    "Village",
    "Canyon",
    "Lakeside",
    "Meadow",
)
SET_THINGS: tuple[str, ...] = (
    "Tugboat",
    "Cabin",
    "Rover",
    "Bakery",
    "Tower",
    "Truck",
    "Station",
    "Bridge",
    "Market",
    "Helicopter",
    "Lighthouse",
    "Workshop",
    "Windmill",
    "Treehouse",
    "Fire Engine",
    "Camper Van",
    "Train",
    "Observatory",
    "Pizzeria",
    "Ice Cream Stand",
    "Post Office",
    "Excavator",
    "Sailboat",
    "Greenhouse",
)
SUB_ASSEMBLIES: tuple[str, ...] = (
    "base",
    "front section",
    "back section",
    "roof",
    "side wall",
    "cabin",
    "deck",
    "tower",
    "chimney",
    "engine",
    "platform",
    "balcony",
    "staircase",
    "garden bed",
    "counter",
    "fence",
    "ramp",
    "lookout",
    "storage rack",
    "workbench",
    "flower box",
    "signpost",
    "bench",
    "trailer",
    "canopy",
    "dock",
)
_BLURBS: tuple[str, ...] = (
    "Get ready to build your very own {lower}! Every piece has its place, and step by step you will see it grow.",
    "The {lower} is the busiest place around: there is always something to build, fix or explore.",
    "Welcome to the {lower}! Build it, play with it, and make up your own stories.",
    "This set lets you create a colourful {lower} with plenty of details to discover.",
    "With this {lower} you can build, rebuild and invent new adventures every day.",
)
_COVERS: tuple[str, ...] = (
    "The box cover shows the finished {lower} in {colours}, standing on a sunny street.",
    "The box cover shows the {lower} in {colours} from the front, with a bright blue sky behind it.",
    "On the box cover, the {lower} is built in {colours} and surrounded by happy Minifigures.",
)
_PRAISES: tuple[str, ...] = ("Fantastic job!", "Well done!", "Great work!", "Awesome!")
_FAREWELLS: tuple[str, ...] = (
    "Now it's time to play with your {lower} and invent your own adventures!",
    "Show your {lower} to your friends and family, and tell them how you built it!",
    "Put your {lower} on a shelf, or take it on a new adventure right away!",
)


def set_name(rng: random.Random) -> str:
    """A fictional set name such as "Harbour Tugboat"."""
    return f"{rng.choice(SET_PLACES)} {rng.choice(SET_THINGS)}"


def slug(name: str) -> str:
    """The manual-id slug of a set name: "Harbour Ice Cream Stand" → "harbour-ice-cream-stand"."""
    return "-".join(name.lower().split())


def session_titles(rng: random.Random, name: str, count: int) -> tuple[str, ...]:
    """``count`` distinct sub-assembly titles; the last builds the set itself ("harbour tugboat")."""
    if count < 1:
        raise ValueError(f"a manual needs at least one session, got {count}")
    parts = rng.sample(SUB_ASSEMBLIES, min(count - 1, len(SUB_ASSEMBLIES)))
    thing = name.split(" ", 1)[1].lower()
    titles = [part if rng.random() < 0.5 else f"{thing} {part}" for part in parts]
    titles += [f"{thing} {SUB_ASSEMBLIES[i % len(SUB_ASSEMBLIES)]} {i}" for i in range(count - 1 - len(parts))]
    return tuple(titles) + (name.lower(),)


def _join_names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def intro_line(rng: random.Random, name: str, bags: int, colours: Sequence[str]) -> Line:
    """The long first-row introduction: set, blurb, box cover, opening the box, what it contains."""
    lower = name.lower()
    shown = _join_names(list(colours[:3]) or ["many colours"])
    bag_text = "1 numbered bag" if bags == 1 else f"{bags} numbered bags"
    text = " ".join(
        [
            f'LEGO Audio & Braille Building Instructions for the set "{name}".',
            rng.choice(_BLURBS).format(lower=lower),
            rng.choice(_COVERS).format(lower=lower, colours=shown),
            "Open the box. This can be tricky; ask someone to help you!",
            f"The box contains 1 booklet with visual building instructions and {bag_text}.",
            "Carefully open all bags. Before you start building, ask a sighted person to help you sort "
            "the pieces by colour. This makes finding the correct pieces even easier!",
        ]
    )
    return ((None, text),)


def closing_lines(rng: random.Random, name: str) -> tuple[Line, ...]:
    """The two closing lines: "You have finished building the entire set! …" and "Enjoy!"."""
    done = f"You have finished building the entire set! {rng.choice(_PRAISES)} " + rng.choice(_FAREWELLS).format(lower=name.lower())
    return (((None, done),), ((None, "Enjoy!"),))
