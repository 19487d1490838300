"""``lego-arta export packed``: a build's per-manual shards concatenated into Hub-sized shards.

The packed folder must read as the build did (the same rows, in the same order, through
``load_dataset`` and as Parquet tables), pass ``push``'s verification, be byte-identical when
packed twice, and refuse a build whose files changed since it was written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lego_arta.cli import main
from lego_arta.dataset.pack import PackError, pack_build, pack_groups
from lego_arta.dataset.push import verify_built_folder
from tests.support.cli import error_printed
from tests.support.folders import folder_files


def _shards(folder: Path, config: str, split: str) -> list[Path]:
    return sorted((folder / config).glob(f"{split}-*-of-*.parquet"))


def _rows(folder: Path, config: str, split: str) -> pa.Table:
    return pa.concat_tables(pq.read_table(shard) for shard in _shards(folder, config, split))


def test_pack_groups_are_consecutive_runs_under_the_limit() -> None:
    assert pack_groups([], 10) == []
    assert pack_groups([("a", 4), ("b", 6), ("c", 1)], 10) == [["a", "b"], ["c"]]
    assert pack_groups([("a", 11), ("b", 1)], 10) == [["a"], ["b"]], "a file larger than the limit stays alone"


def test_a_packed_build_reads_as_the_build_and_passes_push_verification(built_dataset: Path, tmp_path: Path) -> None:
    manifest = json.loads((built_dataset / "manifest.json").read_text())
    scene_train = _shards(built_dataset, "scene", "train")
    assert len(scene_train) >= 2, "the fixture must give the packing something to join"
    limit = sum(shard.stat().st_size for shard in scene_train)  # scene/train fits in one shard; larger configs do not
    original = folder_files(built_dataset)
    out = tmp_path / "packed"
    packed = pack_build(built_dataset, out, max_shard_bytes=limit)
    assert packed["scene"]["train"] == 1 and len(_shards(out, "scene", "train")) == 1
    for config, splits in manifest["counts"].items():
        for split in splits:
            before, after = _shards(built_dataset, config, split), _shards(out, config, split)
            assert len(after) == packed[config][split] <= len(before)
            assert _rows(out, config, split).equals(_rows(built_dataset, config, split)), f"{config}/{split}: rows or their order changed"
            for shard in after:
                assert shard.stat().st_size <= limit or pq.ParquetFile(shard).metadata.num_rows in {
                    pq.ParquetFile(source).metadata.num_rows for source in before
                }, f"{shard} is over the limit without being one manual's file"
    verified = verify_built_folder(out, progress=False)
    assert {f.path for f in verified.files} == {*json.loads((out / "manifest.json").read_text())["files"], "manifest.json"}
    assert verified.unlisted == ()
    written = json.loads((out / "manifest.json").read_text())
    assert written["counts"] == manifest["counts"] and written["packed"]["from_fingerprints"] == manifest["fingerprints"]
    assert written["fingerprints"]["scene"] != manifest["fingerprints"]["scene"]
    assert written["fingerprints"]["scene"] in (out / "README.md").read_text()
    loaded = datasets.load_dataset(str(out), "scene", split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded["id"] == _rows(built_dataset, "scene", "train").column("id").to_pylist()
    assert folder_files(built_dataset) == original, "packing changed the build it read"
    pack_build(built_dataset, tmp_path / "again", max_shard_bytes=limit)
    assert folder_files(tmp_path / "again") == folder_files(out)


def test_a_build_changed_since_it_was_written_is_not_packed(built_dataset: Path, tmp_path: Path) -> None:
    changed = tmp_path / "built"
    shutil.copytree(built_dataset, changed)
    shard = _shards(changed, "object", "train")[-1]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(PackError, match=f"{shard}: its SHA-256 differs"):
        pack_build(changed, tmp_path / "packed")
    assert not (tmp_path / "packed").exists()


def test_export_packed_runs_from_the_command_line(built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["export", "packed", "--data", str(built_dataset), "--out", str(tmp_path / "packed"), "--max-shard-mb", "500"]) == 0
    assert "scene: 1 test, 1 train;" in " ".join(capsys.readouterr().out.split())
    assert main(["export", "llava", "--data", str(built_dataset), "--out", str(tmp_path / "llava"), "--max-shard-mb", "1"]) == 2
    assert "--max-shard-mb is for the packed layout only" in error_printed(capsys)
