"""The one file checksum: the same digest as hashlib, block by block, with the bar following the bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lego_arta.checksum import HASH_BLOCK_BYTES, sha256_file


class _Bar:
    def __init__(self) -> None:
        self.steps: list[int] = []

    def update(self, n: int) -> None:
        self.steps.append(n)


def test_a_file_over_one_block_hashes_as_a_whole_and_the_bar_counts_every_byte(tmp_path: Path) -> None:
    data = bytes(range(256)) * (HASH_BLOCK_BYTES // 256 * 2 + 3)
    path = tmp_path / "shard.parquet"
    path.write_bytes(data)
    bar = _Bar()
    assert sha256_file(path, bar) == hashlib.sha256(data).hexdigest()
    assert sum(bar.steps) == len(data) and len(bar.steps) == 3


def test_an_empty_file_has_the_empty_digest(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert sha256_file(path) == hashlib.sha256(b"").hexdigest()
