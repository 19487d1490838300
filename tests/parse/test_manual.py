"""Loading raw manuals: typed rows, pairing, counted skips for bad input, and the study records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lego_arta.parse.manual import ManualError, load_manuals
from lego_arta.parse.records import write_records


@pytest.fixture
def raw_copy(synthetic_raw: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(synthetic_raw, target)
    return target


def test_rows_carry_session_step_and_class_from_file_names(synthetic_raw: Path) -> None:
    manual = load_manuals(synthetic_raw)[0]
    assert manual.rows[0].step_class == "start"
    assert manual.rows[-1].step_class == "start"
    assert manual.sessions[0] == "sm01-Bag"
    for row in manual.rows:
        if row.step_class == "step":
            eop = manual.eop_row(row.session, row.step_num)
            if eop is not None:
                assert eop.index == row.index - 1
                assert eop.lines[-1].first("verb") in ("Find", "Collect")


def test_missing_image_is_a_counted_skip_or_a_strict_error(raw_copy: Path) -> None:
    folder = sorted(p for p in raw_copy.iterdir() if p.is_dir())[0]
    victim = sorted((folder / "images").glob("*_step_*"))[3]
    victim.unlink()
    manuals = load_manuals(raw_copy)
    assert len(manuals) == 4
    assert len(manuals.skips) == 1
    assert manuals.skips[0].manual_id == folder.name and "missing image" in manuals.skips[0].reason
    assert victim.name in str(manuals.skips[0])
    with pytest.raises(ManualError, match="missing image"):
        load_manuals(raw_copy, strict=True)


def test_unknown_image_name_is_reported(raw_copy: Path) -> None:
    folder = sorted(p for p in raw_copy.iterdir() if p.is_dir())[1]
    page = folder / f"{folder.name}.html"
    html = page.read_text()
    first_step = next(p.name for p in sorted((folder / "images").glob("*_step_*")))
    (folder / "images" / first_step).rename(folder / "images" / "picture.png")
    page.write_text(html.replace(first_step, "picture.png", 1))
    manuals = load_manuals(raw_copy)
    assert [s.reason.split(":")[0] for s in manuals.skips] == ["unknown image name"]
    assert manuals.skip_counts() == {"unknown image name": 1}


def test_malformed_page_skips_the_manual_and_names_the_file(raw_copy: Path) -> None:
    folder = sorted(p for p in raw_copy.iterdir() if p.is_dir())[2]
    (folder / f"{folder.name}.html").write_text("<html><body>Service unavailable</body></html>")
    (raw_copy / "lego-1-not-a-manual").mkdir()
    manuals = load_manuals(raw_copy)
    assert len(manuals) == 3
    reasons = sorted(str(s) for s in manuals.skips)
    assert any(folder.name in r and "manual-table-container" in r for r in reasons)
    assert any("lego-1-not-a-manual" in r and "missing page" in r for r in reasons)
    with pytest.raises(ManualError):
        load_manuals(raw_copy, strict=True)


def test_records_follow_the_study_fields(synthetic_raw: Path, tmp_path: Path) -> None:
    manuals = load_manuals(synthetic_raw)
    out = tmp_path / "records.jsonl"
    count = write_records(manuals, out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert count == len(records) == sum(len(m.rows) for m in manuals)
    step = next(r for r in records if r["VLM"]["step_class"] == "step" and r["VLM"]["parts_img_path"])
    assert set(step) == {"instruction_id", "text", "entities", "img", "VLM"}
    assert step["VLM"]["parts_img_path"].replace("_eop_", "_step_") == step["VLM"]["img_path"]
    assert (synthetic_raw / step["VLM"]["img_path"]).is_file()
    assert all(isinstance(e, dict) and len(e) == 1 for line in step["entities"] for e in line)
    assert step["VLM"]["bound_color"] is None and step["VLM"]["id_sign"].startswith("sm")
    again = tmp_path / "again.jsonl"
    write_records(load_manuals(synthetic_raw), again)
    assert again.read_bytes() == out.read_bytes()
