"""Tagged instruction text: exact wording of object-finding lines, spatial words on hand-made
geometry, determiners and target names, and properties over random inputs."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.source.synth import language
from lego_arta.source.synth.catalog import COLOURS, PART_SHAPES
from lego_arta.source.synth.model import Colour, PartGroup, Placement, Shape

RED = Colour("bright red", (196, 40, 27))
BLUE = Colour("bright blue", (13, 105, 171))
BLACK = Colour("black", (27, 42, 52))
WHITE = Colour("white", (242, 243, 242))
BASE = Placement(Shape("plate", 6, 8), RED, 0, 0, 0, along_x=True)  # x 0..8, y 0..6


def test_find_line_tags_count_colour_and_plural_theme() -> None:
    line = language.find_line([PartGroup(Shape("brick", 2, 4), RED, 2)])
    assert line == (
        ("verb", "Find"),
        (None, " "),
        ("det", "2"),
        (None, " "),
        ("colorinfo", "bright red"),
        (None, " "),
        ("theme", "bricks 2x4"),
        ("suffix", "."),
    )


def test_collect_line_lists_every_group_with_total() -> None:
    groups = [
        PartGroup(Shape("plate", 1, 2), BLACK, 1),
        PartGroup(Shape("brick", 1, 1), WHITE, 1),
        PartGroup(Shape("tile", 1, 4), BLUE, 1),
    ]
    line = language.find_line(groups)
    assert language.line_text(line) == (
        "Collect the following 3 pieces: 1 black plate 1x2, 1 white brick 1x1, and 1 bright blue flat tile 1x4."
    )
    assert [text for cls, text in line if cls == "theme"] == ["plate 1x2", "brick 1x1", "flat tile 1x4"]
    assert [text for cls, text in line if cls == "colorinfo"] == ["black", "white", "bright blue"]
    assert [text for cls, text in line if cls == "det"] == ["1", "1", "1"]
    assert line[0] == ("verb", "Collect")


def test_collect_counts_pieces_not_groups_and_opener_is_untagged() -> None:
    groups = [PartGroup(Shape("plate", 1, 2), BLACK, 3), PartGroup(Shape("brick", 2, 2), WHITE, 2)]
    line = language.find_line(groups, opener="Now, we will build the cabin.")
    assert language.line_text(line) == (
        "Now, we will build the cabin. Collect the following 5 pieces: 3 black plates 1x2, and 2 white bricks 2x2."
    )
    assert line[0] == (None, "Now, we will build the cabin. ")


@pytest.mark.parametrize("groups", [[], [PartGroup(Shape("brick", 1, 1), RED, 0)]])
def test_find_line_rejects_empty_or_zero_groups(groups: list[PartGroup]) -> None:
    with pytest.raises(ValueError):
        language.find_line(groups)


def test_orientation_words() -> None:
    assert language.orientation_word(Placement(Shape("brick", 2, 4), RED, 0, 0, 1, along_x=True)) == "horizontally"
    assert language.orientation_word(Placement(Shape("brick", 2, 4), RED, 0, 0, 1, along_x=False)) == "vertically"
    assert language.orientation_word(Placement(Shape("plate", 2, 2), RED, 0, 0, 1, along_x=False)) is None


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        # brick 2x4 along x at (0,4): centre (2, 5) of an 8x6 base → x 1/4 (left), y 5/6 (back)
        (Placement(Shape("brick", 2, 4), RED, 0, 4, 1, True), "at the back left"),
        # plate 2x2 at (3,2): centre (4, 3) → exactly the middle
        (Placement(Shape("plate", 2, 2), RED, 3, 2, 1, True), "in the centre"),
        # 1x1 at (7,0): centre (7.5, 0.5) → right, front
        (Placement(Shape("brick", 1, 1), RED, 7, 0, 1, True), "at the front right"),
        # 1x2 vertical at (0,2): centre (0.5, 3) → left, middle
        (Placement(Shape("plate", 1, 2), RED, 0, 2, 1, False), "on the left side"),
        # 1x8 along x at (0,5): centre (4, 5.5) → centre, back
        (Placement(Shape("tile", 1, 8), RED, 0, 5, 1, True), "at the back"),
        # 1x2 along x at (2,0): centre x = 3 > 8/3 → centre; y 0.5 → front
        (Placement(Shape("plate", 1, 2), RED, 2, 0, 1, True), "at the front"),
        # 2x2 at (6,2): centre (7, 3) → right, middle
        (Placement(Shape("brick", 2, 2), RED, 6, 2, 1, True), "on the right side"),
    ],
)
def test_position_phrase_on_hand_made_geometry(part: Placement, expected: str) -> None:
    assert language.position_phrase(part, BASE) == expected


def test_centre_on_a_third_boundary_counts_as_central() -> None:
    target = Placement(Shape("plate", 6, 6), RED, 0, 0, 0)
    # 1x2 along x at x=1: centre x = 2 = exactly one third of 6
    part = Placement(Shape("plate", 1, 2), RED, 1, 3, 1, True)
    assert language.x_third(part, target) == "centre"
    # centre x = 4 = exactly two thirds
    part = Placement(Shape("plate", 1, 2), RED, 3, 3, 1, True)
    assert language.x_third(part, target) == "centre"


def test_position_is_relative_to_an_offset_target() -> None:
    target = Placement(Shape("brick", 2, 4), RED, 4, 2, 1, along_x=False)  # x 4..6, y 2..6
    part = Placement(Shape("plate", 1, 1), BLUE, 5, 2, 4)  # centre (5.5, 2.5) → right, front
    assert language.position_phrase(part, target) == "at the front right"


def _reference_third(start: int, size: int, ref_start: int, ref_size: int) -> int:
    u = (Fraction(start) + Fraction(size, 2) - ref_start) / ref_size
    return -1 if u < Fraction(1, 3) else 1 if u > Fraction(2, 3) else 0


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-3, 10),
    st.integers(1, 8),
    st.integers(-3, 10),
    st.integers(1, 10),
)
def test_thirds_agree_with_exact_fractions(start: int, size: int, ref_start: int, ref_size: int) -> None:
    part = Placement(Shape("plate", 1, size), RED, start, 0, 1, along_x=True)
    target = Placement(Shape("plate", 1, ref_size), RED, ref_start, 0, 0, along_x=True)
    expected = ("left", "centre", "right")[_reference_third(start, size, ref_start, ref_size) + 1]
    assert language.x_third(part, target) == expected


@pytest.mark.parametrize(
    ("total", "expected"),
    [(1, ["the"]), (2, ["1", "the other"]), (3, ["1", "another", "the last"]), (4, ["1", "another", "another", "the last"])],
)
def test_determiners_walk_through_a_group(total: int, expected: list[str]) -> None:
    assert [language.determiner(total - k, total, k) for k in range(total)] == expected


def test_determiner_rejects_an_inconsistent_hand() -> None:
    with pytest.raises(ValueError):
        language.determiner(2, 2, 1)
    with pytest.raises(ValueError):
        language.determiner(0, 1, 1)


def test_target_name_adds_colour_only_when_needed_and_refuses_ambiguity() -> None:
    a = Placement(Shape("brick", 2, 4), RED, 0, 0, 1)
    b = Placement(Shape("brick", 2, 4), BLUE, 0, 2, 1)
    c = Placement(Shape("brick", 2, 4), RED, 4, 0, 1)
    assert language.target_name(0, [BASE, a]) == "plate 6x8"
    assert language.target_name(1, [BASE, a]) == "brick 2x4"
    assert language.target_name(1, [BASE, a], with_colour=True) == "bright red brick 2x4"
    assert language.target_name(1, [BASE, a, b]) == "bright red brick 2x4"
    assert language.target_name(1, [BASE, a, b, c]) is None
    assert language.target_name(2, [BASE, a, b, c]) == "bright blue brick 2x4"


_placements = st.builds(
    lambda shape, colour, x, y, along: Placement(shape, colour, x, y, 1, along),
    st.sampled_from(PART_SHAPES[:6] + PART_SHAPES[11:13]),
    st.sampled_from(COLOURS[:4]),
    st.integers(0, 6),
    st.integers(0, 6),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_placements, min_size=1, max_size=12))
def test_bulk_and_incremental_names_match_single_names(parts: list[Placement]) -> None:
    present = language.PresentParts()
    for part in parts:
        present.add(part)
    single = [language.target_name(i, parts) for i in range(len(parts))]
    assert language.target_names(parts) == single
    assert [present.name(i) for i in range(len(parts))] == single
    for i, name in enumerate(single):
        if name is not None:  # a name picks out exactly one part
            matches = [p for p in parts if name in (p.shape.name, f"{p.colour.name} {p.shape.name}")]
            assert matches == [parts[i]]


def test_needs_colour_only_for_same_shape_in_another_colour() -> None:
    part = Placement(Shape("brick", 2, 4), RED, 0, 0, 1)
    assert not language.needs_colour(part, [(Shape("brick", 2, 4), RED), (Shape("plate", 2, 4), BLUE)])
    assert language.needs_colour(part, [(Shape("brick", 2, 4), BLUE)])


def test_base_line_goes_on_the_table_without_target() -> None:
    line = language.assembly_line(random.Random(1), BASE, det="the", with_colour=False, target=None)
    text = language.line_text(line)
    assert text.endswith(" plate 6x8 horizontally on the table.")
    assert text.split()[0] in language.BASE_VERBS
    assert "target" not in {cls for cls, _ in line}


def test_assembly_line_tags_and_reads_like_the_manuals() -> None:
    part = Placement(Shape("brick", 2, 4), BLUE, 0, 4, 1, True)
    line = language.assembly_line(random.Random(3), part, det="the", with_colour=True, target=BASE, target_label="plate 6x8")
    tags = {cls: text for cls, text in line if cls}
    assert tags == {
        "verb": tags["verb"],
        "det": "the",
        "colorinfo": "bright blue",
        "theme": "brick 2x4",
        "target": "plate 6x8",
        "suffix": ".",
    }
    assert tags["verb"] in language.VERB_PREPOSITIONS
    text = language.line_text(line)
    assert text.startswith(f"{tags['verb']} the bright blue brick 2x4 horizontally ")
    assert text.endswith(" the plate 6x8, at the back left.")


def test_assembly_line_needs_a_label_for_its_target() -> None:
    with pytest.raises(ValueError):
        language.assembly_line(random.Random(0), BASE, det="the", with_colour=False, target=BASE)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(PartGroup, st.sampled_from(PART_SHAPES), st.sampled_from(COLOURS), st.integers(1, 4)),
        min_size=1,
        max_size=4,
    ),
    st.one_of(st.none(), st.just("Now, we will build the deck.")),
)
def test_find_lines_concatenate_and_tag_every_group(groups: list[PartGroup], opener: str | None) -> None:
    line = language.find_line(groups, opener)
    assert all(text for _, text in line)
    assert all(cls in language.ENTITY_CLASSES or cls is None for cls, _ in line)
    text = language.line_text(line)
    assert text.endswith(".")
    dets = [int(t) for c, t in line if c == "det"]
    assert dets == [g.count for g in groups]
    assert [t for c, t in line if c == "colorinfo"] == [g.colour.name for g in groups]
    assert [t for c, t in line if c == "theme"] == [g.shape.name if g.count == 1 else g.shape.plural for g in groups]
    body = text.removeprefix(f"{opener} ") if opener else text
    if len(groups) == 1:
        assert body.startswith("Find ")
    else:
        assert body.startswith(f"Collect the following {sum(dets)} pieces: ")


def test_names_intro_and_closing() -> None:
    rng = random.Random(5)
    name = language.set_name(rng)
    assert language.slug("Harbour Ice Cream Stand") == "harbour-ice-cream-stand"
    titles = language.session_titles(rng, name, 7)
    assert len(set(titles)) == 7 and titles[-1] == name.lower()
    intro = language.line_text(language.intro_line(rng, name, 7, ["white", "black"]))
    assert intro.startswith(f'LEGO Audio & Braille Building Instructions for the set "{name}". ')
    assert "Open the box." in intro and "7 numbered bags" in intro and "white and black" in intro
    done, enjoy = (language.line_text(line) for line in language.closing_lines(rng, name))
    assert done.startswith("You have finished building the entire set!")
    assert enjoy == "Enjoy!"
