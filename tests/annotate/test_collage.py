"""2x2 collages: each image in its quadrant, and the target box mapped into the 0–100 frame exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.annotate.collage import box_to_frame, make_collage, quadrant_rect


def _images(height: int, width: int) -> list[np.ndarray]:
    rng = np.random.default_rng(height * 1000 + width)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(4)]


@settings(max_examples=60, deadline=None)
@given(
    target=st.integers(0, 3),
    src=st.tuples(st.integers(8, 90), st.integers(8, 60)),
    size=st.tuples(st.integers(4, 200), st.integers(4, 120)),
    corners=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
)
def test_box_lands_in_its_quadrant_and_maps_back(target: int, src: tuple, size: tuple, corners: tuple) -> None:
    width, height = src
    a, b, c, d = corners
    box = (min(a, c) * width, min(b, d) * height, max(a, c) * width, max(b, d) * height)
    collage = make_collage(_images(height, width), target, box, size=size)
    assert collage.image.shape == (size[1], size[0], 3)
    x, y, w, h = quadrant_rect(target, size)
    x1, y1, x2, y2 = (v * s / 100.0 for v, s in zip(collage.box, (size[0], size[1]) * 2, strict=True))
    assert x - 1e-6 <= x1 <= x2 <= x + w + 1e-6
    assert y - 1e-6 <= y1 <= y2 <= y + h + 1e-6
    back = ((x1 - x) * width / w, (y1 - y) * height / h, (x2 - x) * width / w, (y2 - y) * height / h)
    assert back == pytest.approx(box, abs=1e-6)


@pytest.mark.parametrize("size", [(200, 100), (201, 99)])
def test_quadrants_hold_the_resized_images(size: tuple[int, int]) -> None:
    images = _images(37, 53)
    images[1] = np.full((37, 53, 3), (10, 200, 30), np.uint8)
    collage = make_collage(images, 2, (0, 0, 53, 37), size=size)
    rects = [quadrant_rect(q, size) for q in range(4)]
    assert sum(w * h for _, _, w, h in rects) == size[0] * size[1]
    for quadrant, (x, y, w, h) in enumerate(rects):
        expected = cv2.resize(images[quadrant], (w, h), interpolation=cv2.INTER_AREA)
        assert np.array_equal(collage.image[y : y + h, x : x + w], expected)
    x, y, w, h = rects[1]
    assert (collage.image[y : y + h, x : x + w] == (10, 200, 30)).all()
    x, y, w, h = rects[2]
    assert collage.box == pytest.approx(box_to_frame((x, y, x + w, y + h), *size))


def test_bad_arguments_are_rejected() -> None:
    images = _images(10, 10)
    with pytest.raises(ValueError, match="exactly 4"):
        make_collage(images[:3], 0, (0, 0, 1, 1), size=(20, 20))
    with pytest.raises(ValueError, match="quadrant"):
        make_collage(images, 4, (0, 0, 1, 1), size=(20, 20))
    with pytest.raises(ValueError, match="positive"):
        box_to_frame((0, 0, 1, 1), 0, 10)
