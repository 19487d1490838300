"""The request journal keeps every answer across a crash, including one that cut a line short."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.harness.request_journal import Answer, RequestJournal, request_key

ANSWERS = st.builds(
    Answer,
    key=st.text(min_size=1, max_size=8),
    task=st.sampled_from(["lego_arta_state", "lego_arta_order"]),
    doc_id=st.integers(0, 10_000),
    text=st.text(max_size=40),
    input_tokens=st.integers(0, 10_000),
    output_tokens=st.integers(0, 1000),
    seconds=st.floats(0, 100, allow_nan=False),
    p_yes=st.none() | st.floats(0, 1),
)


@given(answers=st.lists(ANSWERS, max_size=12), torn=st.binary(min_size=1, max_size=30).filter(lambda b: b"\n" not in b))
def test_every_answer_written_is_read_back_even_after_a_torn_line(answers: list[Answer], torn: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.jsonl"
        journal = RequestJournal(path)
        for answer in answers[: len(answers) // 2]:
            journal.add(answer)
        with path.open("ab") as sink:  # the crash: half a line, no newline
            sink.write(b'{"key": ' + torn)
        reopened = RequestJournal(path)
        for answer in answers[len(answers) // 2 :]:
            reopened.add(answer)
        final = RequestJournal(path)
        expected = {answer.key: answer for answer in answers}
        assert {key: final.get(key) for key in expected} == expected
        assert len(final) == len(expected) and final.torn_lines == 1


def test_a_foreign_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"key": "k", "colour": "red"}\n')
    with pytest.raises(ValueError, match=r"journal.jsonl:1: not a lego-arta request journal line"):
        RequestJournal(path)


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
def test_request_keys_ignore_key_order_and_see_every_value(body: dict) -> None:
    assert request_key(body) == request_key(dict(reversed(list(body.items()))))
    assert request_key({**body, "extra": 1}) != request_key({**body, "extra": 2})
