"""Part phrases from tagged lines, and parsing them back (round trip over generated lines)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.annotate.phrases import parse_phrase, part_phrases
from lego_arta.parse.page import Entity, TextLine
from lego_arta.source.synth.catalog import COLOURS, PART_SHAPES
from lego_arta.source.synth.language import find_line, line_text
from lego_arta.source.synth.model import PartGroup


def _text_line(segments: tuple) -> TextLine:
    return TextLine(line_text(segments), tuple(Entity(cls, text) for cls, text in segments if cls))


groups = st.builds(PartGroup, st.sampled_from(PART_SHAPES), st.sampled_from(COLOURS), st.integers(1, 9))


@settings(max_examples=60, deadline=None)
@given(st.lists(groups, min_size=1, max_size=4))
def test_generated_find_lines_round_trip(part_groups: list[PartGroup]) -> None:
    phrases = part_phrases(_text_line(find_line(part_groups)))
    assert len(phrases) == len(part_groups)
    for phrase, group in zip(phrases, part_groups, strict=True):
        parsed = parse_phrase(phrase)
        assert parsed.count == group.count
        assert parsed.colours == (group.colour.name,)
        assert parsed.theme == (group.shape.name if group.count == 1 else group.shape.plural)
        assert parsed.footprint == (group.shape.short, group.shape.long)


def test_groups_without_a_theme_or_broken_by_other_entities_are_not_phrases() -> None:
    line = TextLine(
        "Put 2 of them on the plate.",
        (Entity("verb", "Put"), Entity("det", "2"), Entity("target", "plate"), Entity("suffix", ".")),
    )
    assert part_phrases(line) == []


def test_real_style_phrases_parse() -> None:
    body = parse_phrase("1 white, black and bright orange upper part of the body")
    assert body.colours == ("white", "black", "bright orange")
    assert body.theme == "upper part of the body"
    assert body.footprint is None
    wheel = parse_phrase("1 black and medium stone grey small steering wheel with plate 1x2")
    assert wheel.colours == ("black", "medium stone grey") and wheel.footprint == (1, 2)
    assert parse_phrase("1 teal blue puffer jacket").colours == ("teal blue",)
    assert parse_phrase("1 small steering wheel").colours == ()
