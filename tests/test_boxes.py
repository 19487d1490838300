"""One union of boxes for every layer: the smallest box holding them all, in their shared unit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.boxes import union_box

coordinate = st.floats(0, 1000, allow_nan=False)
corners = st.tuples(coordinate, coordinate, coordinate, coordinate)
boxes = st.lists(corners.map(lambda b: (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3]))), min_size=1, max_size=6)


def test_one_box_is_its_own_union() -> None:
    assert union_box([(1.0, 2.0, 3.0, 4.0)]) == (1.0, 2.0, 3.0, 4.0)


@given(boxes)
def test_the_union_holds_every_box_and_is_made_of_their_sides(given_boxes: list[tuple[float, float, float, float]]) -> None:
    x1, y1, x2, y2 = union_box(iter(given_boxes))
    assert all(x1 <= b[0] and y1 <= b[1] and b[2] <= x2 and b[3] <= y2 for b in given_boxes)
    assert {x1, y1, x2, y2} <= {value for b in given_boxes for value in b}


def test_no_boxes_is_an_error_not_a_box() -> None:
    with pytest.raises(ValueError, match="at least one box"):
        union_box([])
