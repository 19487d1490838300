"""The synthetic source: layout on disk, determinism, and a parse round trip against the plan."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lego_arta.parse.manual import load_manuals
from lego_arta.parse.page import Entity
from lego_arta.source.layout import TRUTH_FILE, parse_image_name
from lego_arta.source.synth.generator import SynthConfig, synthesize
from lego_arta.source.synth.plan import plan_manual


def _digest_tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_gives_identical_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    config = SynthConfig(manuals=2, seed=3, width=256, height=118)
    synthesize(tmp_path / "a", config, workers=1, progress=False)
    synthesize(tmp_path / "b", config, workers=2, progress=False)
    first, second = _digest_tree(tmp_path / "a"), _digest_tree(tmp_path / "b")
    assert first == second
    assert len(first) > 100
    synthesize(tmp_path / "c", SynthConfig(manuals=2, seed=4, width=256, height=118), workers=1, progress=False)
    assert _digest_tree(tmp_path / "c") != first


def test_existing_output_is_not_overwritten_by_accident(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        synthesize(tmp_path / "out", SynthConfig(manuals=1, width=128, height=60), progress=False)


def test_every_image_name_parses_and_every_referenced_image_exists(synthetic_raw: Path) -> None:
    manuals = load_manuals(synthetic_raw, strict=True)
    assert len(manuals) == 4 and not manuals.skips
    for manual in manuals:
        files = {p.name for p in (manual.folder / "images").iterdir()}
        assert files == {row.image.file for row in manual.rows}
        for name in files:
            parse_image_name(name)
            assert "%23" in name or "%20" not in name or "Start" in name


def test_images_have_the_real_modes_and_backgrounds(synthetic_raw: Path, synth_config: SynthConfig) -> None:
    manual = load_manuals(synthetic_raw)[0]
    eop = next(r for r in manual.rows if r.step_class == "eop")
    step = next(r for r in manual.rows if r.step_class == "step")
    with Image.open(eop.image.path) as parts, Image.open(step.image.path) as assembly:
        assert parts.mode == "RGB" and assembly.mode == "RGBA"
        assert parts.size == assembly.size == (synth_config.width, synth_config.height)
        assert tuple(np.asarray(parts)[0, 0]) == (181, 217, 240)
        grey = np.asarray(assembly)
        assert abs(int(grey[0, 0, 0]) - 217) <= 2 and abs(int(grey[-1, 0, 0]) - 246) <= 2


def test_every_image_is_recorded_as_the_project_s_encoding_of_its_pixels(synthetic_raw: Path) -> None:
    """What lets a build embed a state positive as its file: the record lists every image with
    its digest, and each file is exactly what encoding its decoded pixels again gives."""
    from lego_arta.png import ENCODER, RECORD_FILE, EncodingRecord, encode_png

    for folder in sorted(p for p in synthetic_raw.iterdir() if p.is_dir()):
        record = EncodingRecord.read(folder)
        assert record is not None and record.encoder == ENCODER
        images = {f"images/{p.name}": p.read_bytes() for p in (folder / "images").iterdir()}
        assert sorted(record.sha256) == sorted(images)
        assert json.loads((folder / RECORD_FILE).read_text())["sha256"] == {
            n: hashlib.sha256(d).hexdigest() for n, d in sorted(images.items())
        }
        for name, data in images.items():
            assert record.holds(name, data)
            with Image.open(folder / name) as image:
                assert encode_png(np.asarray(image)) == data, name
    assert json.loads((synthetic_raw / "synth.json").read_text())["png_encoder"] == ENCODER


def test_parse_round_trip_matches_the_plan(synthetic_raw: Path, synth_config: SynthConfig) -> None:
    for manual in load_manuals(synthetic_raw, strict=True):
        index = int(manual.set_number) - 90000
        plan = plan_manual(index, synth_config.seed)
        assert plan.manual_id == manual.manual_id
        expected: list[tuple[str, str | None, int | None, tuple]] = [("start", None, None, plan.intro_lines)]
        for session in plan.sessions:
            for step in session.steps:
                if step.has_eop:
                    expected.append(("eop", session.name, step.number, step.eop_lines))
                expected.append(("step", session.name, step.number, step.step_lines))
        expected.extend(("start", None, None, (line,)) for line in plan.closing_lines)
        assert len(manual.rows) == len(expected)
        for row, (cls, session, number, lines) in zip(manual.rows, expected, strict=True):
            assert row.step_class == cls
            if session is not None:
                assert (row.session, row.step_num) == (session, number)
            assert [line.text for line in row.lines] == ["".join(t for _, t in segs).strip() for segs in lines]
            assert [line.entities for line in row.lines] == [
                tuple(Entity(c, t.strip()) for c, t in segs if c and t.strip()) for segs in lines
            ]


def test_truth_sidecar_boxes_lie_inside_the_images(synthetic_raw: Path, synth_config: SynthConfig) -> None:
    for folder in sorted(p for p in synthetic_raw.iterdir() if p.is_dir()):
        truth = json.loads((folder / TRUTH_FILE).read_text())
        assert truth["image_size"] == [synth_config.width, synth_config.height]
        for session in truth["sessions"]:
            for step in session["steps"]:
                boxes = [p["box"] for p in (step["eop"] or {}).get("parts", [])] + list(step["step"]["boxes"].values())
                for x1, y1, x2, y2 in boxes:
                    assert 0 <= x1 < x2 <= synth_config.width and 0 <= y1 < y2 <= synth_config.height
                assert set(map(int, step["step"]["boxes"])) <= set(step["step"]["present"])
