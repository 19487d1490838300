"""One manual's images, each decoded once and each embedded PNG encoded at most once, charged to the job's clocks.

Every task's pair maker of a manual asks for the same page images (the scene task, the state task
and the votes all read the assembly images); :class:`ManualImages` decodes each file once
(:func:`lego_arta.image.decode_stored`), hands out read-only arrays, and makes each file's PNG at
most once, stored as the file stores it. The encodes and decodes are charged to the
:class:`~lego_arta.dataset.costs.JobClocks` it is given.

>>> import numpy as np
>>> from lego_arta.dataset.costs import JobClocks
>>> clocks = JobClocks()
>>> encode_as(np.zeros((2, 2, 3), dtype=np.uint8), "RGB", clocks)[:4], clocks.encode.images
(b'\\x89PNG', 1)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lego_arta.annotate.collage import TileCache
from lego_arta.dataset.costs import JobClocks
from lego_arta.image import ImageError, decode_stored
from lego_arta.parse.manual import Manual, Row
from lego_arta.png import EncodingRecord, encode_png


def encode_as(image: np.ndarray, mode: str, clocks: JobClocks) -> bytes:
    """PNG of an RGB image as every embedded image is encoded (:func:`lego_arta.png.encode_png`),
    stored as ``mode`` (``"RGBA"``: opaque alpha added); timed on ``clocks.encode``."""
    with clocks.encode.timing():
        return encode_png(cv2.cvtColor(image, cv2.COLOR_RGB2RGBA) if mode == "RGBA" else image)


def _relative(row: Row, folder: Path) -> str:
    """A row's image path relative to its manual folder (so reports hold no absolute paths)."""
    try:
        return row.image.path.relative_to(folder).as_posix()
    except ValueError:
        return row.image.path.name


class ManualImages:
    """Decoded images of one manual, each read once; undecodable files are remembered by name.

    Decoded arrays are read-only, so an array handed out is the file's pixels for the manual's
    lifetime: its PNG is made at most once (:meth:`png`), stored as the file stores it (RGBA for
    an opaque RGBA file), and not encoded at all when the manual's
    :class:`~lego_arta.png.EncodingRecord` says the file already is that encoding. A file that
    is a plain PNG may also be embedded as its own bytes whatever its encoder (:meth:`file_png`).
    """

    def __init__(self, manual: Manual, errors: dict[str, str], clocks: JobClocks) -> None:
        self._folder = manual.folder
        self._clocks = clocks
        self._cache: dict[str, np.ndarray] = {}
        #: Each decoded file's own mode when its bytes may be embedded as they are, else None.
        self._stored: dict[str, str | None] = {}
        self._paths: dict[str, Path] = {}
        self._by_array: dict[int, str] = {}
        self._encoded: dict[str, bytes] = {}
        self._errors = errors
        self._record: EncodingRecord | None = EncodingRecord.read(manual.folder)
        #: Quadrant-sized copies of the images collages are made of (each resized once per manual).
        self.tiles = TileCache()

    def get(self, row: Row) -> np.ndarray:
        key = row.image.file
        if key not in self._cache:
            try:
                pixels, stored = decode_stored(row.image.path, self._clocks.decode)
            except ImageError as error:
                name = _relative(row, self._folder)
                cause = error.__cause__ or error
                reason = str(error).removeprefix(f"{row.image.path}: ")
                self._errors[name] = f"{type(cause).__name__}: {reason}".replace(str(row.image.path), name)
                raise
            pixels.setflags(write=False)
            self._cache[key], self._stored[key], self._paths[key] = pixels, stored, row.image.path
            self._by_array[id(pixels)] = key
        return self._cache[key]

    def recording(self, errors: dict[str, str]) -> ManualImages:
        """These images, undecodable files from now on recorded in ``errors`` (a failure is never cached)."""
        self._errors = errors
        return self

    def stored_mode(self, row: Row) -> str:
        """How the row's file stores its (RGB-decoded) pixels: ``"RGBA"`` for an opaque RGBA plain PNG, else ``"RGB"``."""
        self.get(row)
        return self._stored[row.image.file] or "RGB"

    def png(self, image: np.ndarray, like: Row | None = None) -> bytes:
        """PNG bytes of ``image``: a decoded file's pixels as :meth:`_own_png` stores them, once however
        often they are asked for; any other image stored as ``like``'s file is (RGB without it)."""
        key = self._by_array.get(id(image))
        if key is None or self._cache[key] is not image:
            return encode_as(image, "RGB" if like is None else self.stored_mode(like), self._clocks)
        if key not in self._encoded:
            self._encoded[key] = self._own_png(key)
        return self._encoded[key]

    def _own_png(self, key: str) -> bytes:
        """A decoded file's pixels encoded in the file's mode, or the file's bytes when the record
        says they are exactly that encoding (the same bytes, without the encode)."""
        path = self._paths[key]
        stored = self._stored[key]
        if self._record is not None and stored is not None and path.is_relative_to(self._folder):
            data = path.read_bytes()
            if self._record.holds(path.relative_to(self._folder).as_posix(), data):
                self._clocks.spared_encodes += 1
                return data
        return encode_as(self._cache[key], stored or "RGB", self._clocks)

    def file_png(self, row: Row) -> bytes:
        """The row's image as embedded bytes: the file itself when it is a plain PNG, else its pixels encoded."""
        pixels = self.get(row)
        key = row.image.file
        return self._paths[key].read_bytes() if self._stored[key] is not None else self.png(pixels)
