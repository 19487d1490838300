"""Box types and the union of boxes (provisional; see the layout change)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def union_box(boxes: Iterable[Sequence[float]]) -> tuple[float, float, float, float]:
    """The smallest box holding every box: ``union_box([(0, 0, 2, 2), (1, 1, 3, 4)]) == (0, 0, 3, 4)``."""
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
