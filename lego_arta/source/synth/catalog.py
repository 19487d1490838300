"""What synthetic manuals are built from: LEGO colours, part shapes, and highlight ("boundary") colours.

Colour names are the official LEGO names the Audio & Braille manuals use ("bright red", "medium stone
grey"), so the text reads like the real data; they are :data:`lego_arta.palette.COLOURS`, shared with
the annotators. Highlight colours outline the parts added in an assembly image; the state task
recovers them from pixels (K-means, then HSV filtering for saturated colours), so a highlight must
never share its hue with a part colour of the same session:

>>> import random
>>> boundary = pick_boundary_colour(random.Random(0), avoid=[colour_by_name("bright red")])
>>> is_distinguishable(boundary, colour_by_name("bright red"))
True
"""

from __future__ import annotations

import colorsys
import random
from collections.abc import Iterable, Sequence

from lego_arta.palette import COLOURS
from lego_arta.source.synth.model import Colour, Shape

#: Footprints (short x long, in studs) of the parts placed on a base.
PART_SIZES: tuple[tuple[int, int], ...] = (
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 6),
    (1, 8),
    (2, 2),
    (2, 3),
    (2, 4),
    (2, 6),
    (2, 8),
)
#: Flat tiles exist in fewer sizes than bricks and plates.
TILE_SIZES: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (1, 3), (1, 4), (1, 6), (1, 8), (2, 2), (2, 4))

PART_SHAPES: tuple[Shape, ...] = (
    tuple(Shape("brick", short, long) for short, long in PART_SIZES)
    + tuple(Shape("plate", short, long) for short, long in PART_SIZES)
    + tuple(Shape("tile", short, long) for short, long in TILE_SIZES)
)
#: Larger plates a session starts from, "on the table"; none of them is also a part shape, so the
#: base can always be named unambiguously by its shape alone.
BASE_SHAPES: tuple[Shape, ...] = (
    Shape("plate", 4, 6),
    Shape("plate", 6, 6),
    Shape("plate", 6, 8),
    Shape("plate", 6, 10),
    Shape("plate", 8, 8),
)

#: Base highlight hues (degrees) with a name; each session's highlight jitters one of them.
BOUNDARY_HUES: tuple[tuple[str, float], ...] = (
    ("red", 0.0),
    ("vermilion", 15.0),
    ("orange", 30.0),
    ("amber", 45.0),
    ("yellow", 60.0),
    ("lemon", 72.0),
    ("chartreuse", 90.0),
    ("lime", 105.0),
    ("green", 120.0),
    ("spring green", 140.0),
    ("mint", 155.0),
    ("aquamarine", 165.0),
    ("turquoise", 175.0),
    ("cyan", 185.0),
    ("sky", 200.0),
    ("azure", 212.0),
    ("cobalt", 225.0),
    ("blue", 240.0),
    ("indigo", 255.0),
    ("violet", 270.0),
    ("purple", 285.0),
    ("magenta", 300.0),
    ("fuchsia", 315.0),
    ("rose", 330.0),
    ("crimson", 345.0),
)
#: Deterministic hue jitter of a highlight around its base hue (degrees), so sessions differ.
BOUNDARY_HUE_JITTER = 6.0
#: Highlights are fully bright and strongly saturated; part colours are never this vivid.
BOUNDARY_SATURATION = (0.85, 1.0)
BOUNDARY_VALUE = 1.0
#: A part colour counts as chromatic (has a hue worth avoiding) above these HSV levels.
CHROMATIC_MIN_SATURATION = 0.18
CHROMATIC_MIN_VALUE = 0.25
#: Minimum hue distance between a highlight and any chromatic part colour of its session.
MIN_PART_HUE_GAP = 40.0
#: Minimum hue distance between the highlights of two sessions of one manual.
MIN_BOUNDARY_HUE_GAP = 22.0

_BY_NAME = {colour.name: colour for colour in COLOURS}


class NoBoundaryColour(ValueError):
    """No highlight hue is far enough from the colours to avoid."""


def colour_by_name(name: str) -> Colour:
    """The catalog colour with this official name; a clear error for unknown names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown LEGO colour {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None


def hsv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """(hue in degrees, saturation, value) of an 8-bit RGB triple."""
    h, s, v = colorsys.rgb_to_hsv(*(channel / 255 for channel in rgb))
    return h * 360.0, s, v


def hue_of(colour: Colour) -> float | None:
    """Hue in degrees of a chromatic colour; None for greys, white, black and pale tints."""
    h, s, v = hsv(colour.rgb)
    if s < CHROMATIC_MIN_SATURATION or v < CHROMATIC_MIN_VALUE:
        return None
    return h


def hue_distance(a: float, b: float) -> float:
    """Distance of two hues on the colour wheel, 0–180 degrees."""
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def is_distinguishable(boundary: Colour, part: Colour) -> bool:
    """Whether a highlight cannot be confused with a part colour (different hue, or an achromatic part)."""
    part_hue, boundary_hue = hue_of(part), hue_of(boundary)
    return part_hue is None or boundary_hue is None or hue_distance(part_hue, boundary_hue) >= MIN_PART_HUE_GAP


def colours_compatible_with(boundary: Colour | None, colours: Iterable[Colour] = COLOURS) -> tuple[Colour, ...]:
    """The part colours a session highlighted in ``boundary`` may use (all of them when None)."""
    return tuple(c for c in colours if boundary is None or is_distinguishable(boundary, c))


def _boundary_from_hue(name: str, hue: float, saturation: float) -> Colour:
    r, g, b = colorsys.hsv_to_rgb((hue % 360.0) / 360.0, saturation, BOUNDARY_VALUE)
    return Colour(name, (round(r * 255), round(g * 255), round(b * 255)))


def pick_boundary_colour(
    rng: random.Random,
    *,
    avoid: Sequence[Colour] = (),
    taken: Sequence[Colour] = (),
) -> Colour:
    """A saturated highlight colour whose hue is far from every chromatic colour in ``avoid`` (the
    session's part colours) and from every highlight in ``taken`` (other sessions of the manual).

    When no hue keeps :data:`MIN_BOUNDARY_HUE_GAP` from ``taken``, the hue farthest from them is used;
    raises :class:`NoBoundaryColour` only when no hue keeps :data:`MIN_PART_HUE_GAP` from ``avoid``.
    """
    avoid_hues = [h for h in (hue_of(c) for c in avoid) if h is not None]
    taken_hues = [hsv(c.rgb)[0] for c in taken]
    candidates = []
    for name, base in BOUNDARY_HUES:
        jitter = rng.uniform(-BOUNDARY_HUE_JITTER, BOUNDARY_HUE_JITTER)
        colour = _boundary_from_hue(name, base + jitter, rng.uniform(*BOUNDARY_SATURATION))
        hue = hsv(colour.rgb)[0]
        if all(hue_distance(hue, h) >= MIN_PART_HUE_GAP for h in avoid_hues):
            spread = min((hue_distance(hue, h) for h in taken_hues), default=180.0)
            candidates.append((colour, spread))
    roomy = [colour for colour, spread in candidates if spread >= MIN_BOUNDARY_HUE_GAP]
    if roomy:
        return rng.choice(roomy)
    if candidates:
        return max(candidates, key=lambda item: item[1])[0]
    raise NoBoundaryColour(f"no highlight hue is {MIN_PART_HUE_GAP}° from every part colour in {[c.name for c in avoid]}")
