"""``--overwrite`` replaces only what the command itself wrote, and no output may overlap its input.

A build, a synthesis or a parse onto its own raw folder, or ``--overwrite`` onto any folder that
is not an earlier output of the same command, is an error that leaves every file in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lego_arta.atomic import atomic_directory, refuse_overlap
from lego_arta.cli import main
from tests.support.cli import error_printed
from tests.support.folders import folder_files
from tests.support.raw_manuals import write_raw_manuals

RECIPE = Path(__file__).resolve().parents[1] / "builders" / "quickstart.yaml"


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    write_raw_manuals(folder)
    return folder


def _build(raw: Path, out: Path) -> int:
    return main(["build", str(RECIPE), "--raw", str(raw), "--out", str(out), "--overwrite", "--workers", "1"])


def test_build_onto_its_raw_folder_is_refused(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = folder_files(raw)
    assert _build(raw, raw) == 2
    assert "is--raw" in "".join(error_printed(capsys).split())
    assert folder_files(raw) == before


@pytest.mark.parametrize("where", ["inside", "contains", "symlink"])
def test_build_overlapping_its_raw_folder_is_refused(raw: Path, tmp_path: Path, where: str) -> None:
    before = folder_files(raw)
    if where == "inside":
        out = raw / "built"
    elif where == "contains":
        out = raw.parent
    else:
        out = tmp_path / "link"
        out.symlink_to(raw, target_is_directory=True)
    assert _build(raw, out) == 2
    assert folder_files(raw) == before
    assert not (raw / "built").exists()


def test_build_overwrite_of_an_unrelated_folder_is_refused(raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("precious")
    assert _build(raw, mine) == 2
    assert "manifest.json" in error_printed(capsys)
    assert (mine / "chapter1.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "thesis"]


def test_synth_overwrite_of_an_unrelated_folder_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "a.jpg").write_bytes(b"\xff\xd8")
    assert main(["synth", "--out", str(mine), "--manuals", "1", "--overwrite", "--no-summary", "--workers", "1"]) == 2
    assert (mine / "a.jpg").read_bytes() == b"\xff\xd8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_overwrite_replaces_a_folder_holding_the_owner_file(tmp_path: Path) -> None:
    target = tmp_path / "built"
    with atomic_directory(target, owner="manifest.json") as tmp:
        (tmp / "manifest.json").write_text("{}")
    with atomic_directory(target, overwrite=True, owner="manifest.json") as tmp:
        (tmp / "manifest.json").write_text('{"v": 2}')
    assert (target / "manifest.json").read_text() == '{"v": 2}'
    (target / "manifest.json").unlink()
    with pytest.raises(FileExistsError, match="holds no manifest.json"):
        with atomic_directory(target, overwrite=True, owner="manifest.json"):
            pass
    plain = tmp_path / "file.txt"
    plain.write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        with atomic_directory(plain, overwrite=True, owner="manifest.json"):
            pass
    assert plain.read_text() == "x"


@pytest.mark.parametrize(
    "out", ["raw/records.jsonl", "raw", "raw/lego-60399-green-race-car-readscr/lego-60399-green-race-car-readscr.html"]
)
def test_parse_output_inside_its_input_is_refused(raw: Path, tmp_path: Path, out: str) -> None:
    before = folder_files(raw)
    assert main(["parse", str(raw), "--out", str(tmp_path / out)]) == 2
    assert folder_files(raw) == before


def test_parse_output_onto_a_folder_is_refused(raw: Path, tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    assert main(["parse", str(raw), "--out", str(folder)]) == 2
    assert (folder / "keep.txt").read_text() == "keep"


def test_refuse_overlap_passes_siblings(tmp_path: Path) -> None:
    refuse_overlap(tmp_path / "raw-built", tmp_path / "raw")
    with pytest.raises(ValueError, match="contains"):
        refuse_overlap(tmp_path, tmp_path / "raw")
