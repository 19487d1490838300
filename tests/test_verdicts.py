"""Yes/No and attached/removed verdicts as chat and reasoning models write them (issue 23)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.answers import parse_attached_removed, parse_yes_no, verdict_parts


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("**No.**", False),
        ("**Yes**", True),
        ("__No__, the brick is shifted.", False),
        ("Answer: Yes", True),
        ("**Answer:** No", False),
        ("**Final answer**: yes", True),
        ("The red plate sits two studs off, so this is not what the step asks.\nAnswer: No", False),
        ("Looking closely, no stud is uncovered and yes, the tile is flush. Final answer: No.", False),
        ("There is no gap.\nVerdict: Yes", True),
        ("I think it is correct.", True),
        ("It looks correct to me.", True),
        ("The assembly was done correctly.", True),
        ("It is not correct.", False),
        ("It isn't correct.", False),
        ("I don't think it was done correctly.", False),
        ("That is wrong: the brick is rotated.", False),
        ("It is incorrect.", False),
        ("It is not incorrect.", True),
        ("This is correct, not wrong.", True),
        ("The base is correct but the colour is wrong.", None),
        ("The brick is on the right.", None),
        ("<think>The step says put it on top. Is it yes? Hmm, no, wait.</think>\n\nYes.", True),
        ("<think>It looks right, so yes.</think>**No.**", False),
        ("<think>\nyes\n</think>\n<think>no</think> Answer: Yes", True),
        ("The tile is flush.</think> No", False),  # the chat template opened the think block
        ("<think>Yes, it is attached correctly", None),  # never closed: no verdict was given
        ("<THINK>no</THINK> yes", True),
    ],
)
def test_chat_model_verdicts(text: str, verdict: bool | None) -> None:
    assert parse_yes_no(text) is verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("<think>Was it removed? The second frame has more parts.</think> Attached.", True),
        ("**Removed.**", False),
        ("The part is visible in both. Answer: Removed", False),
        ("<think>attached", None),
    ],
)
def test_order_verdicts_read_after_think_and_marker(text: str, verdict: bool | None) -> None:
    assert parse_attached_removed(text) is verdict


_THINKING = st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=200)
_YES = st.sampled_from(["Yes.", "yes", "**Yes.**", "Answer: Yes", "YES!", "I think it is correct."])
_NO = st.sampled_from(["No.", "no", "**No.**", "Answer: No", "Nope.", "It is not correct."])


@settings(max_examples=200, deadline=None)
@given(thinking=_THINKING, verdict=st.booleans(), yes=_YES, no=_NO, gap=st.sampled_from(["", " ", "\n\n"]))
def test_verdict_after_think_block_decides_whatever_the_thinking_says(thinking: str, verdict: bool, yes: str, no: str, gap: str) -> None:
    said = yes if verdict else no
    assert parse_yes_no(f"<think>{thinking}</think>{gap}{said}") is verdict
    assert parse_yes_no(f"{thinking}</think>{gap}{said}") is verdict


@settings(max_examples=200, deadline=None)
@given(thinking=_THINKING, tail=st.text(max_size=50))
def test_unclosed_think_block_is_no_verdict(thinking: str, tail: str) -> None:
    text = f"<think>{thinking}{tail}"
    if "</think>" not in text.lower().replace(" ", ""):
        assert parse_yes_no(text) is None
        assert parse_attached_removed(text) is None


@settings(max_examples=200, deadline=None)
@given(explanation=st.text(alphabet=st.characters(blacklist_characters="<>:"), max_size=200), verdict=st.booleans())
def test_answer_marker_decides_after_any_explanation(explanation: str, verdict: bool) -> None:
    assert parse_yes_no(f"{explanation}\nAnswer: {'Yes' if verdict else 'No'}") is verdict


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_verdict_parts_are_suffixes(text: str) -> None:
    parts = verdict_parts(text)
    assert all(text.endswith(part) for part in parts)
    assert parse_attached_removed(text) in (True, False, None)


#: Inputs that make a backtracking regex quadratic or worse; each must parse (the suite would hang otherwise).
_LONG = 200_000


@pytest.mark.parametrize(
    "text",
    [
        "<think>" * (_LONG // 7),
        "</think" + " " * _LONG,
        "answer" + " " * _LONG + "x",
        "final " * (_LONG // 6),
        "answer*" * (_LONG // 7),
        "not " * (_LONG // 4) + "correct",
        ("no " * (_LONG // 3)) + "yes",
    ],
    ids=["opens", "unclosed-close", "answer-spaces", "finals", "answer-stars", "negations", "verdict-words"],
)
def test_long_adversarial_answers_parse(text: str) -> None:
    assert parse_yes_no(text) in (True, False, None)
    assert parse_attached_removed(text) in (True, False, None)
