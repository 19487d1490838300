"""What a folder holds, for tests that compare two builds or check that nothing was touched."""

from __future__ import annotations

from pathlib import Path


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``: its path relative to the folder (``/``-separated) → its bytes.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = (Path(root) / "a").mkdir(), (Path(root) / "a" / "b.txt").write_bytes(b"x")
    ...     folder_files(Path(root))
    {'a/b.txt': b'x'}
    """
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}
