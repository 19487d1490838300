"""The LEGO colours by official name: a fact about LEGO, shared by the generator and the annotators.

The synthetic generator (``source.synth``) paints parts in these colours and writes their names
into the text; the annotators (``annotate.colours``) find parts in crawled manuals by the same
names. Neither layer may import the other's palette (``source`` sits below ``annotate``, and
annotating a crawled manual must not depend on the generator), so the palette lives at the bottom
of the package, beside :mod:`lego_arta.atomic`.

>>> next(colour.rgb for colour in COLOURS if colour.name == "bright red")
(196, 40, 27)
>>> sum(colour.transparent for colour in COLOURS)
4
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Colour:
    """A LEGO colour by its official name, with the RGB the renderer paints it in."""

    name: str
    rgb: tuple[int, int, int]
    transparent: bool = False


#: Official LEGO colour names with the RGB the renderer paints them in.
COLOURS: tuple[Colour, ...] = (
    Colour("white", (242, 243, 242)),
    Colour("black", (27, 42, 52)),
    Colour("bright red", (196, 40, 27)),
    Colour("bright blue", (13, 105, 171)),
    Colour("bright yellow", (245, 205, 47)),
    Colour("dark green", (40, 127, 70)),
    Colour("bright green", (75, 151, 74)),
    Colour("medium stone grey", (163, 162, 164)),
    Colour("dark stone grey", (99, 95, 97)),
    Colour("reddish brown", (105, 64, 39)),
    Colour("bright orange", (218, 133, 64)),
    Colour("sand yellow", (149, 138, 115)),
    Colour("brick yellow", (215, 197, 153)),
    Colour("bright yellowish green", (164, 189, 70)),
    Colour("medium azur", (54, 174, 191)),
    Colour("dark azur", (7, 139, 201)),
    Colour("bright purple", (200, 112, 160)),
    Colour("light purple", (228, 173, 200)),
    Colour("earth blue", (10, 52, 99)),
    Colour("dark orange", (160, 95, 52)),
    Colour("nougat", (204, 142, 104)),
    Colour("medium blue", (110, 153, 201)),
    Colour("sand green", (120, 144, 129)),
    Colour("sand blue", (116, 134, 156)),
    Colour("bright reddish violet", (146, 57, 120)),
    Colour("new dark red", (123, 46, 47)),
    Colour("flame yellowish orange", (248, 187, 61)),
    Colour("cool yellow", (255, 240, 150)),
    Colour("transparent red", (205, 84, 75), transparent=True),
    Colour("transparent light blue", (193, 223, 240), transparent=True),
    Colour("transparent yellow", (247, 241, 141), transparent=True),
    Colour("transparent green", (132, 182, 141), transparent=True),
)
