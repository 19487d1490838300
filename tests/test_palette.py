"""The shared LEGO palette: one source for the generator and the annotators."""

from __future__ import annotations

from lego_arta.annotate.colours import LEGO_COLOURS
from lego_arta.palette import COLOURS
from lego_arta.source.synth import catalog


def test_generator_and_annotators_read_the_same_palette() -> None:
    assert catalog.COLOURS is COLOURS
    assert all(LEGO_COLOURS[colour.name] == colour.rgb for colour in COLOURS)
    assert len({colour.name for colour in COLOURS}) == len(COLOURS), "names must be unique"
