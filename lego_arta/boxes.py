"""Box types by unit, and the union of boxes: one vocabulary for every layer that handles boxes.

Boxes are ``(x1, y1, x2, y2)`` tuples in one of two units, and mixing them up is the bug to
prevent, so each unit has its own name:

* :data:`PixelBox`: pixels of one image, half-open (``x2``/``y2`` one past the last pixel), as
  the renderer, the truth files and the grounders give them;
* :data:`FrameBox`: the benchmark's 0–100 frame of the image, as queries, answers, metrics and
  baselines speak (``annotate.collage.box_to_frame`` turns a pixel box into one).

Both are plain tuples (so they serialise as they are); the names document the unit. The union of
several boxes (a phrase naming "2 red bricks" covers both) is the same in either unit:

>>> union_box([(10.0, 20.0, 30.0, 40.0), (5.0, 25.0, 20.0, 50.0)])
(5.0, 20.0, 30.0, 50.0)
"""

from __future__ import annotations

from collections.abc import Iterable

#: ``(x1, y1, x2, y2)`` in the benchmark's 0–100 frame of the image.
FrameBox = tuple[float, float, float, float]
#: ``(x1, y1, x2, y2)`` in pixels, half-open; float because detectors and resizing give sub-pixel
#: coordinates (the renderer's exact boxes are whole numbers, which are pixel boxes too).
PixelBox = tuple[float, float, float, float]


def union_box(boxes: Iterable[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    """The smallest box holding every box given, in their (shared) unit; a ValueError for none."""
    listed = list(boxes)
    if not listed:
        raise ValueError("union_box needs at least one box")
    return (
        min(b[0] for b in listed),
        min(b[1] for b in listed),
        max(b[2] for b in listed),
        max(b[3] for b in listed),
    )
