"""Object answers by collage quadrant: is the predicted box in the right tile, and where do boxes go?

An object query shows a 2x2 collage with the named parts in one tile (quadrant ``0`` top-left,
``1`` top-right, ``2`` bottom-left, ``3`` bottom-right; each object is asked once per quadrant).
IoU mixes finding the right tile with drawing a tight box; **quadrant accuracy** asks only the
first: whether the centre of the answer's first box (:func:`lego_arta.metrics.boxes.first_box`)
lies in the true quadrant. An answer without a box is wrong. A model (or a baseline) that always
points at one place scores 25 and shows it in the **position-bias breakdown**: accuracy per true
quadrant (``quadrant_acc_tl`` …) and the share of answers whose box lands in each quadrant
(``predicted_tl`` …; the rest held no box). The centre box ``<25><25><75><75>`` has its centre on
the cross-hair (50, 50), which counts as bottom-right (``x >= 50``, ``y >= 50``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lego_arta.answers import BoxFrame
from lego_arta.metrics.bootstrap import SampleStats, mean_stats, ratio
from lego_arta.metrics.boxes import answer_frames, first_box
from lego_arta.metrics.text import check_same_length

#: Quadrant names in index order (row-major, as the collage places tiles).
QUADRANT_NAMES: tuple[str, ...] = ("tl", "tr", "bl", "br")
#: The frame's middle: x and y at or beyond it are the right and bottom halves.
MIDDLE = 50.0


def box_quadrant(box: Sequence[float]) -> int:
    """The quadrant holding a box's centre.

    >>> box_quadrant((10, 60, 30, 80)), box_quadrant((25, 25, 75, 75))
    (2, 3)
    """
    x1, y1, x2, y2 = box
    return 2 * int((y1 + y2) / 2 >= MIDDLE) + int((x1 + x2) / 2 >= MIDDLE)


def predicted_quadrants(answers: Sequence[str], frames: Sequence[BoxFrame] | None = None) -> list[int | None]:
    """The quadrant of each answer's first box (read in its ``frames``, else ``auto``); ``None`` without a box."""
    pairs = zip(answers, answer_frames(answers, frames))
    return [None if (box := first_box(answer, frame)) is None else box_quadrant(box) for answer, frame in pairs]


def _true(quadrants: Sequence[int]) -> list[int]:
    found = []
    for i, quadrant in enumerate(quadrants):
        if isinstance(quadrant, bool) or quadrant not in range(len(QUADRANT_NAMES)):
            raise ValueError(f"quadrants[{i}] = {quadrant!r}: expected 0..{len(QUADRANT_NAMES) - 1}")
        found.append(int(quadrant))
    return found


def quadrant_hits(answers: Sequence[str], quadrants: Sequence[int], frames: Sequence[BoxFrame] | None = None) -> list[bool]:
    """Per answer: whether its box centre is in the true quadrant."""
    check_same_length(answers, quadrants, "quadrants")
    return [p == t for p, t in zip(predicted_quadrants(answers, frames), _true(quadrants))]


def quadrant_acc_stats(answers: Sequence[str], quadrants: Sequence[int], frames: Sequence[BoxFrame] | None = None) -> SampleStats:
    """Bootstrap statistics of quadrant accuracy."""
    return mean_stats([100.0 * hit for hit in quadrant_hits(answers, quadrants, frames)])


def quadrant_acc(answers: Sequence[str], quadrants: Sequence[int], frames: Sequence[BoxFrame] | None = None) -> float:
    """Share of answers whose box centre lies in the true quadrant, in percent.

    >>> quadrant_acc(["<p>a</p>{<60><10><90><40>}", "<p>a</p>{<60><10><90><40>}", "none", "<10><60><20><70>"], [1, 0, 1, 2])
    50.0
    """
    return quadrant_acc_stats(answers, quadrants, frames).score()


def quadrant_acc_in_stats(
    quadrant: int, answers: Sequence[str], quadrants: Sequence[int], frames: Sequence[BoxFrame] | None = None
) -> SampleStats:
    """Bootstrap statistics of the accuracy over the rows whose true quadrant is ``quadrant``."""
    hits = quadrant_hits(answers, quadrants, frames)
    mine = np.array([t == quadrant for t in _true(quadrants)], dtype=np.float64)
    return SampleStats(np.column_stack([mine * np.asarray(hits, dtype=np.float64), mine]), lambda s: ratio(s[0], s[1]))


def predicted_share_stats(quadrant: int, answers: Sequence[str], frames: Sequence[BoxFrame] | None = None) -> SampleStats:
    """Bootstrap statistics of the share of answers whose box lands in ``quadrant``.

    >>> predicted_share_stats(3, ["<p>a</p>{<25><25><75><75>}", "none"]).score()
    50.0
    """
    return mean_stats([100.0 * (p == quadrant) for p in predicted_quadrants(answers, frames)])
