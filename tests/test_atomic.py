"""Atomic writes: outputs appear whole, with the permissions a normal write would give them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lego_arta.atomic import atomic_directory, atomic_write_bytes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_written_file_has_umask_permissions_not_private(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.bin"
    atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_directory_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "built"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_umask()
    with pytest.raises(RuntimeError), atomic_directory(target, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["built"]
    with pytest.raises(FileExistsError):
        with atomic_directory(target):
            pass
