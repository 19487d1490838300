"""Atomic writes: a file or folder appears complete under its final name, or not at all.

Readers (a resumed crawl, a build reading its inputs, a user's ``load_dataset``) never see a
half-written output, even when a run is interrupted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


def check_replaceable(path: Path, owner: str | None) -> None:
    """Refuse to replace ``path`` unless it is a folder holding ``owner``, the file its writer leaves.

    :func:`atomic_directory` runs it before writing; a caller with slow work ahead (a build that
    first synthesizes its manuals) runs it up front too, to fail before that work.
    """
    if owner is None:
        return
    if not path.is_dir() or path.is_symlink():
        raise FileExistsError(f"refusing to overwrite {path}: it is not a folder (only a folder holding {owner} is replaced)")
    if not (path / owner).is_file():
        raise FileExistsError(
            f"refusing to overwrite {path}: it holds no {owner}, so it was not written by this command; "
            "remove it yourself or choose another output folder"
        )


def check_output_folder(path: Path, *, overwrite: bool = False, owner: str | None = None) -> None:
    """The check :func:`atomic_directory` makes before writing, for a caller to make up front.

    An existing ``path`` needs ``overwrite``, and with ``owner`` it must be a folder holding that
    file. A command with slow work before its write (loading a model to merge) calls this first,
    so a refused ``--out`` costs nothing.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{path} already exists (pass --overwrite to replace it)")
        check_replaceable(path, owner)


@contextmanager
def atomic_directory(path: Path, *, overwrite: bool = False, owner: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename.

    ``overwrite`` allows replacing an existing ``path``; with ``owner`` (a file name such as the
    build manifest) only a folder that holds that file is replaced, so a mistyped ``--out`` is
    refused instead of deleted. The check runs before anything is written.

    >>> with atomic_directory(Path("out/built")) as tmp:
    ...     _ = (tmp / "manifest.json").write_text("{}")
    >>> with atomic_directory(Path("out/built"), overwrite=True, owner="manifest.json") as tmp:
    ...     _ = (tmp / "manifest.json").write_text('{"rows": 2}')
    >>> [p.name for p in Path("out").iterdir()], (Path("out/built") / "manifest.json").read_text()
    (['built'], '{"rows": 2}')
    """
    path = Path(path)
    check_output_folder(path, overwrite=overwrite, owner=owner)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(_DIR_MODE)
    try:
        yield tmp
        if path.exists():
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
