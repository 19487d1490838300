"""Answer parsers: the formats real models emit, the documented rules, and total behaviour."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.answers import parse_boxes, parse_object_label, parse_yes_no

# --- boxes: formats from the spec and from MiniGPT-v2 / Qwen-VL outputs ------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>1 light purple brick</p>{<57><15><82><35>}", [("1 light purple brick", (57, 15, 82, 35))]),
        ("<p>obj</p> {<57><15><82><35>}", [("obj", (57, 15, 82, 35))]),
        ("<p>1 light purple brick</p><57><15><82><35>", [("1 light purple brick", (57, 15, 82, 35))]),
        ("<20><61><30><78>", [(None, (20, 61, 30, 78))]),
        ("{ <20> <61> <30> <78> }", [(None, (20, 61, 30, 78))]),
        ("The brick is at <p>brick</p>{<10><20><30><40>}.", [("brick", (10, 20, 30, 40))]),
        (
            "<p>tile</p> {<25><12><70><99><delim><70><16><99><100>}",
            [("tile", (25, 12, 70, 99)), ("tile", (70, 16, 99, 100))],
        ),
        ("<p>a</p>{<1><2><3><4>}<delim>{<5><6><7><8>}", [("a", (1, 2, 3, 4)), ("a", (5, 6, 7, 8))]),
        (
            "<p>red brick</p>{<1><2><3><4>} and <p>blue plate</p>{<5><6><7><8>}",
            [("red brick", (1, 2, 3, 4)), ("blue plate", (5, 6, 7, 8))],
        ),
        ("<p>a</p>{<1><2><3><4>} and {<5><6><7><8>}", [("a", (1, 2, 3, 4)), (None, (5, 6, 7, 8))]),
        ("[0.2, 0.61, 0.3, 0.78]", [(None, (20, 61, 30, 78))]),
        ("[20, 61, 30, 78]", [(None, (20, 61, 30, 78))]),
        ("(20, 61, 30, 78)", [(None, (20, 61, 30, 78))]),
        ("<p>brick</p>: [20, 61, 30, 78]", [("brick", (20, 61, 30, 78))]),
        ("[0, 0, 1, 1]", [(None, (0, 0, 1, 1))]),
        ("[0.0, 0.0, 1.0, 1.0]", [(None, (0, 0, 100, 100))]),
        ("<ref>brick</ref><box>(200,610),(300,780)</box>", [("brick", (20, 61, 30, 78))]),
        (
            "<|object_ref_start|>brick<|object_ref_end|><|box_start|>(200,610),(300,780)<|box_end|>",
            [("brick", (20, 61, 30, 78))],
        ),
    ],
)
def test_parse_boxes_reads_model_formats(text: str, expected: list) -> None:
    found = parse_boxes(text)
    assert [label for label, _ in found] == [label for label, _ in expected]
    for (_, box), (_, want) in zip(found, expected):
        assert box == pytest.approx(want)
    assert len(found) == len(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<-5><10><120><60>", [(0, 10, 100, 60)]),  # clipped to the frame
        ("<30><78><20><61>", [(20, 61, 30, 78)]),  # swapped corners are ordered
        ("[1.5, 0.2, 0.4, 0.9]", [(0.4, 0.2, 1.5, 0.9)]),  # not all <= 1: 0-100 frame, then ordered
        ("<120><130><150><160>", []),  # wholly outside: no area after clipping
        ("<20><61><20><78>", []),  # zero width
        ("<57><15><82>", []),  # truncated answer
        ("[20, 61, 30]", []),
        ("[1, 2, 3, 4, 5]", []),  # not a box
        ("", []),
        ("no box here, sorry", []),
        ("<p>brick</p>", []),
    ],
)
def test_parse_boxes_rules(text: str, expected: list) -> None:
    assert [box for _, box in parse_boxes(text)] == [pytest.approx(box) for box in expected]


def test_parse_boxes_ignores_non_strings() -> None:
    assert parse_boxes(None) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("<p>1 light purple brick</p>{<57><15><82><35>}", "1 light purple brick"),
        ("Here: <p> red tile </p> and <p>blue</p>", "red tile"),
        ("<ref>brick</ref><box>(1,2),(3,4)</box>", "brick"),
        ("a red brick", "a red brick"),
        ("red brick {<1><2><30><40>}", "red brick"),
        ("red brick at [10, 20, 30, 40] maybe", "red brick at maybe"),
        ("", ""),
    ],
)
def test_parse_object_label(text: str, label: str) -> None:
    assert parse_object_label(text) == label


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Yes.", True),
        ("yes", True),
        ("YES!", True),
        ("No, it is not.", False),
        ("no", False),
        ("The answer is yes", True),
        ("The answer is no.", False),
        ("Yes! The red brick sits on the left.", True),
        ("Yes, there is no gap.", True),
        ("No. Yes would be wrong.", False),
        ("ASSISTANT: Yes", True),
        ("  \n\nNo", False),
        ("Nope.", False),
        ("yeah", True),
        ("yes and no", None),
        ("Yes or No?", None),
        ("yes/no", None),
        ("There is no gap, so yes.", None),
        ("maybe", None),
        ("It is not correct.", False),  # issue 23: a judgement word without yes/no decides
        ("I don't know", None),
        ("Eyes and nose", None),
        ("", None),
    ],
)
def test_parse_yes_no_rule(text: str, verdict: bool | None) -> None:
    assert parse_yes_no(text) is verdict


# --- properties ---------------------------------------------------------------------------------

#: Fragments that steer generated text into the parser's interesting states.
_FRAGMENTS = st.sampled_from(
    [
        "<",
        ">",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ",",
        ".",
        "-",
        "+",
        " ",
        "<p>",
        "</p>",
        "<delim>",
        "<box>",
        "</box>",
        "<ref>",
        "</ref>",
        "and",
        "0",
        "1",
        "57",
        "100",
        "250",
        "0.5",
        "1e9",
        "99999999999999999999",
    ]
)
_BOX_ISH = st.lists(st.one_of(_FRAGMENTS, st.integers(-300, 1300).map(str)), max_size=60).map("".join)


def _assert_well_formed(found: list) -> None:
    for label, (x1, y1, x2, y2) in found:
        assert label is None or isinstance(label, str)
        assert all(0.0 <= v <= 100.0 for v in (x1, y1, x2, y2))
        assert x1 < x2 and y1 < y2


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _BOX_ISH))
def test_parse_boxes_is_total_and_in_frame(text: str) -> None:
    _assert_well_formed(parse_boxes(text))
    assert isinstance(parse_object_label(text), str)


@st.composite
def _boxes(draw: st.DrawFn) -> tuple[int, int, int, int]:
    x1, x2 = sorted(draw(st.lists(st.integers(0, 100), min_size=2, max_size=2, unique=True)))
    y1, y2 = sorted(draw(st.lists(st.integers(0, 100), min_size=2, max_size=2, unique=True)))
    return (x1, y1, x2, y2)


_LABELS = st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=20).filter(str.strip)


def _angle(b: tuple[int, ...]) -> str:
    return "".join(f"<{v}>" for v in b)


#: One writer per supported notation: (boxes, label) -> answer text, and whether the label survives.
_WRITERS = {
    "minigpt": (lambda bs, lab: " and ".join(f"<p>{lab}</p>{{{_angle(b)}}}" for b in bs), True),
    "minigpt_space": (lambda bs, lab: " ".join(f"<p>{lab}</p> {{{_angle(b)}}}" for b in bs), True),
    "no_braces": (lambda bs, lab: " and ".join(f"<p>{lab}</p>{_angle(b)}" for b in bs), True),
    "delim": (lambda bs, lab: f"<p>{lab}</p> {{" + "<delim>".join(_angle(b) for b in bs) + "}", True),
    "prose": (lambda bs, lab: "It is at " + " and ".join(f"<p>{lab}</p>{{{_angle(b)}}}" for b in bs) + ".", True),
    "bare": (lambda bs, lab: " and ".join(_angle(b) for b in bs), False),
    "list_100": (lambda bs, lab: " and ".join(str(list(b)) for b in bs), False),
    "tuple_100": (lambda bs, lab: " and ".join(str(tuple(b)) for b in bs), False),
    "list_01": (lambda bs, lab: " and ".join("[" + ", ".join(f"{v / 100:.4f}" for v in b) + "]" for b in bs), False),
    "qwen": (lambda bs, lab: "".join(f"<ref>{lab}</ref><box>({b[0] * 10},{b[1] * 10}),({b[2] * 10},{b[3] * 10})</box>" for b in bs), True),
}


@settings(max_examples=60, deadline=None)
@pytest.mark.parametrize("notation", sorted(_WRITERS))
@given(boxes=st.lists(_boxes(), min_size=1, max_size=3), label=_LABELS)
def test_parse_boxes_round_trip(notation: str, boxes: list[tuple[int, ...]], label: str) -> None:
    write, keeps_label = _WRITERS[notation]
    found = parse_boxes(write(boxes, label))
    assert [box for _, box in found] == [pytest.approx(b, abs=1e-9) for b in boxes]
    assert [lab for lab, _ in found] == [label.strip() if keeps_label else None] * len(boxes)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-200, 400), min_size=4, max_size=4))
def test_out_of_range_boxes_are_clipped_then_ordered(values: list[int]) -> None:
    clipped = [min(max(v, 0), 100) for v in values]
    x1, x2 = sorted((clipped[0], clipped[2]))
    y1, y2 = sorted((clipped[1], clipped[3]))
    expected = [(x1, y1, x2, y2)] if x1 < x2 and y1 < y2 else []
    assert [box for _, box in parse_boxes(_angle(tuple(values)))] == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_yes_no_is_total(text: str) -> None:
    assert parse_yes_no(text) in (True, False, None)


_YES = st.sampled_from(["Yes", "yes", "YES", "Yeah", "yep"])
_NO = st.sampled_from(["No", "no", "NO", "Nope"])


@settings(max_examples=200, deadline=None)
@given(verdict=st.booleans(), yes=_YES, no=_NO, end=st.sampled_from([".", "!", "?", ";", "\n", "!!"]), tail=st.text())
def test_leading_verdict_sentence_decides(verdict: bool, yes: str, no: str, end: str, tail: str) -> None:
    word = yes if verdict else no
    assert parse_yes_no(f"{word}{end}{tail}") is verdict
    assert parse_yes_no(f"  {word}{end} {tail}") is verdict


_NEUTRAL_WORDS = st.lists(st.sampled_from(["it", "is", "the", "brick", "correct", "red", "on", "top", "not"]), max_size=8)


@settings(max_examples=200, deadline=None)
@given(verdict=st.booleans(), yes=_YES, no=_NO, sep=st.sampled_from([",", ":", " -", ""]), words=_NEUTRAL_WORDS)
def test_leading_verdict_with_clause(verdict: bool, yes: str, no: str, sep: str, words: list[str]) -> None:
    word = yes if verdict else no
    assert parse_yes_no(f"{word}{sep} {' '.join(words)}") is verdict
    assert parse_yes_no(f"The answer is {word.lower()}{sep} {' '.join(words)}") is verdict
