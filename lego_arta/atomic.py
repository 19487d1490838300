"""Atomic writes: a file or folder appears complete under its final name, or not at all.

Readers (a resumed crawl, a build reading its inputs, a user's ``load_dataset``) never see a
half-written output, even when a run is interrupted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking, as before
    fcntl = None  # type: ignore[assignment]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: mkdtemp/mkstemp make private (0700/0600) entries; published outputs get the usual permissions.
_DIR_MODE = 0o777 & ~_umask()
_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    if path.is_dir():
        raise FileExistsError(f"{path} is a folder; give a file name to write to")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


#: Longest name part :func:`name_part` returns; a longer name keeps its start and a digest of the whole.
MAX_NAME_PART = 80
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_@.-]+")


def name_part(name: str) -> str:
    """``name`` (a ``--name``, a person or a rater) as one safe part of a file name.

    Names come from files others send (answers, ratings, Label Studio exports) and become file
    names: this is the one way they do. Every run of characters other than letters, digits, ``_``,
    ``-``, ``.`` and ``@`` becomes ``_``, leading dots are dropped (no ``..``, no hidden file), and
    a long name is cut, keeping a digest of the whole so two long names stay apart. The result is
    never empty and never a path: it cannot leave the folder it is joined to.

    >>> name_part("Ann Lee"), name_part("../../x"), name_part("a/b"), name_part(".."), name_part("")
    ('Ann_Lee', '__.._x', 'a_b', '_', '_')
    >>> len(name_part("x" * 1000)) <= MAX_NAME_PART
    True
    """
    import hashlib

    safe = _UNSAFE_RUN.sub("_", name)
    if safe.startswith("."):
        safe = "_" + safe.lstrip(".")
    safe = safe or "_"
    if len(safe) > MAX_NAME_PART:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        safe = f"{safe[: MAX_NAME_PART - 13]}-{digest}"
    return safe


def refuse_overlap(output: Path, source: Path, *, output_name: str = "--out", source_name: str = "--raw") -> None:
    """Raise :class:`ValueError` when ``output`` is ``source``, contains it or sits inside it.

    Replacing an output deletes what was there, so an output over its own input would destroy the
    input (``build --raw X --out X --overwrite`` replaced the raw manuals with the build). Symbolic
    links are resolved first, so a link cannot hide the overlap.

    >>> refuse_overlap(Path("out/built"), Path("data/raw"))
    >>> refuse_overlap(Path("data/raw/built"), Path("data/raw"))
    Traceback (most recent call last):
    ...
    ValueError: --out data/raw/built sits inside --raw data/raw; choose an --out outside it
    """
    out, src = Path(output).resolve(), Path(source).resolve()
    if out == src:
        relation = "is"
    elif src in out.parents:
        relation = "sits inside"
    elif out in src.parents:
        relation = "contains"
    else:
        return
    raise ValueError(f"{output_name} {output} {relation} {source_name} {source}; choose an {output_name} outside it")


#: The key every "written by this command" marker carries: which command wrote the folder.
WRITTEN_BY = "written_by"
#: A marker larger than this is not one (a build's manifest lists every file: a few MB at study scale).
MAX_MARKER_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class OutputKind:
    """What kind of output folder a command writes: the marker file it leaves, and its own name in it.

    ``--overwrite`` replaces only a folder whose marker names the same kind: a build and an export
    both leave a ``manifest.json``, so the file name alone cannot tell them apart (``export llava
    --out BUILD --overwrite`` deleted a build). ``legacy`` recognises a marker written before
    markers named their kind.

    >>> kind = OutputKind("build", "manifest.json")
    >>> kind.stamp({"counts": {}})
    {'counts': {}, 'written_by': 'lego-arta build'}
    """

    command: str
    marker: str
    legacy: Callable[[Mapping[str, Any]], bool] | None = None

    @property
    def label(self) -> str:
        return f"lego-arta {self.command}"

    def stamp(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` with this kind named in it, ready to be written as the marker."""
        return {**record, WRITTEN_BY: self.label}

    def accepts(self, record: Any) -> bool:
        if not isinstance(record, Mapping):
            return False
        if WRITTEN_BY in record:
            return record[WRITTEN_BY] == self.label
        return self.legacy is not None and self.legacy(record)


def _describe_writer(record: Any) -> str:
    writer = record.get(WRITTEN_BY) if isinstance(record, Mapping) else None
    if isinstance(writer, str) and len(writer) <= 80:
        return f"`{writer}`"
    return "an unknown writer"


def check_replaceable(path: Path, owner: str | OutputKind | None) -> None:
    """Refuse to replace ``path`` unless it is a folder written by ``owner``.

    ``owner`` is an :class:`OutputKind` (the marker must name that kind) or, for a writer whose
    marker file name is its own, that file name. :func:`atomic_directory` runs it before writing
    and again just before its swap; a caller with slow work ahead (a build that first synthesizes
    its manuals) runs it up front too, to fail before that work.
    """
    if owner is None:
        return
    marker = owner.marker if isinstance(owner, OutputKind) else owner
    if not path.is_dir() or path.is_symlink():
        raise FileExistsError(f"refusing to overwrite {path}: it is not a folder (only a folder holding {marker} is replaced)")
    if not (path / marker).is_file():
        raise FileExistsError(
            f"refusing to overwrite {path}: it holds no {marker}, so it was not written by this command; "
            "remove it yourself or choose another output folder"
        )
    if not isinstance(owner, OutputKind):
        return
    record: Any = None
    if (path / marker).stat().st_size <= MAX_MARKER_BYTES:
        try:
            record = json.loads((path / marker).read_bytes())
        except (UnicodeDecodeError, ValueError, RecursionError):
            record = None
    if not owner.accepts(record):
        raise FileExistsError(
            f"refusing to overwrite {path}: its {marker} was written by {_describe_writer(record)}, and `{owner.label}` "
            "replaces only a folder it wrote itself; remove it yourself or choose another output folder"
        )


def check_output_folder(path: Path, *, overwrite: bool = False, owner: str | OutputKind | None = None) -> None:
    """The check :func:`atomic_directory` makes before writing, for a caller to make up front.

    An existing ``path`` needs ``overwrite``, and with ``owner`` it must be a folder written by
    that kind of command. A command with slow work before its write (loading a model to merge)
    calls this first, so a refused ``--out`` costs nothing.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{path} already exists (pass --overwrite to replace it)")
        check_replaceable(path, owner)


class OutputBusyError(FileExistsError):
    """Another process is writing the same output folder: this one refuses at once."""


#: Lock files this process holds: lock path -> [file descriptor, nesting depth].
_HELD: dict[Path, list[int]] = {}


def _lock_path(path: Path) -> Path:
    path = Path(path)
    return path.absolute().parent.resolve() / f".{path.name}.lock"


def _stale_names(name: str) -> re.Pattern[str]:
    """Names of the temporaries :func:`atomic_directory` and :func:`atomic_write_bytes` make for ``name``."""
    return re.compile(rf"\.{re.escape(name)}\.(?:[a-z0-9_]{{8}}\.tmp|old)")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries an earlier, killed writer of ``path`` left beside it; returns them.

    Only the holder of ``path``'s lock calls it: any other writer of ``path`` would hold the lock,
    so every temporary of ``path`` is then a dead writer's.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / ".built.abcd1234.tmp").mkdir()
    >>> (root / ".built.v2.abcd1234.tmp").mkdir()
    >>> [p.name for p in remove_stale_temporaries(root / "built")]
    ['.built.abcd1234.tmp']
    """
    path = Path(path)
    pattern = _stale_names(path.name)
    try:
        entries = sorted(path.parent.iterdir())
    except OSError:
        return []
    removed = []
    for entry in entries:
        if pattern.fullmatch(entry.name):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"PID {text}" if text.isdigit() else "PID unknown"


def _acquire(lock: Path, path: Path, *, wait: bool) -> int:
    """An open, locked descriptor of ``lock`` holding this process's PID (kill -9 frees it: the kernel drops the lock)."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputBusyError(
                f"{path} is being written by another lego-arta process ({holder}); wait for it to finish or choose another output folder"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(lock)
            mine = os.fstat(fd)
            same = (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev)
        except FileNotFoundError:
            same = False
        if same:  # else the holder we waited for removed the file when done: lock the new one
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)
        time.sleep(0.01)


@contextmanager
def output_lock(path: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the one-writer lock of an output folder (or file) for the ``with`` body.

    A second writer of the same ``path`` raises :class:`OutputBusyError` naming the holder's PID
    (or, with ``wait``, waits: a shared cache, say). The lock is ``.NAME.lock`` beside ``path``,
    held with ``flock``: the kernel releases it when its process dies, even by ``kill -9``, so a
    lock is never stale. On taking it, temporaries a killed writer left beside ``path`` are
    removed. Nested use in one process is allowed (a build locks its ``--out`` for the whole run,
    and its atomic write locks it again).

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "built"
    >>> with output_lock(out), output_lock(out):
    ...     print(sorted(p.name for p in out.parent.iterdir()))
    ['.built.lock']
    >>> sorted(p.name for p in out.parent.iterdir())
    []
    """
    lock = _lock_path(path)
    if fcntl is None:
        yield
        return
    if lock in _HELD:
        _HELD[lock][1] += 1
        try:
            yield
        finally:
            _HELD[lock][1] -= 1
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(lock, Path(path), wait=wait)
    _HELD[lock] = [fd, 1]
    try:
        remove_stale_temporaries(Path(path))
        yield
    finally:
        del _HELD[lock]
        try:
            lock.unlink(missing_ok=True)  # while held: a waiter then sees it gone and locks a new file
        finally:
            os.close(fd)


@contextmanager
def atomic_directory(path: Path, *, overwrite: bool = False, owner: str | OutputKind | None = None, lock: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename.

    ``overwrite`` allows replacing an existing ``path``; with ``owner`` (an :class:`OutputKind`,
    or the file name of a marker only that command writes) only a folder that command wrote is
    replaced, so a mistyped ``--out`` is refused instead of deleted. The check runs before
    anything is written and again just before the swap: a folder that appeared at ``path`` in the
    meantime is kept, and this output discarded. The whole write holds ``path``'s
    :func:`output_lock` (``lock=False`` inside a folder that is itself a private temporary).

    >>> with atomic_directory(Path("out/built")) as tmp:
    ...     _ = (tmp / "manifest.json").write_text("{}")
    >>> with atomic_directory(Path("out/built"), overwrite=True, owner="manifest.json") as tmp:
    ...     _ = (tmp / "manifest.json").write_text('{"rows": 2}')
    >>> [p.name for p in Path("out").iterdir()], (Path("out/built") / "manifest.json").read_text()
    (['built'], '{"rows": 2}')
    """
    path = Path(path)
    with output_lock(path) if lock else _nothing():
        check_output_folder(path, overwrite=overwrite, owner=owner)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        tmp.chmod(_DIR_MODE)
        try:
            yield tmp
            if path.exists() or path.is_symlink():
                if not overwrite:
                    raise FileExistsError(
                        f"{path} appeared while this command ran: it was left as it is, and this run's output discarded; "
                        "choose another output folder"
                    )
                check_replaceable(path, owner)
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


@contextmanager
def _nothing() -> Iterator[None]:
    yield
