"""A build never writes two rows with one id, whatever the raw pages repeat."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lego_arta.dataset.jobs import DuplicateIdError, unique_rows
from lego_arta.dataset.pairs import ManualPairs
from lego_arta.dataset.pipeline import build

ROW = '\n    <div class="row">'


def test_unique_rows_counts_a_repeated_id_or_raises_when_strict() -> None:
    pairs = ManualPairs("m1", rows={"scene": [{"id": "a"}, {"id": "b"}, {"id": "a"}]})
    seen: set[str] = {"b"}
    assert unique_rows(pairs, "scene", seen) == [{"id": "a"}]
    assert pairs.skips == Counter({"scene: duplicate id": 2})
    with pytest.raises(DuplicateIdError, match="m1: scene row id a"):
        unique_rows(ManualPairs("m1", rows={"scene": [{"id": "a"}]}), "scene", {"a"}, strict=True)


def test_duplicated_page_rows_give_unique_ids(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(synthetic_raw, raw)
    for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
        page = folder / f"{folder.name}.html"
        head, *rows = page.read_text(encoding="utf-8").split(ROW)
        doubled = [row for row in rows[:-1] for _ in (0, 1)] + rows[-1:]
        page.write_text(head + "".join(ROW + row for row in doubled), encoding="utf-8")
    out = tmp_path / "out"
    build(replace(built_recipe, configs=("scene", "object")), out, raw=raw, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skips"]["parse: duplicate row"] > 0
    for config in ("scene", "object"):
        ids = [i for shard in sorted((out / config).glob("*.parquet")) for i in pq.read_table(shard, columns=["id"])["id"].to_pylist()]
        assert ids and len(ids) == len(set(ids)), config
