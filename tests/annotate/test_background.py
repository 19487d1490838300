"""Backdrop estimation: flat and gradient backdrops, the thin frame of real images, RGBA input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lego_arta.annotate.background import as_rgb, background_box, foreground_mask, mask_box, remove_specks
from tests.annotate.drawing import draw_block, gradient_backdrop, parts_backdrop


@settings(max_examples=40, deadline=None)
@given(
    x=st.integers(10, 120),
    y=st.integers(10, 60),
    w=st.integers(3, 60),
    h=st.integers(3, 30),
    grey=st.integers(0, 255),
)
def test_box_of_a_block_on_the_gradient_is_exact(x: int, y: int, w: int, h: int, grey: int) -> None:
    image = gradient_backdrop(100, 200)
    colour = (grey, 255 - grey, 40)
    draw_block(image, (x, y, x + w, y + h), colour)
    assert background_box(image) == (x, y, x + w, y + h)


def test_frame_of_other_colour_is_not_foreground() -> None:
    image = parts_backdrop(80, 160)
    assert not foreground_mask(image).any()
    draw_block(image, (50, 20, 90, 50), (196, 40, 27))
    assert background_box(image) == (50, 20, 90, 50)


def test_rgba_and_grey_inputs_are_accepted() -> None:
    rgb = gradient_backdrop(60, 90)
    draw_block(rgb, (30, 10, 60, 40), (13, 105, 171))
    rgba = np.concatenate([rgb, np.full((60, 90, 1), 255, np.uint8)], axis=2)
    assert background_box(rgba) == background_box(rgb) == (30, 10, 60, 40)
    assert as_rgb(rgb[..., 0]).shape == (60, 90, 3)


def test_empty_image_and_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="no foreground"):
        background_box(gradient_backdrop(50, 50))
    with pytest.raises(ValueError, match="uint8"):
        as_rgb(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        as_rgb(np.zeros((4, 4, 2), np.uint8))


def test_mask_box_is_half_open() -> None:
    mask = np.zeros((10, 10), bool)
    assert mask_box(mask) is None
    mask[2, 3] = True
    assert mask_box(mask) == (3, 2, 4, 3)


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(bool, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)), st.booleans())
def test_mask_box_is_the_half_open_box_of_the_set_pixels(mask: np.ndarray, transposed: bool) -> None:
    """Against the definition (first and one past the last set row and column), on contiguous masks and strided views."""
    mask = mask.T if transposed else mask
    ys, xs = np.nonzero(mask)
    expected = None if not len(xs) else (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    assert mask_box(mask) == expected


@st.composite
def _masks(draw: st.DrawFn) -> np.ndarray:
    """Blocks and scattered specks, so some components are kept and some are not."""
    height, width = draw(st.integers(3, 60)), draw(st.integers(3, 60))
    mask = draw(hnp.arrays(bool, (height, width), elements=st.booleans())) & draw(hnp.arrays(bool, (height, width), elements=st.booleans()))
    for _ in range(draw(st.integers(0, 3))):
        y, x = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
        mask[y : y + draw(st.integers(1, 20)), x : x + draw(st.integers(1, 20))] = True
    return mask


def _kept_by_definition(mask: np.ndarray, min_share: float) -> np.ndarray:
    """Every 8-connected component of at least ``min_share`` of the image, by OpenCV's own areas."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    big = [label for label in range(1, count) if stats[label, cv2.CC_STAT_AREA] >= max(1, int(min_share * mask.size))]
    return np.isin(labels, big)


@settings(max_examples=300, deadline=None)
@given(_masks(), st.sampled_from([5e-5, 0.002, 0.01, 0.05]))
def test_remove_specks_keeps_exactly_the_large_components(mask: np.ndarray, min_share: float) -> None:
    assert np.array_equal(remove_specks(mask, min_share=min_share), _kept_by_definition(mask, min_share))


@settings(max_examples=150, deadline=None)
@given(_masks(), st.integers(0, 255))
def test_background_box_is_the_box_of_the_foreground_mask(mask: np.ndarray, grey: int) -> None:
    """Scattered specks on a flat backdrop: the box is ``mask_box`` of the kept foreground, or an error when none is kept."""
    image = np.full((*mask.shape, 3), grey, np.uint8)
    image[mask] = (grey + 128) % 256
    expected = mask_box(foreground_mask(image))
    if expected is None:
        with pytest.raises(ValueError, match="no foreground"):
            background_box(image)
    else:
        assert background_box(image) == expected
