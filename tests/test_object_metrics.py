"""Object grounding beyond IoU: quadrant accuracy, its position-bias breakdown, the echo rate (issue 11)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.metrics import quadrants
from lego_arta.metrics.entities import echo_rate
from lego_arta.tasks import get_task
from lego_arta.tasks.object import object_answer

#: Tile rectangles of the 0–100 frame, in the collage's quadrant order (row-major).
TILES = {0: (0, 0, 50, 50), 1: (50, 0, 100, 50), 2: (0, 50, 50, 100), 3: (50, 50, 100, 100)}


@st.composite
def box_in_tile(draw, tile: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = TILES[tile]
    cx, cy = draw(st.floats(x0 + 2, x1 - 2)), draw(st.floats(y0 + 2, y1 - 2))
    w = draw(st.floats(1, min(cx - x0, x1 - cx) - 0.5))
    h = draw(st.floats(1, min(cy - y0, y1 - cy) - 0.5))
    return (cx - w, cy - h, cx + w, cy + h)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.lists(st.integers(0, 3), min_size=1, max_size=20))
def test_a_box_inside_a_tile_is_in_that_quadrant(data, truth: list[int]) -> None:
    said = [data.draw(st.integers(0, 3)) for _ in truth]
    answers = [f"<p>x</p>{{<{b[0]:.2f}><{b[1]:.2f}><{b[2]:.2f}><{b[3]:.2f}>}}" for b in (data.draw(box_in_tile(q)) for q in said)]
    assert quadrants.quadrant_acc(answers, truth) == pytest.approx(100 * sum(s == t for s, t in zip(said, truth)) / len(truth))
    for index, name in enumerate(quadrants.QUADRANT_NAMES):
        mine = [s == t for s, t in zip(said, truth) if t == index]
        expected = 100 * sum(mine) / len(mine) if mine else 0.0
        assert quadrants.quadrant_acc_in_stats(index, answers, truth).score() == pytest.approx(expected), name
        assert quadrants.predicted_share_stats(index, answers).score() == pytest.approx(100 * said.count(index) / len(said))


def test_the_centre_box_baseline_is_at_chance_and_its_bias_shows() -> None:
    truth = [0, 1, 2, 3] * 5
    answers = [object_answer("2 red bricks 2x4", (25.0, 25.0, 75.0, 75.0))] * len(truth)
    columns = {
        "entities": [["red", "bricks 2x4"]] * len(truth),
        "box": [(0.0, 0.0, 40.0, 40.0)] * len(truth),
        "quadrant": truth,
        "object": ["2 red bricks 2x4"] * len(truth),
    }
    scores = get_task("object").scores(answers, columns)
    assert (scores["e_acc"], scores["echo_rate"]) == (100.0, 100.0), "an echo maxes E_ACC; the echo rate says so"
    assert scores["quadrant_acc"] == 25.0
    assert [scores[f"quadrant_acc_{q}"] for q in quadrants.QUADRANT_NAMES] == [0.0, 0.0, 0.0, 100.0]
    assert [scores[f"predicted_{q}"] for q in quadrants.QUADRANT_NAMES] == [0.0, 0.0, 0.0, 100.0]


def test_no_box_is_wrong_and_a_bad_quadrant_is_refused() -> None:
    assert quadrants.quadrant_acc(["I cannot see it"], [2]) == 0.0
    with pytest.raises(ValueError, match=r"quadrants\[0\] = 4"):
        quadrants.quadrant_acc(["<1><1><2><2>"], [4])


def test_echo_rate_compares_labels_after_normalisation() -> None:
    assert echo_rate(
        ["<p>1 Bright-Red brick 2x2</p>{<0><0><1><1>}", "<p>1 red brick</p>{<0><0><1><1>}", "1 bright red brick 2x2"],
        ["1 bright red brick 2x2"] * 3,
    ) == pytest.approx(200 / 3)
