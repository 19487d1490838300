"""Write built rows in the layouts people load: Hub Parquet shards, LLaVA conversations, a manifest.

Parquet is written the way ``push_to_hub`` writes it (``<config>/<split>-0000i-of-0000N.parquet``,
images embedded as bytes, ``datasets`` features in the schema metadata): each manual's rows of a
config are one shard, written by the manual's own job (:mod:`lego_arta.dataset.staging`), so no
process ever holds more than one manual's images. The Parquet shards are the one
copy of every image: the LLaVA layout (conversations + image files) is exported from them on
demand (:func:`export_llava`), not written by every build a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

from lego_arta.atomic import atomic_directory, atomic_write_text, check_output_folder, output_lock, refuse_overlap
from lego_arta.checksum import sha256_file
from lego_arta.dataset.layout import EXPORT_OUTPUT, LLAVA_DIR, LLAVA_IMAGES_DIR, MANIFEST, llava_image_name, llava_json_name
from lego_arta.tasks import get_task
from lego_arta.tasks.spec import HISTORY_COLUMN

#: Rows per Parquet row group: small groups keep image-heavy shards quick to stream (push_to_hub uses 100).
ROW_GROUP_SIZE = 100


class EmptySplitError(ValueError):
    """A (config, split) without rows: ``datasets`` cannot load an empty Parquet split (a file with
    an empty row group fails with "BatchSize must be greater than 0", one without row groups with
    "corresponds to no data"), so no such file is ever written."""


def encode_rows(features: Features, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows as the Arrow table a shard stores (``datasets`` encoding, the features' schema)."""
    encoded = features.encode_batch({name: [row[name] for row in rows] for name in features})
    return pa.Table.from_pydict(encoded, schema=features.arrow_schema)


#: Where :func:`llava_view` keeps the LLaVA export of a build, beside the build (as the raw cache is).
LLAVA_CACHE_DIR = ".lego-arta-llava"
#: Text columns a LLaVA conversation is made of (the images are the task's ``image_columns``).
_LLAVA_COLUMNS = ("id", "query", "answer")


def read_build_manifest(built: Path) -> dict[str, Any]:
    """The manifest of a folder written by ``lego-arta build``; a clear error for any other folder."""
    path = Path(built) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{built}: no {MANIFEST} (expected a folder written by `lego-arta build`)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("counts"), dict) or "recipe" not in manifest:
        raise ValueError(f"{path}: not a build manifest (no 'counts' and 'recipe')")
    return manifest


def _image_names(row_id: str, image_columns: tuple[str, ...]) -> list[str]:
    """The row's image files: ``<id>.png`` for ``image``, ``<id>-<column>.png`` for a task's further frames."""
    return [f"{LLAVA_IMAGES_DIR}/{llava_image_name(row_id if column == 'image' else f'{row_id}-{column}')}" for column in image_columns]


def _conversation(
    config: str, row_id: str, query: str, answer: str, images: list[str], history: Sequence[Mapping[str, str]] = ()
) -> dict[str, Any]:
    """One row as a conversation; a row of a conversation task (a ``history`` column) carries its
    earlier turns first, the images with the first question."""
    turns = [(str(t["query"]), str(t["answer"])) for t in history] + [(query, answer)]
    exchanges = [
        [{"from": "human", "value": ("<image>\n" * len(images) if i == 0 else "") + q}, {"from": "gpt", "value": a}]
        for i, (q, a) in enumerate(turns)
    ]
    return {
        "id": row_id,
        "task": config,
        "image": images[0] if len(images) == 1 else images,
        "conversations": [message for exchange in exchanges for message in exchange],
    }


def export_llava(built: Path, out: Path, *, overwrite: bool = False) -> dict[str, int]:
    """Write the LLaVA layout of a build into ``out`` (atomically): conversations per split, every
    config merged, and each row's image file, read from the Parquet shards as they are stored.

    A build stores each image once, in its Parquet shards (the Hub layout); LLaVA-style trainers
    want files on disk, so this writes them when they are wanted (``lego-arta export llava``, or
    fine-tuning through :func:`llava_view`) instead of every build carrying a second copy. ``out``
    gets ``llava/<split>.json``, ``llava/images/<row id>.png`` and a ``manifest.json`` with each
    file's checksum and the build it came from; the same build gives byte-identical files.
    Returns the conversations per split.
    """
    built, out = Path(built), Path(out)
    with output_lock(out):  # one writer per --out, for the whole run
        manifest = read_build_manifest(built)
        refuse_overlap(out, built, source_name="BUILT")
        check_output_folder(out, overwrite=overwrite, owner=EXPORT_OUTPUT)
        return _export_llava(built, out, manifest, overwrite=overwrite)


def _export_llava(built: Path, out: Path, manifest: dict[str, Any], *, overwrite: bool) -> dict[str, int]:
    configs = [c for c in manifest["recipe"].get("configs", manifest["counts"]) if c in manifest["counts"]]
    entries: dict[str, list[dict[str, Any]]] = {}
    with atomic_directory(out, overwrite=overwrite, owner=EXPORT_OUTPUT) as tmp:
        (tmp / LLAVA_DIR / LLAVA_IMAGES_DIR).mkdir(parents=True)
        for config in configs:
            for split in sorted(manifest["counts"][config]):
                shards = sorted((built / config).glob(f"{split}-*-of-*.parquet"))
                if not shards:
                    raise FileNotFoundError(
                        f"{built / config}: no {split} shards, though {MANIFEST} counts {manifest['counts'][config][split]} rows"
                    )
                rows = entries.setdefault(split, [])
                image_columns = get_task(config).image_columns
                history = [HISTORY_COLUMN] if HISTORY_COLUMN in get_task(config).features else []
                for shard in shards:
                    for batch in pq.ParquetFile(shard).iter_batches(
                        batch_size=ROW_GROUP_SIZE, columns=[*_LLAVA_COLUMNS, *image_columns, *history]
                    ):
                        columns = batch.to_pydict()
                        for index, (row_id, query, answer) in enumerate(zip(*(columns[c] for c in _LLAVA_COLUMNS), strict=True)):
                            names = _image_names(row_id, image_columns)
                            for name, column in zip(names, image_columns):
                                (tmp / LLAVA_DIR / name).write_bytes(columns[column][index]["bytes"])
                            earlier = columns[HISTORY_COLUMN][index] if history else ()
                            rows.append(_conversation(config, row_id, query, answer, names, earlier))
        for split, rows in sorted(entries.items()):
            atomic_write_text(tmp / LLAVA_DIR / llava_json_name(split), json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        record = EXPORT_OUTPUT.stamp(
            {
                "exported_from": {"manifest_sha256": sha256_file(built / MANIFEST), "fingerprints": manifest.get("fingerprints", {})},
                "conversations": {split: len(rows) for split, rows in sorted(entries.items())},
                "files": file_checksums(tmp),
            }
        )
        atomic_write_text(tmp / MANIFEST, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record["conversations"]


def llava_view(built: Path) -> Path:
    """A folder with the LLaVA layout of ``built``, exported once and then reused while the build is unchanged.

    It lives beside the build (``<parent>/.lego-arta-llava/<build name>-<manifest digest>``), so
    fine-tuning ``--data BUILT`` works without an explicit export; a rebuilt folder gets a new one.
    """
    built = Path(built).resolve()
    digest = sha256_file(built / MANIFEST) if (built / MANIFEST).is_file() else ""
    target = built.parent / LLAVA_CACHE_DIR / f"{built.name}-{digest[:16]}"
    recorded = target / MANIFEST
    with output_lock(target, wait=True):  # a cache: a second run on the same build waits for the first's export
        if recorded.is_file():
            try:
                if json.loads(recorded.read_text(encoding="utf-8"))["exported_from"]["manifest_sha256"] == digest:
                    return target
            except (json.JSONDecodeError, KeyError, TypeError):
                pass
        export_llava(built, target, overwrite=True)
    return target


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


def file_checksums(root: Path, *, exclude: Iterable[str] = (), only: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{relative path: {sha256, bytes}}`` for every file under ``root`` (sorted, so stable), or
    for the files named in ``only`` (paths relative to ``root``)."""
    skip = set(exclude)
    paths = sorted(root.rglob("*")) if only is None else sorted(root / name for name in only)
    files = [path for path in paths if path.is_file() and path.relative_to(root).as_posix() not in skip]
    # hashlib releases the GIL on large blocks: the shards of a big build are hashed side by side.
    with ThreadPoolExecutor(max_workers=max(1, min(len(files), os.cpu_count() or 1))) as pool:
        digests = list(pool.map(sha256_file, files))
    return {path.relative_to(root).as_posix(): {"sha256": digest, "bytes": path.stat().st_size} for path, digest in zip(files, digests)}
