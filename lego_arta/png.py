"""The project's one PNG encoding of manual and dataset images, and the record that says a file already is it.

The synthetic manuals' images and every image a build encodes are :func:`encode_png` of their
pixels: Pillow at zlib level :data:`PNG_COMPRESS_LEVEL`, nothing but the pixel chunks. Encoding is deterministic, so a file written this way *is* what the build would
encode from its decoded pixels, and a build may embed the file's own bytes instead of encoding
them again. That matters for a state's positive: it must be stored exactly as its re-encoded
negatives are (same mode, zlib settings and chunk list), or the file would tell the answer.

Whether a file is that encoding cannot be seen from its bytes without encoding it again, so
whoever writes files this way says so in an :class:`EncodingRecord` beside them: the encoder's
:data:`ENCODER` name (Pillow and zlib versions, level) and each file's SHA-256. A reader trusts a
file only when both still match, so an edited file, or one written by another Pillow or zlib, is
encoded again. Crawled manuals have no record: their images come from the site's own encoder.

>>> import numpy as np
>>> pixels = np.zeros((2, 3, 4), dtype=np.uint8)
>>> data = encode_png(pixels)
>>> record = EncodingRecord.of({"images/a.png": data})
>>> record.holds("images/a.png", data), record.holds("images/a.png", data + b"x"), record.holds("b.png", data)
(True, False, False)
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, features

#: zlib level of every PNG the project encodes. Levels 1-3 are zlib's fast matcher, 4 and up its
#: lazy one: on 1024x473 collages level 1 takes 10.0 ms for 112 KiB, 3 10.9 ms for 110 KiB and 6
#: 16.1 ms for 103 KiB (docs/benchmarks.md); the encode is most of a pair's cost.
PNG_COMPRESS_LEVEL = 1
#: What makes the bytes: two runs with the same name give the same bytes for the same pixels.
ENCODER = f"Pillow {Image.__version__}, zlib {features.version('zlib')}, level {PNG_COMPRESS_LEVEL}"
#: The record's file name, in the folder whose files it lists (a manual's folder).
RECORD_FILE = "png-encoding.json"

_MODES = {3: "RGB", 4: "RGBA"}


def encode_png(pixels: np.ndarray | Image.Image) -> bytes:
    """PNG bytes of an 8-bit RGB ``(h, w, 3)`` or RGBA ``(h, w, 4)`` array, as the project stores every image.

    A Pillow image in mode RGB or RGBA is taken as it is (the same bytes as its array, without
    copying it out first); one carrying metadata (``info``: a DPI, a profile) is refused, since
    Pillow would write it into the file.

    >>> encode_png(np.zeros((1, 1, 3), dtype=np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if isinstance(pixels, Image.Image):
        if pixels.mode not in _MODES.values() or pixels.info:
            raise ValueError(f"expected an RGB or RGBA image without metadata, got mode {pixels.mode} with {sorted(pixels.info)}")
        image = pixels
    elif pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in _MODES:
        raise ValueError(f"expected an 8-bit RGB or RGBA array (h, w, 3|4), got {pixels.dtype} {pixels.shape}")
    else:
        image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


@dataclass(frozen=True)
class EncodingRecord:
    """Files known to be :func:`encode_png` of their pixels: the encoder's name and each file's SHA-256.

    Paths are relative to the record's folder, in POSIX form (``images/x.png``).
    """

    encoder: str = ENCODER
    sha256: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def of(files: Mapping[str, bytes]) -> EncodingRecord:
        """The record of ``files`` (relative path → bytes), all just written by :func:`encode_png`."""
        return EncodingRecord(ENCODER, {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())})

    def to_json(self) -> str:
        return json.dumps({"encoder": self.encoder, "sha256": dict(sorted(self.sha256.items()))}, indent=1, sort_keys=True) + "\n"

    @staticmethod
    def read(folder: Path) -> EncodingRecord | None:
        """The record in ``folder``, or ``None`` when there is none or it cannot be read (then no
        file is trusted, which only costs an encode)."""
        try:
            found = json.loads((Path(folder) / RECORD_FILE).read_text(encoding="utf-8"))
            encoder, digests = found["encoder"], found["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(encoder, str) or not isinstance(digests, dict):
            return None
        return EncodingRecord(encoder, {str(k): str(v) for k, v in digests.items()})

    def holds(self, name: str, data: bytes) -> bool:
        """Whether ``data``, the bytes of file ``name``, is this process's :func:`encode_png` of its pixels."""
        return self.encoder == ENCODER and self.sha256.get(name) == hashlib.sha256(data).hexdigest()
