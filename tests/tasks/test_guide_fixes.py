"""The guide task's fix grammar: a correction generated for a known error parses back to that
error's operation and amount, a paraphrase with the same meaning parses the same, a wrong fix does not."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.palette import COLOURS
from lego_arta.tasks.guide import KIND_HEIGHTS, KIND_NAMES, OPERATIONS, apply_fix, correction, fix_is_right, parse_fix, part_key
from lego_arta.tasks.spec import Part

SIZES = [(1, 1), (1, 2), (1, 3), (1, 4), (1, 6), (1, 8), (2, 2), (2, 3), (2, 4), (2, 6), (2, 8)]
NAMES = [c.name for c in COLOURS]
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def make_part(kind: str, size: tuple[int, int], colour: str, x: int, y: int, z: int, along_x: bool) -> Part:
    short, long = size
    return Part(kind, short, long, colour, x, y, z, along_x, f"{KIND_NAMES[kind]} {short}x{long}", KIND_HEIGHTS[kind])


parts = st.builds(
    make_part,
    st.sampled_from(sorted(KIND_NAMES)),
    st.sampled_from(SIZES),
    st.sampled_from(NAMES),
    st.integers(0, 10),
    st.integers(0, 10),
    st.integers(0, 12),
    st.booleans(),
)
offsets = st.tuples(st.integers(-6, 6), st.integers(-6, 6))


@st.composite
def errors(draw: st.DrawFn) -> tuple[str, Part | None, tuple[Part, ...], list[str]]:
    """A known error: its kind, the wrong part as shown, the true part(s), the step's lines."""
    kind = draw(st.sampled_from(sorted(OPERATIONS)))
    true = draw(parts)
    dx, dy = draw(offsets)
    if kind == "shifted":
        if (dx, dy) == (0, 0):
            dx = draw(st.sampled_from([-2, -1, 1, 3]))
        return kind, replace(true, x=true.x - dx, y=true.y - dy), (true,), []
    if kind == "wrong_layer":
        dz = draw(st.integers(-9, 9).filter(bool))
        return kind, replace(true, x=true.x - dx, y=true.y - dy, z=true.z - dz), (true,), []
    if kind == "rotated":
        if true.short == true.long:
            true = make_part(true.kind, (1, 2), true.colour, true.x, true.y, true.z, true.along_x)
        return kind, replace(true, along_x=not true.along_x, x=true.x - dx, y=true.y - dy), (true,), []
    if kind == "wrong_colour":
        colour = draw(st.sampled_from([n for n in NAMES if n != true.colour]))
        return kind, replace(true, colour=colour), (true,), []
    if kind == "wrong_size":
        size = draw(st.sampled_from([s for s in SIZES if s != (true.short, true.long)]))
        wrong = make_part(true.kind, size, true.colour, true.x - dx, true.y - dy, true.z, draw(st.booleans()))
        return kind, wrong, (true,), []
    placed = (draw(parts), true) if kind == "undo" else (true,)
    lines = [f"Put the {p.colour} {p.name} on the plate 6x8, at the back left." for p in placed]
    if kind == "missing":
        return kind, None, (true,), draw(st.sampled_from([[], lines]))
    return kind, None, placed, lines


@settings(max_examples=300, deadline=None)
@given(errors())
def test_a_generated_correction_parses_back_to_its_operation_and_amount(error: tuple) -> None:
    kind, wrong, true, lines = error
    text = correction(kind, wrong, true, lines)
    fix = parse_fix(text)
    assert fix is not None and fix.operation == OPERATIONS[kind], text
    assert fix_is_right(text, kind, wrong, true), text
    if kind in ("shifted", "wrong_layer"):
        assert (fix.dx, fix.dy) == (true[0].x - wrong.x, true[0].y - wrong.y), text
        assert fix.dz + fix.levels * wrong.height == true[0].z - wrong.z, text
    if kind == "wrong_colour":
        assert fix.colour == true[0].colour
    if kind == "wrong_size":
        assert fix.shape == (true[0].kind, true[0].short, true[0].long)


def _words(match: re.Match[str]) -> str:
    return NUMBER_WORDS.get(int(match.group(1)), match.group(1)) + match.group(2)


#: Rewrites that keep a correction's meaning; each draw applies some of them.
PARAPHRASES: tuple[tuple[str, str], ...] = (
    (r"^Move it ", "Shift the piece "),
    (r"^Move it ", "Slide it "),
    (r"(\d+) (studs?) to the (left|right|front|back)", r"\1 \2 \3"),
    (r"to the front", "towards you"),
    (r"to the back", "away from you"),
    (r"(\d+) (levels?|plates?) (up|down)", r"\3 by \1 \2"),
    (r"^Turn it a quarter turn", "Rotate it by 90 degrees"),
    (r"^Swap it for an? (.*) one\.", r"Use a \1 one instead."),
    (r"^Swap it for", "Exchange it for"),
    (r"^Replace it with", "Swap it for"),
    (r", then ", " and then "),
)


@settings(max_examples=300, deadline=None)
@given(errors(), st.lists(st.sampled_from(range(len(PARAPHRASES))), max_size=4), st.booleans())
def test_a_paraphrase_with_the_same_meaning_parses_the_same(error: tuple, chosen: list[int], words: bool) -> None:
    kind, wrong, true, lines = error
    text = correction(kind, wrong, true, lines)
    said = text
    for index in chosen:
        pattern, replacement = PARAPHRASES[index]
        said = re.sub(pattern, replacement, said)
    if words and kind not in ("missing", "undo"):
        said = re.sub(r"\b(\d+)( (?:studs?|levels?|plates?))", _words, said)
    assert parse_fix(said) == parse_fix(text), (text, said)
    assert fix_is_right(said.upper(), kind, wrong, true), said


def _opposite(text: str) -> str:
    swap = {"left": "right", "right": "left", "front": "back", "back": "front", "up": "down", "down": "up"}
    return re.sub(r"\b(left|right|front|back|up|down)\b", lambda m: swap[m.group(1)], text, count=1)


@settings(max_examples=300, deadline=None)
@given(errors(), st.sampled_from(["direction", "amount", "colour", "size", "operation"]), st.sampled_from(NAMES))
def test_a_wrong_fix_is_not_right(error: tuple, change: str, colour: str) -> None:
    kind, wrong, true, lines = error
    text = correction(kind, wrong, true, lines)
    # An omission's fix names the part; where it goes is turn 2's box, so its words are not checked.
    placed = kind not in ("missing", "undo")
    if change == "direction" and placed and re.search(r"\b(left|right|front|back|up|down)\b", text):
        bad = _opposite(text)
    elif change == "amount" and placed and re.search(r"\b\d+ (studs?|levels?|plates?)", text):
        bad = re.sub(r"\b(\d+) (studs?|levels?|plates?)", lambda m: f"{int(m.group(1)) + 1} {m.group(2)}s", text, count=1)
    elif change == "colour" and colour != true[0].colour and kind in ("wrong_colour", "missing"):
        bad = text.replace(true[0].colour, colour) if true[0].colour in text else f"Add the {colour} {true[0].name}."
    elif change == "size" and kind in ("wrong_size", "missing", "undo"):
        bad = re.sub(r"(\d+)x(\d+)", lambda m: f"{m.group(1)}x{int(m.group(2)) + 1}", text, count=1)
    elif change == "operation":
        bad = {"turn": "Move it 1 stud to the left.", "add": "Turn it a quarter turn."}.get(OPERATIONS[kind], "Add the missing part.")
    else:
        return
    assert not fix_is_right(bad, kind, wrong, true), (text, bad)


@pytest.mark.parametrize(
    "answer",
    ["", "Yes.", "It looks fine to me.", "Move it a bit to the left.", "Move it 1 stud up.", "Replace it.", "The brick 2x4 is red."],
)
def test_answers_that_say_no_fix_parse_to_none(answer: str) -> None:
    assert parse_fix(answer) is None


def test_a_quarter_turn_keeps_the_front_left_corner_and_a_level_is_the_parts_own_height() -> None:
    brick = make_part("brick", (2, 4), "bright red", 3, 2, 6, True)
    turned = apply_fix(parse_fix("Turn it a quarter turn."), brick)
    assert (turned.x, turned.y, turned.size_x, turned.size_y) == (3, 2, 2, 4)
    lowered = apply_fix(parse_fix("Move it 1 level down."), brick)
    assert lowered.z == 3 and part_key(apply_fix(parse_fix("Move it 3 plates down."), brick)) == part_key(lowered)
