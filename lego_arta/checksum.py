"""SHA-256 of a file, read in blocks: the one checksum the build manifest, the push and fine-tuning share.

The build records every file's checksum in ``manifest.json``; ``push`` verifies them before it
uploads, and fine-tuning traces a run to the exact data and adapter it used. All of them must
compute the same digest the same way, so the helper sits at the bottom of the package, beside
:mod:`lego_arta.atomic`, where every layer may import it. Files are read in blocks, so a
multi-gigabyte shard never sits in memory; a progress bar (a ``tqdm``) may follow the bytes read.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "hello.txt"
...     _ = path.write_bytes(b"hello\\n")
...     sha256_file(path)
'5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

#: Bytes read per block: large enough to be fast, small enough to stream any shard.
HASH_BLOCK_BYTES = 1 << 20


class Progress(Protocol):
    """What :func:`sha256_file` needs of a progress bar (``tqdm`` has it): a count of bytes done."""

    def update(self, n: int) -> object: ...


def sha256_file(path: Path, bar: Progress | None = None) -> str:
    """Hex SHA-256 of the file at ``path``; ``bar`` (when given) advances by every block's size."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK_BYTES), b""):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (an encoded image, say: the probe feature cache's key).

    >>> sha256_bytes(b"hello\\n") == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    True
    """
    return hashlib.sha256(data).hexdigest()
