"""Hostile pages: a bad or repeated row costs only itself (a counted skip, or an error with
``strict``), an empty parse is an error, and pairing rows stays linear in the page size."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lego_arta.cli import main
from lego_arta.parse import page as page_module
from lego_arta.parse.manual import ImageRef, Manual, ManualError, Row, load_manuals
from lego_arta.parse.page import PageFormatError, parse_page
from lego_arta.parse.records import NoRecordsError, manual_records, write_records
from lego_arta.source.layout import parse_image_name
from tests.support.cli import error_printed
from tests.support.growth import growth_per_unit

ROW = '\n    <div class="row">'


@pytest.fixture
def raw(synthetic_raw: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(synthetic_raw, target)
    return target


def _first(raw: Path) -> tuple[Path, str]:
    folder = sorted(p for p in raw.iterdir() if p.is_dir())[0]
    return folder / f"{folder.name}.html", folder.name


def _rows(html: str) -> tuple[str, list[str]]:
    head, *rows = html.split(ROW)
    return head, rows


def _join(head: str, rows: list[str]) -> str:
    last = rows[-1]
    return head + "".join(ROW + row for row in rows[:-1]) + ROW + last


def _damage(page: Path) -> dict[int, str]:
    """Break rows 2, 4 and 6 (no img, empty src, no text line); returns index → damage."""
    head, rows = _rows(page.read_text(encoding="utf-8"))
    rows[2] = rows[2].replace("<img ", "<picture ", 1)
    rows[4] = re.sub(r'src="[^"]*"', 'src="  "', rows[4], count=1)
    rows[6] = rows[6].replace('class="txtbox"', 'class="note"')
    page.write_text(_join(head, rows), encoding="utf-8")
    return {2: "img[src]", 4: "img[src]", 6: ".txtbox"}


def test_a_malformed_row_skips_that_row_only(raw: Path) -> None:
    page, manual_id = _first(raw)
    before = {r["instruction_id"]: r for r in manual_records(load_manuals(raw)[0])}
    damaged = _damage(page)
    manuals = load_manuals(raw)
    assert len(manuals) == 4, "the manual with bad rows is kept"
    kept = manuals[0]
    assert kept.manual_id == manual_id and len(kept.rows) == len(before) - 3
    assert manuals.skip_counts() == {"malformed row": 3}
    assert sorted(s.row for s in manuals.skips) == sorted(damaged)
    for skip in manuals.skips:
        assert damaged[skip.row] in skip.reason
    after = {r["instruction_id"]: r for r in manual_records(kept)}
    assert set(after) == set(before) - {f"{manual_id}#{i:04d}" for i in damaged}, "later rows keep their ids"
    with pytest.raises(ManualError, match=r"row 2: row 3 has no '\.image img\[src\]'"):
        load_manuals(raw, strict=True)


def test_duplicated_rows_are_counted_skips_or_a_strict_error(raw: Path) -> None:
    page, _ = _first(raw)
    head, rows = _rows(page.read_text(encoding="utf-8"))
    eop = next(i for i, r in enumerate(rows) if "_eop_" in r)
    rows[eop + 2 : eop + 2] = [rows[eop], rows[eop + 1]]
    page.write_text(_join(head, rows), encoding="utf-8")
    manuals = load_manuals(raw)
    assert manuals.skip_counts() == {"duplicate row": 2}
    manual = manuals[0]
    keys = [(r.step_class, r.session, r.step_num) for r in manual.rows if r.step_class != "start"]
    assert len(keys) == len(set(keys))
    ids = [r["instruction_id"] for m in manuals for r in manual_records(m)]
    assert len(ids) == len(set(ids))
    with pytest.raises(ManualError, match="already on row"):
        load_manuals(raw, strict=True)


def test_parse_with_nothing_parsed_says_so_and_fails(raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for folder in raw.iterdir():
        if folder.is_dir():
            (folder / f"{folder.name}.html").write_text("<html><body>maintenance</body></html>")
    out = tmp_path / "records.jsonl"
    assert main(["parse", str(raw), "--out", str(out)]) == 2
    assert "no records parsed" in error_printed(capsys)
    assert not out.exists()
    with pytest.raises(NoRecordsError):
        write_records(load_manuals(raw), out)


def test_a_page_over_the_size_limit_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_module, "MAX_PAGE_CHARS", 100)
    with pytest.raises(PageFormatError, match="larger than the 100 accepted"):
        parse_page("<html>" + "x" * 200 + "</html>", source="big.html")


def _manual_of(steps: int) -> Manual:
    rows = []
    for step in range(steps):
        for cls in ("eop", "step"):
            file = f"sm01-Bag-{step:04d}_{cls}.png"
            rows.append(Row(index=len(rows), image=ImageRef(file, Path(file), file, parse_image_name(file)), lines=()))
    return Manual("lego-1-x-readscr", "1", "", Path("lego-1-x-readscr"), tuple(rows))


def _pair(manual: Manual) -> list[Row | None]:
    return [manual.eop_row(r.session, r.step_num) for r in manual.rows if r.step_class == "step"]


def test_pairing_steps_with_their_eop_rows_is_linear() -> None:
    """A scan per step row (the old ``eop_row``) made 20,000 rows take minutes; a lookup keeps the
    work per row the same at 16 times the rows (a scan would make it about 16 times)."""
    small, large = _manual_of(600), _manual_of(9_600)
    paired = _pair(large)
    assert all(eop is not None and eop.index == step.index - 1 for eop, step in zip(paired, large.rows[1::2]))
    assert growth_per_unit(lambda: _pair(small), lambda: _pair(large), times=16) < 2


def _page_of(rows: int) -> str:
    body = "".join(
        f'<div class="row"><div class="image"><img src="/m/sm01-Bag-{i:05d}_step.png" alt="step {i}"></div>'
        f'<div class="text"><div class="txtbox"><span class="verb">Put</span> it on the <span class="target">plate</span>.</div></div></div>'
        for i in range(rows)
    )
    return f'<html><head><title>t</title></head><body><div class="manual-table-container">{body}</div></body></html>'


@pytest.mark.slow
def test_page_parsing_and_the_crawlers_image_list_are_linear_in_the_rows() -> None:
    """Issue 28, case 7: with ``html.parser`` 9k rows took 9 s and 27k rows 69 s. Sixteen times the
    rows must cost about sixteen times the work: at most twice the work per row (with ``html.parser``
    the work per row grew 2.3 to 4 times, measured the same way)."""
    from lego_arta.source.crawl import manual_images

    small, large = _page_of(250), _page_of(4_000)
    assert len(parse_page(large).rows) == 4_000 and len(manual_images(large, "http://127.0.0.1/p/")) == 4_000
    for read in (parse_page, lambda html: manual_images(html, "http://127.0.0.1/p/")):
        growth = growth_per_unit(lambda: read(small), lambda: read(large), times=16)
        assert growth < 2, f"16x the rows took {growth:.1f}x the work per row"
