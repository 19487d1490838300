"""Decoding image files (:mod:`lego_arta.image`): the project's own PNGs come back as their pixels,
with the mode that lets the file be embedded as it is, and the clock handed in is charged once per file."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lego_arta.image
from lego_arta.image import ImageClock, ImageError, decode_stored
from lego_arta.png import encode_png


def test_doctests() -> None:
    assert doctest.testmod(lego_arta.image).failed == 0


@settings(max_examples=25, deadline=None)
@given(pixels=arrays(np.uint8, st.tuples(st.integers(16, 40), st.integers(16, 40), st.sampled_from([3, 4]))))
def test_an_encoded_png_decodes_to_its_pixels_and_its_mode(tmp_path_factory: pytest.TempPathFactory, pixels: np.ndarray) -> None:
    if pixels.shape[2] == 4:
        pixels[:, :, 3] = 255  # opaque: the manuals' RGBA assembly images
    path = tmp_path_factory.mktemp("png") / "image.png"
    path.write_bytes(encode_png(pixels))
    clock = ImageClock()
    decoded, mode = decode_stored(path, clock)
    assert np.array_equal(decoded, pixels[:, :, :3])
    assert mode == ("RGB" if pixels.shape[2] == 3 else "RGBA")
    assert clock.images == 1 and clock.seconds > 0


def test_a_file_that_fails_is_charged_to_the_clock_too(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot a png")
    clock = ImageClock()
    with pytest.raises(ImageError, match="broken.png"):
        decode_stored(path, clock)
    assert clock.images == 1
