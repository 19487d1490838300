"""Read a built dataset straight from its Parquet files, independently of the code under test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def split_rows(data: Path, config: str, split: str = "test") -> list[dict[str, Any]]:
    """Rows of one config and split (image column left out), in storage order."""
    files = sorted((Path(data) / config).glob(f"{split}-*.parquet"))
    assert files, f"no {split} shards for {config} under {data}"
    rows: list[dict[str, Any]] = []
    for file in files:
        table = pq.read_table(file)
        rows += table.drop_columns(["image"]).to_pylist()
    return rows
