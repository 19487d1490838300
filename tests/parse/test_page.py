"""The page reader: entities, structure errors, and a writer→reader round trip on random lines."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.parse.page import ENTITY_CLASSES, Entity, PageFormatError, parse_page
from lego_arta.source.synth.model import ManualPlan
from lego_arta.source.synth.page import page_html

PLAN = ManualPlan(manual_id="lego-90001-test-car-readscr", set_number="90001", set_name="Test Car", intro_lines=(), sessions=())


def _page(body: str) -> str:
    return f'<html><head><title>t</title></head><body><div class="manual-table-container">{body}</div></body></html>'


def test_reads_entities_in_order_with_untagged_words_between() -> None:
    html = _page(
        '<div class="row"><div class="image"><img src="/x/sm01-Bag-0001_eop_Step%20%23A.png"></div>'
        '<div class="text"><div class="txtbox"><span class="verb">Find</span> <span class="det">2</span> '
        '<span class="colorinfo">transparent red</span> <span class="theme">flat tiles 1x2</span>'
        '<span class="suffix">.</span></div></div></div>'
    )
    row = parse_page(html).rows[0]
    assert row.src == "/x/sm01-Bag-0001_eop_Step%20%23A.png"
    line = row.lines[0]
    assert line.text == "Find 2 transparent red flat tiles 1x2."
    assert line.entities == (
        Entity("verb", "Find"),
        Entity("det", "2"),
        Entity("colorinfo", "transparent red"),
        Entity("theme", "flat tiles 1x2"),
        Entity("suffix", "."),
    )
    assert line.first("verb") == "Find"
    assert line.all("theme", "colorinfo") == ("transparent red", "flat tiles 1x2")


def test_entity_span_with_nested_markup_is_one_entity() -> None:
    html = _page(
        '<div class="row"><div class="image"><img src="a-Start.png"></div><div class="text">'
        '<div class="txtbox"><span class="theme">brick <b>2x4</b></span> and <em>more</em><br>next</div></div></div>'
    )
    line = parse_page(html).rows[0].lines[0]
    assert line.entities == (Entity("theme", "brick 2x4"),)
    assert line.text == "brick 2x4 and more\nnext"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "holds no div.row"),
        ('<div class="row"><div class="text"><div class="txtbox">x</div></div></div>', "row 1 has no '.image img[src]'"),
        ('<div class="row"><div class="image"><img src="a.png"></div></div>', "row 1 has no '.text .txtbox'"),
    ],
)
def test_malformed_pages_name_the_source_and_the_problem(body: str, message: str) -> None:
    with pytest.raises(PageFormatError, match=re.escape(message)) as error:
        parse_page(_page(body), source="m/m.html")
    assert "m/m.html" in str(error.value)


def test_page_without_container_is_rejected() -> None:
    with pytest.raises(PageFormatError, match="no div.manual-table-container"):
        parse_page("<html><body><p>404 not found</p></body></html>", source="x.html")


_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
)
_segment = st.tuples(st.one_of(st.none(), st.sampled_from(ENTITY_CLASSES)), _words)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(_segment, min_size=1, max_size=8), min_size=1, max_size=4))
def test_writer_reader_round_trip(lines: list[list[tuple[str | None, str]]]) -> None:
    html = page_html(PLAN, [("sm01-Bag-0003_step_Step ##E.png", lines)])
    row = parse_page(html).rows[0]
    assert row.src.endswith("/90001/sm01-Bag-0003_step_Step%20%23%23E.png")
    for written, read in zip(lines, row.lines, strict=True):
        assert read.text == "".join(text for _, text in written).strip()
        assert read.entities == tuple(Entity(cls, text.strip()) for cls, text in written if cls and text.strip())


def test_an_unknown_span_nested_in_an_entity_stays_out_of_it() -> None:
    """Issue 16: ``<span class="det">1<span class="x">X</span></span>`` read as det "1X"."""
    html = _page(
        '<div class="row"><div class="image"><img src="a-Start.png"></div><div class="text"><div class="txtbox">'
        '<span class="det">1<span class="x">X</span></span> <span class="theme">brick <span class="colorinfo">red</span> 2x4</span>'
        "</div></div></div>"
    )
    line = parse_page(html).rows[0].lines[0]
    assert line.text == "1X brick red 2x4"
    assert line.entities == (Entity("det", "1"), Entity("theme", "brick 2x4"), Entity("colorinfo", "red"))


_word = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8)
_unknown_class = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8).filter(lambda c: c not in ENTITY_CLASSES)
#: One piece inside an entity span: a plain word, a word in formatting markup, or a nested span
#: (of an unknown class, or of an entity class).
_piece = st.one_of(
    st.tuples(st.just("word"), st.just(""), _word),
    st.tuples(st.just("b"), st.just(""), _word),
    st.tuples(st.just("span"), st.one_of(_unknown_class, st.sampled_from(ENTITY_CLASSES)), _word),
)


def _render(cls: str, pieces: list[tuple[str, str, str]]) -> str:
    inner = []
    for kind, nested_class, word in pieces:
        text = html.escape(word)
        inner.append(text if kind == "word" else f"<b>{text}</b>" if kind == "b" else f'<span class="{nested_class}">{text}</span>')
    return f'<span class="{cls}">{" ".join(inner)}</span>'


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ENTITY_CLASSES), st.lists(_piece, min_size=1, max_size=5)), min_size=1, max_size=4))
def test_spans_nested_in_an_entity_are_never_part_of_it(segments: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
    box = " ".join(_render(cls, pieces) for cls, pieces in segments)
    line = (
        parse_page(
            _page(
                f'<div class="row"><div class="image"><img src="a-Start.png"></div><div class="text"><div class="txtbox">{box}</div></div></div>'
            )
        )
        .rows[0]
        .lines[0]
    )
    assert line.text == " ".join(word for _, pieces in segments for _, _, word in pieces), "every word stays in the line"
    expected: list[Entity] = []
    for cls, pieces in segments:
        own = [word for kind, _, word in pieces if kind != "span"]
        if own:
            expected.append(Entity(cls, " ".join(own)))
        expected += [Entity(nested, word) for kind, nested, word in pieces if kind == "span" and nested in ENTITY_CLASSES]
    assert line.entities == tuple(expected)
