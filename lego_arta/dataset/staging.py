"""Where a build's workers write: one Parquet file per manual and config, and a record per manual.

A build's rows never travel through the driver. Each manual's job writes its rows of every config
straight into the build's staging area (:class:`Staging`, any fsspec filesystem: a local or
shared folder today, ``s3://``/``gs://`` the goal) and hands back only a :class:`ManualRecord`:
per config the file's name, rows, units, SHA-256 and size, plus the manual's skips and votes. The
driver keeps the books (manifest, card) and lays the files out as the Hub reads them by *moving*
them: a manual's file becomes ``<config>/<split>-NNNNN-of-NNNNN.parquet`` once the votes have
decided its split, so a split change renames files and never rereads a row.

The same record, written beside the files after them, is what makes a killed build resumable: a
manual whose record is there and whose files still have the recorded size and SHA-256 is reused
by ``build --resume`` (:meth:`Staging.complete_records`); every other manual is built again. A
staging area names the build it belongs to (:data:`MARKER`, the :func:`build_key` of recipe,
raw folder and versions), so a resume never mixes rows of two recipes.

>>> import pyarrow as pa
>>> staging = Staging.create("memory://lego-arta-doctest/.built.staging", key="k1")
>>> written = staging.write_table("scene", "m1", pa.table({"id": ["a", "b"]}))
>>> written.rows, written.name, len(written.sha256)
(2, 'scene/m1.parquet', 64)
>>> Staging.open("memory://lego-arta-doctest/.built.staging").key
'k1'
>>> staging.remove()
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from lego_arta.annotate.boundary import BoundaryVote
from lego_arta.dataset.export import ROW_GROUP_SIZE
from lego_arta.parse.manual import Skip

#: The file that names the build a staging area belongs to.
MARKER = "staging.json"
#: Folder of the per-manual records, inside the staging area.
RECORDS = "manuals"


class StagingError(ValueError):
    """A staging area that cannot be used as asked: left over without ``--resume``, or another build's."""


def staging_url(out: Path) -> str:
    """The staging area of a build into ``out``: a hidden folder beside it (the same filesystem, so
    laying out the final folder is renames only).

    >>> staging_url(Path("data/built"))
    'data/.built.staging'
    """
    return (Path(out).parent / f".{Path(out).name}.staging").as_posix()


def build_key(parts: Mapping[str, Any]) -> str:
    """A digest of what shapes a build's rows (recipe, raw folder, versions): staged files are
    reused only by a build with the same key.

    >>> build_key({"seed": 0}) == build_key({"seed": 0}) != build_key({"seed": 1})
    True
    """
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def manual_key(manual_id: str) -> str:
    """The file-name stem of a manual's staged files: its id's digest (an id may hold any character)."""
    return hashlib.sha256(manual_id.encode("utf-8")).hexdigest()[:16]


def table_parquet(table: pa.Table) -> bytes:
    """A table as the Parquet bytes of one shard: the schema's metadata (``datasets`` features)
    kept, snappy, statistics, :data:`ROW_GROUP_SIZE` rows per group."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, table.schema, compression="snappy", write_statistics=True) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
    return sink.getvalue().to_pybytes()


@dataclass(frozen=True)
class StagedFile:
    """One written file: its name in the staging area, its rows, its SHA-256 and size, and the
    in-memory size of its table (``nbytes``, what the card's ``dataset_info`` sums)."""

    name: str
    rows: int
    sha256: str
    bytes: int
    nbytes: int


@dataclass
class ManualRecord:
    """What a manual's job hands back to the driver instead of its rows (and its parsed page: the
    job reads its manual itself, so the driver learns only whether it was readable and what its
    reading skipped)."""

    manual_id: str
    #: Whether the manual's page could be read (an unreadable manual has no files, only its skips).
    readable: bool = True
    #: What reading the manual's page skipped (its rows, or the whole manual), in row order.
    parse_skips: list[Skip] = field(default_factory=list)
    #: Config → the manual's file of that config (a config without rows for it has none).
    files: dict[str, StagedFile] = field(default_factory=dict)
    #: Config → distinct (session, step) units its rows come from (0 included).
    units: dict[str, int] = field(default_factory=dict)
    #: Config → rows quality assurance flagged and left out.
    removed: dict[str, int] = field(default_factory=dict)
    skips: dict[str, int] = field(default_factory=dict)
    image_errors: dict[str, str] = field(default_factory=dict)
    #: The sessions' boundary votes, when the job voted itself.
    votes: dict[str, BoundaryVote | None] | None = None

    def to_json(self) -> str:
        found = asdict(self)
        return json.dumps(found, sort_keys=True) + "\n"

    @staticmethod
    def from_json(text: str) -> ManualRecord:
        found = json.loads(text)
        votes = found.get("votes")
        if votes is not None:
            votes = {s: None if v is None else _vote(v) for s, v in votes.items()}
        return ManualRecord(
            manual_id=found["manual_id"],
            readable=found["readable"],
            parse_skips=[Skip(**skip) for skip in found["parse_skips"]],
            files={config: StagedFile(**staged) for config, staged in found["files"].items()},
            units=found["units"],
            removed=found["removed"],
            skips=found["skips"],
            image_errors=found["image_errors"],
            votes=votes,
        )


def _vote(found: Mapping[str, Any]) -> BoundaryVote:
    colour = found["bound_color"]
    return BoundaryVote(tuple(tuple(c) for c in found["color_list"]), None if colour is None else tuple(colour), found["support"])


class Staging:
    """A build's staging area on any fsspec filesystem, named by its URL (picklable as the URL)."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.fs, self.root = fsspec.core.url_to_fs(url)

    def __reduce__(self) -> tuple[Any, ...]:
        return Staging, (self.url, self.key)

    def _path(self, name: str) -> str:
        return posixpath.join(self.root, name)

    @staticmethod
    def create(url: str, *, key: str) -> Staging:
        """A new, empty staging area for the build ``key``."""
        staging = Staging(url, key)
        staging.fs.makedirs(staging.root, exist_ok=True)
        staging._write(MARKER, json.dumps({"build_key": key}).encode("utf-8"))
        return staging

    @staticmethod
    def exists(url: str) -> bool:
        fs, root = fsspec.core.url_to_fs(url)
        return bool(fs.exists(root))

    @staticmethod
    def open(url: str) -> Staging:
        """The staging area at ``url``; a :class:`StagingError` when it names no build (not ours)."""
        fs, root = fsspec.core.url_to_fs(url)
        try:
            key = json.loads(fs.cat_file(posixpath.join(root, MARKER)))["build_key"]
        except (FileNotFoundError, ValueError, KeyError, TypeError) as error:
            raise StagingError(f"{url}: not a lego-arta staging area (no readable {MARKER}); remove it yourself") from error
        return Staging(url, str(key))

    def _write(self, name: str, data: bytes) -> None:
        """Write a file whole under a temporary name, then move it into place (a reader never sees half of it)."""
        path = self._path(name)
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        partial = posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.partial")
        with self.fs.open(partial, "wb") as handle:
            handle.write(data)
        self.fs.mv(partial, path)

    def write_table(self, config: str, stem: str, table: pa.Table, *, nbytes: int | None = None) -> StagedFile:
        """Write ``table`` as the file ``<config>/<stem>.parquet``; what the driver needs to know of it."""
        data = table_parquet(table)
        name = f"{config}/{stem}.parquet"
        self._write(name, data)
        return StagedFile(name, table.num_rows, hashlib.sha256(data).hexdigest(), len(data), table.nbytes if nbytes is None else nbytes)

    def write_record(self, record: ManualRecord) -> None:
        """Record a manual as done, after its files (a resume trusts a manual only with its record)."""
        self._write(f"{RECORDS}/{manual_key(record.manual_id)}.json", record.to_json().encode("utf-8"))

    def complete_records(self) -> dict[str, ManualRecord]:
        """Manual id → its record, for every manual whose files all have the recorded size and SHA-256."""
        complete = {}
        for path in sorted(self.fs.glob(self._path(f"{RECORDS}/*.json"))):
            try:
                record = ManualRecord.from_json(self.fs.cat_file(path).decode("utf-8"))
            except (ValueError, KeyError, TypeError):
                continue
            if all(self._intact(staged) for staged in record.files.values()):
                complete[record.manual_id] = record
        return complete

    def _intact(self, staged: StagedFile) -> bool:
        path = self._path(staged.name)
        if not self.fs.exists(path) or self.fs.size(path) != staged.bytes:
            return False
        digest = hashlib.sha256()
        with self.fs.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest() == staged.sha256

    def local_path(self, name: str) -> Path:
        """A staged file's path on this machine (the staging area must be a local or mounted folder)."""
        if not isinstance(self.fs, LocalFileSystem):
            raise StagingError(f"{self.url}: the final layout is made by renames on this machine's filesystem")
        return Path(self._path(name))

    def remove(self) -> None:
        if self.fs.exists(self.root):
            self.fs.rm(self.root, recursive=True)
