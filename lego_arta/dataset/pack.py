"""``lego-arta export packed``: a build's per-manual shards concatenated into Hub-sized shards, for upload.

A build writes one Parquet file per manual and config (:mod:`lego_arta.dataset.staging`): that is
what lets a split change move files instead of rewriting rows. The Hub advises fewer, larger
files (under 10k entries per folder and 100k files per repo; ``push_to_hub`` cuts at 500 MB),
which per-manual files break past about 10,000 manuals (docs/scale.md). Packing is the step for
that, after the build: the shards of each config and split are concatenated, in their order,
into shards of at most ``max_shard_bytes`` (a file already larger stays alone), row group by row
group (no image is decoded), and the folder is written as a build (card, manifest, checksums), so
``load_dataset(folder, config)`` gives the same rows in the same order and ``lego-arta push``
takes it. Each source file is read once and checked against the manifest's SHA-256 as it is
read. Only the data digests change: each config's fingerprint is of its new files, so a
``datasets`` cache of the per-manual folder is not served for the packed one.

>>> pack_groups([("a", 300), ("b", 300), ("c", 100), ("d", 900), ("e", 10)], 500)
[['a'], ['b', 'c'], ['d'], ['e']]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lego_arta.atomic import atomic_directory, atomic_write_text, check_output_folder, output_lock, refuse_overlap
from lego_arta.dataset.export import ROW_GROUP_SIZE, content_fingerprint, file_checksums, read_build_manifest
from lego_arta.dataset.layout import BUILD_OUTPUT, MANIFEST, README, shard_name

#: Largest packed shard: what ``datasets``' ``push_to_hub`` cuts its shards at (``config.MAX_SHARD_SIZE``).
MAX_SHARD_BYTES = 500 * 10**6


class PackError(ValueError):
    """A build that cannot be packed as it is (a file changed since the build, shards that do not fit together)."""


def pack_groups(files: Sequence[tuple[str, int]], max_bytes: int) -> list[list[str]]:
    """Consecutive runs of ``files`` (name, size), each at most ``max_bytes`` unless one file alone is larger."""
    groups: list[list[str]] = []
    size = 0
    for name, found in files:
        if not groups or size + found > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += found
    return groups


def _read_bytes_verified(built: Path, name: str, expected: str) -> bytes:
    """A file of the build read once, and checked against the manifest's SHA-256 (so packing reads each file once)."""
    try:
        data = (built / name).read_bytes()
    except OSError as error:
        raise PackError(f"{built / name}: listed in {MANIFEST} but unreadable ({error.strerror or error})") from error
    if hashlib.sha256(data).hexdigest() != expected:
        raise PackError(f"{built / name}: its SHA-256 differs from {MANIFEST}'s: the build changed since it was written; rebuild it")
    return data


def _read_text_verified(built: Path, name: str, expected: str) -> str:
    return _read_bytes_verified(built, name, expected).decode("utf-8")


def _read_verified(built: Path, name: str, expected: str) -> pq.ParquetFile:
    """A source shard read once, into memory, and checked against the manifest's SHA-256."""
    return pq.ParquetFile(pa.BufferReader(_read_bytes_verified(built, name, expected)))


def _write_packed(built: Path, sources: Sequence[str], checksums: dict[str, Any], target: Path) -> None:
    """Concatenate the row groups of ``sources`` (in order) into one Parquet file at ``target``."""
    writer: pq.ParquetWriter | None = None
    try:
        for name in sources:
            source = _read_verified(built, name, checksums[name]["sha256"])
            schema = source.schema_arrow
            if writer is None:
                writer = pq.ParquetWriter(target, schema, compression="snappy", write_statistics=True)
            elif not schema.equals(writer.schema, check_metadata=True):
                raise PackError(f"{built / name}: its columns differ from {built / sources[0]}'s, so they cannot share a shard")
            for group in range(source.num_row_groups):
                writer.write_table(source.read_row_group(group), row_group_size=ROW_GROUP_SIZE)
    finally:
        if writer is not None:
            writer.close()


def pack_build(built: Path, out: Path, *, max_shard_bytes: int = MAX_SHARD_BYTES, overwrite: bool = False) -> dict[str, dict[str, int]]:
    """Write ``built``'s packed copy into ``out`` (atomically); returns config → split → shards written."""
    if max_shard_bytes < 1:
        raise ValueError(f"max_shard_bytes must be at least 1, got {max_shard_bytes}")
    built, out = Path(built), Path(out)
    with output_lock(out):
        manifest = read_build_manifest(built)
        refuse_overlap(out, built, source_name="BUILT")
        check_output_folder(out, overwrite=overwrite, owner=BUILD_OUTPUT)
        return _pack(built, out, manifest, max_shard_bytes, overwrite=overwrite)


def _pack(built: Path, out: Path, manifest: dict[str, Any], max_shard_bytes: int, *, overwrite: bool) -> dict[str, dict[str, int]]:
    files: dict[str, Any] = manifest["files"]
    card = _read_text_verified(built, README, files[README]["sha256"])
    prefixes = tuple(f"{config}/{split}-" for config, splits in manifest["counts"].items() for split in splits)
    packed: dict[str, dict[str, int]] = {}
    with atomic_directory(out, overwrite=overwrite, owner=BUILD_OUTPUT) as tmp:
        for config in sorted(manifest["counts"]):
            (tmp / config).mkdir()
            for split in manifest["counts"][config]:
                sources = sorted((name, files[name]["bytes"]) for name in files if name.startswith(f"{config}/{split}-"))
                groups = pack_groups(sources, max_shard_bytes)
                for index, group in enumerate(groups):
                    name = f"{config}/{shard_name(split, index, len(groups))}"
                    _write_packed(built, group, files, tmp / name)
                packed.setdefault(config, {})[split] = len(groups)
        for name in sorted(set(files) - {README, MANIFEST}):
            if not name.startswith(prefixes):  # anything else of the build travels as it is
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / name).write_bytes(_read_bytes_verified(built, name, files[name]["sha256"]))
        new_files = file_checksums(tmp)  # the shards and the build's other files: all tmp holds so far
        fingerprints = {config: content_fingerprint(new_files, f"{config}/") for config in manifest["counts"]}
        for config, before in manifest["fingerprints"].items():
            if card.count(before) != 1:
                raise PackError(f"{built / README}: names {config}'s data fingerprint {card.count(before)} times, expected once")
            card = card.replace(before, fingerprints[config])
        atomic_write_text(tmp / README, card)
        new_files.update(file_checksums(tmp, only=[README]))
        result = {
            **manifest,
            "fingerprints": fingerprints,
            "files": dict(sorted(new_files.items())),
            "packed": {"max_shard_bytes": max_shard_bytes, "from_fingerprints": manifest["fingerprints"], "from_files": len(files)},
        }
        atomic_write_text(tmp / MANIFEST, json.dumps(result, indent=1, sort_keys=True) + "\n")
    return packed
