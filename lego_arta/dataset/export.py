"""Write built rows in the layouts people load: Hub Parquet shards, LLaVA conversations, a manifest.

Parquet is written the way ``push_to_hub`` writes it (``<config>/<split>-0000i-of-0000N.parquet``,
images embedded as bytes, ``datasets`` features in the schema metadata), streaming one manual at
a time so a study-scale build never holds all images in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

from lego_arta.atomic import atomic_write_text
from lego_arta.checksum import sha256_file
from lego_arta.dataset.layout import LLAVA_DIR, LLAVA_IMAGES_DIR, llava_image_name, llava_json_name, shard_name

#: Rows per Parquet row group: small groups keep image-heavy shards quick to stream (push_to_hub uses 100).
ROW_GROUP_SIZE = 100
#: Start a new shard after this many bytes of encoded rows (the Hub prefers shards under ~500 MB).
MAX_SHARD_BYTES = 400 * 1024 * 1024


class EmptySplitError(ValueError):
    """A (config, split) without rows: ``datasets`` cannot load an empty Parquet split (a file with
    an empty row group fails with "BatchSize must be greater than 0", one without row groups with
    "corresponds to no data"), so no such file is ever written."""


class ShardedParquetWriter:
    """Stream rows of one (config, split) into numbered Parquet shards with ``datasets`` metadata."""

    def __init__(self, root: Path, config: str, split: str, features: Features, *, max_shard_bytes: int = MAX_SHARD_BYTES) -> None:
        self.folder = root / config
        self.split = split
        self.features = features
        self.schema = features.arrow_schema
        self.max_shard_bytes = max_shard_bytes
        self.rows = 0
        self.num_bytes = 0
        self._parts: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._shard_bytes = 0

    def _open(self) -> pq.ParquetWriter:
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f".{self.split}-part{len(self._parts):05d}.parquet"
        self._parts.append(part)
        self._shard_bytes = 0
        return pq.ParquetWriter(part, self.schema, compression="snappy", write_statistics=True)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        encoded = self.features.encode_batch({name: [row[name] for row in rows] for name in self.features})
        table = pa.Table.from_pydict(encoded, schema=self.schema)
        if self._writer is None or self._shard_bytes >= self.max_shard_bytes:
            if self._writer is not None:
                self._writer.close()
            self._writer = self._open()
        self._writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        self._shard_bytes += table.nbytes
        self.num_bytes += table.nbytes
        self.rows += len(rows)

    def discard(self) -> None:
        """Delete what was written: the (config, split) is left out of the build."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for part in self._parts:
            part.unlink(missing_ok=True)
        self._parts = []
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()

    def close(self) -> list[Path]:
        """Finish the last shard and give every shard its final ``-0000i-of-0000N`` name.

        Raises :class:`EmptySplitError` (and writes nothing) when no row was written.
        """
        if self._writer is None:
            raise EmptySplitError(f"{self.folder.name}/{self.split}: no rows to write (datasets cannot load an empty split)")
        self._writer.close()
        total = len(self._parts)
        final = []
        for index, part in enumerate(self._parts):
            target = self.folder / shard_name(self.split, index, total)
            part.replace(target)
            final.append(target)
        return final


class LlavaWriter:
    """LLaVA-style conversations of all configs merged, one JSON file per split, images alongside."""

    def __init__(self, root: Path) -> None:
        self.root = root / LLAVA_DIR
        self.entries: dict[str, list[dict[str, Any]]] = {}

    def write(self, config: str, split: str, rows: Iterable[dict[str, Any]]) -> None:
        """Add rows; images are written plainly because the whole build folder is renamed into place at the end."""
        entries = self.entries.setdefault(split, [])
        (self.root / LLAVA_IMAGES_DIR).mkdir(parents=True, exist_ok=True)
        for row in rows:
            image = f"{LLAVA_IMAGES_DIR}/{llava_image_name(row['id'])}"
            (self.root / image).write_bytes(row["image"]["bytes"])
            entries.append(
                {
                    "id": row["id"],
                    "task": config,
                    "image": image,
                    "conversations": [
                        {"from": "human", "value": f"<image>\n{row['query']}"},
                        {"from": "gpt", "value": row["answer"]},
                    ],
                }
            )

    def discard(self, config: str) -> None:
        """Drop a config's conversations and their images: the config is left out of the build."""
        for split, entries in self.entries.items():
            for entry in entries:
                if entry["task"] == config:
                    (self.root / entry["image"]).unlink(missing_ok=True)
            self.entries[split] = [entry for entry in entries if entry["task"] != config]

    def close(self) -> list[Path]:
        paths = []
        for split, entries in sorted(self.entries.items()):
            path = self.root / llava_json_name(split)
            atomic_write_text(path, json.dumps(entries, ensure_ascii=False, indent=1) + "\n")
            paths.append(path)
        return paths


def content_fingerprint(checksums: dict[str, dict[str, Any]], prefix: str = "") -> str:
    """One digest of the files under ``prefix`` (paths and contents): changes whenever their data does.

    >>> content_fingerprint({"a/x.parquet": {"sha256": "00"}}, "a/") == content_fingerprint({"a/x.parquet": {"sha256": "01"}}, "a/")
    False
    """
    digest = hashlib.sha256()
    for path in sorted(checksums):
        if path.startswith(prefix):
            digest.update(f"{path}\0{checksums[path]['sha256']}\n".encode("utf-8"))
    return digest.hexdigest()


def file_checksums(root: Path, *, exclude: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """``{relative path: {sha256, bytes}}`` for every file under ``root`` (sorted, so stable)."""
    skip = set(exclude)
    return {
        path.relative_to(root).as_posix(): {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).as_posix() not in skip
    }
