"""The page reader: entities, structure errors, and a writer→reader round trip on random lines."""

from __future__ import annotations

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


_words = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
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
