"""One copy of each image: a build holds its images only in Parquet; ``lego-arta export llava`` writes
the LLaVA layout from them, byte for byte, and the same build always gives the same export."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lego_arta.cli import main
from lego_arta.dataset.export import export_llava, llava_view


def _parquet_images(built: Path) -> dict[str, bytes]:
    images = {}
    for shard in sorted(built.glob("*/*.parquet")):
        for row in pq.read_table(shard, columns=["id", "image"]).to_pylist():
            images[row["id"]] = row["image"]["bytes"]
    return images


def test_a_build_stores_each_image_once(built_dataset: Path) -> None:
    assert not (built_dataset / "llava").exists()
    assert not list(built_dataset.rglob("*.png")), "images live only inside the Parquet shards"


def test_the_llava_export_is_the_parquet_images_and_rows(built_dataset: Path, tmp_path: Path) -> None:
    assert main(["export", "llava", str(built_dataset), "--out", str(tmp_path / "llava-export")]) == 0
    out = tmp_path / "llava-export"
    images = _parquet_images(built_dataset)
    manifest = json.loads((built_dataset / "manifest.json").read_text())
    entries = {split: json.loads((out / "llava" / f"{split}.json").read_text()) for split in ("train", "test")}
    for split, listed in entries.items():
        assert len(listed) == sum(counts.get(split, 0) for counts in manifest["counts"].values())
        for entry in listed:
            assert (out / "llava" / entry["image"]).read_bytes() == images[entry["id"]]
            assert entry["conversations"][0]["value"].startswith("<image>\n")
    assert len(list((out / "llava" / "images").iterdir())) == len(images)
    again = export_llava(built_dataset, tmp_path / "again")
    assert again == {split: len(listed) for split, listed in entries.items()}
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert files == {p.relative_to(tmp_path / "again").as_posix(): p.read_bytes() for p in (tmp_path / "again").rglob("*") if p.is_file()}
    recorded = json.loads((out / "manifest.json").read_text())["files"]
    assert set(recorded) == set(files) - {"manifest.json"}


def test_export_refuses_what_is_not_a_build_and_a_target_inside_it(built_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        export_llava(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError):
        export_llava(built_dataset, built_dataset / "llava")


def test_fine_tuning_reuses_one_export_per_build(built_dataset: Path) -> None:
    first = llava_view(built_dataset)
    stamp = (first / "manifest.json").stat().st_mtime_ns
    assert llava_view(built_dataset) == first and (first / "manifest.json").stat().st_mtime_ns == stamp
    assert first.parent.name == ".lego-arta-llava" and first.parent.parent == built_dataset.resolve().parent
