"""LEGO colour names: lookup, multicolour splitting, shade-tolerant nearest colour."""

from __future__ import annotations

import numpy as np

from lego_arta.annotate.colours import colour_names, lookup_colour, nearest_colour, to_lab
from lego_arta.source.synth.catalog import COLOURS


def test_every_catalog_colour_is_known_by_its_name() -> None:
    for colour in COLOURS:
        assert lookup_colour(colour.name) == colour.rgb
        assert lookup_colour(colour.name.upper()) == colour.rgb


def test_unknown_names_fall_back_to_their_basic_colour_word_or_none() -> None:
    assert lookup_colour("teal blue") is not None
    assert lookup_colour("dark bluish grey") == lookup_colour("grey")
    assert lookup_colour("sparkly") is None


def test_multicolour_infos_are_split() -> None:
    assert colour_names("white, black and bright orange") == ("white", "black", "bright orange")
    assert colour_names("black and medium stone grey") == ("black", "medium stone grey")
    assert colour_names("transparent red") == ("transparent red",)


def test_shaded_faces_match_their_colour_not_a_neighbour() -> None:
    palette = [lookup_colour(n) for n in ("bright red", "bright blue", "bright yellow", "white", "black")]
    for index, rgb in enumerate(palette):
        assert rgb is not None
        faces = np.array([np.clip(np.array(rgb) * f, 0, 255) for f in (0.6, 0.8, 1.0)], np.float32)
        nearest, _ = nearest_colour(to_lab(faces), palette)  # type: ignore[arg-type]
        assert nearest.tolist() == [index, index, index]


def test_lab_of_no_pixels_is_empty() -> None:
    assert to_lab(np.zeros((0, 3), np.uint8)).shape == (0, 3)
