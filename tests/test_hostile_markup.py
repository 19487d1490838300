"""Data that looks like rich markup (``[src]``, ``[/red]``) is printed as it is, never read as markup.

Every message of the command line may carry data: image sources, file names, folder names,
reasons. Read as markup, ``[src]`` vanishes and ``[/red]`` raises ``MarkupError`` (a traceback
instead of the message), so each test feeds such data to one printer and checks the text survives.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from lego_arta.cli import main
from lego_arta.source.crawl import CrawlReport, render_report
from tests.support.cli import error_printed
from tests.support.raw_manuals import write_raw_manuals

HOSTILE = "x[/red]y[bold]z[src]"
#: Rich wraps long paths at any character; tests compare printed text with all whitespace removed.


def _raw_with_hostile_rows(root: Path) -> tuple[Path, str]:
    """Raw manuals where one row's src holds markup (its image is missing) and one manual has a row without img."""
    ids = write_raw_manuals(root)
    first = root / ids[0] / f"{ids[0]}.html"
    html = first.read_text(encoding="utf-8")
    marker = '<div class="image"><img src="'
    start = html.index(marker) + len(marker)
    end = html.index('"', start)
    hostile_src = html[start:end].rsplit("/", 1)[0] + f"/{HOSTILE.replace('/', '%2F')}-Start.png?v=[/red]"
    first.write_text(html[:start] + hostile_src + html[end:], encoding="utf-8")
    second = root / ids[1] / f"{ids[1]}.html"
    html = second.read_text(encoding="utf-8")
    second.write_text(html.replace('<div class="image"><img src="', '<div class="image"><img data-src="', 1), encoding="utf-8")
    return root, hostile_src


def test_parse_prints_sources_and_reasons_with_brackets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw, _ = _raw_with_hostile_rows(tmp_path / "raw")
    assert main(["parse", str(raw), "--out", str(tmp_path / "records.jsonl")]) == 0
    captured = capsys.readouterr()
    skips = "".join(captured.err.split())  # skips are warnings: stderr
    assert "[bold]z[src]-Start.png?v=[/red]" in skips
    assert "'.imageimg[src]'" in skips
    assert "?v=[/red]" not in captured.out and "wrote" in captured.out, (
        "stdout holds the results (the skip count in the table), not the skips"
    )


def test_strict_parse_error_keeps_its_brackets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw, _ = _raw_with_hostile_rows(tmp_path / "raw")
    assert main(["parse", str(raw), "--out", str(tmp_path / "records.jsonl"), "--strict"]) == 2
    out = "".join(error_printed(capsys).split())
    assert "error:" in out and "?v=[/red]" in out


def test_strict_build_shows_the_real_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw, _ = _raw_with_hostile_rows(tmp_path / "raw")
    recipe = Path(__file__).resolve().parents[1] / "builders" / "quickstart.yaml"
    code = main(["build", str(recipe), "--raw", str(raw), "--out", str(tmp_path / "out"), "--strict", "--workers", "1"])
    assert code == 2
    out = "".join(error_printed(capsys).split())
    assert "?v=[/red]" in out
    assert not (tmp_path / "out").exists()


def test_crawl_error_and_report_keep_their_brackets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crawl", "--out", str(tmp_path / "c"), "--manual", f"lego-1-{HOSTILE}", "--no-progress"]) == 2
    assert HOSTILE in "".join(capsys.readouterr().err.split())
    report = CrawlReport(failed={"lego-1-a-readscr": f"image {HOSTILE}: HTTP 404"})
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(render_report(report))
    assert HOSTILE in console.export_text()


def test_build_table_keeps_skip_reasons_with_brackets(tmp_path: Path) -> None:
    from lego_arta.dataset.pipeline import BuildResult
    from lego_arta.dataset.report import build_table

    result = BuildResult(out=tmp_path / "[out]", counts={"scene": {"train": 1, "test": 1}}, skips=Counter({f"parse: {HOSTILE}": 2}))
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(build_table(result))
    text = console.export_text()
    assert HOSTILE in text and "[out]" in text


def test_push_refusal_keeps_its_brackets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = HOSTILE.replace("/", "")
    folder = tmp_path / name
    folder.mkdir()
    assert main(["push", str(folder), "--repo", "a/b", "--no-progress"]) == 2
    assert name in "".join(capsys.readouterr().err.split())
