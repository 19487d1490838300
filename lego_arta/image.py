"""Decoding the manuals' image files into RGB pixels, safely and fast, and timing image work.

The build reads every manual image through :func:`decode_stored`: it refuses a file whose header
declares an impossible size before decoding a pixel (a decompression bomb costs nothing), decodes
the manuals' plain 8-bit PNGs with libspng, converts every other mode to RGB (16-bit grey scaled,
transparency composited on the page's background) and says whether the file's own bytes may be
embedded in a row as they are. Its encoding counterpart is :mod:`lego_arta.png`.

:class:`ImageClock` times one kind of image work (encoding, decoding); whoever does the work is
handed the clock to charge (nothing here keeps a process-wide one), so a job's costs are its own.

>>> import tempfile
>>> from lego_arta.png import encode_png
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.png").write_bytes(encode_png(np.full((20, 30, 3), 7, dtype=np.uint8)))
>>> clock = ImageClock()
>>> pixels, mode = decode_stored(folder / "a.png", clock)
>>> pixels.shape, int(pixels[0, 0, 0]), mode, clock.images
((20, 30, 3), 7, 'RGB', 1)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pyspng
from PIL import Image, UnidentifiedImageError

from lego_arta.tasks.spec import ImageError

__all__ = ["ImageClock", "ImageError", "decode_image", "decode_stored", "png_chunks", "read_rgb"]

#: Accepted image sizes. Real manual images are 2778x1284 (3.6 megapixels) and synthetic ones
#: about 1024x473; a side under 16 pixels cannot show a part, and over 40 megapixels is no manual
#: image (a decompression bomb declares 900 megapixels in a few bytes). Outside: an ImageError.
MIN_IMAGE_SIDE = 16
MAX_IMAGE_PIXELS = 40_000_000
#: Page background the site shows behind transparent pixels; alpha is composited onto it.
BACKGROUND_RGB = (255, 255, 255)
#: Modes of more than 8 bits per sample, read as 16-bit integers (PNG's 16-bit greyscale opens as these).
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
#: PNG chunks that carry pixels or colour facts only: a raw file with any other (text, EXIF) is
#: re-encoded rather than embedded, so nothing but pixels goes into a row.
_PLAIN_PNG_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"pHYs", b"gAMA", b"sRGB", b"cHRM"})


@dataclass
class ImageClock:
    """Time one process spends on one kind of image work (PNG encoding, decoding): wall seconds,
    CPU seconds of the working thread (steadier on a machine shared with other jobs) and images.

    The build reports the clocks beside its wall time, so a run shows how much of its cost is the
    codec work no build can avoid (:class:`~lego_arta.dataset.costs.RunStats`).

    >>> clock = ImageClock()
    >>> with clock.timing():
    ...     _ = sum(range(1000))
    >>> clock.images, clock.seconds > 0
    (1, True)
    """

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    images: int = 0

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Count the block as one image's work."""
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start
            self.cpu_seconds += time.thread_time() - cpu
            self.images += 1


def _check_size(path: Path, size: tuple[int, int]) -> None:
    width, height = size
    if min(width, height) < MIN_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise ImageError(
            f"{path}: image of {width}x{height} pixels is outside the accepted range "
            f"(sides >= {MIN_IMAGE_SIDE}, at most {MAX_IMAGE_PIXELS:,} pixels)"
        )


def _to_rgb(image: Image.Image, path: Path) -> np.ndarray:
    """RGB uint8 pixels of a decoded image, whatever its mode.

    16-bit greyscale is scaled to 8 bits (``convert("RGB")`` clips it to white); transparency
    (RGBA, LA, palette or greyscale with a transparent colour) is composited onto
    :data:`BACKGROUND_RGB`; a fully transparent image shows nothing and is an :class:`ImageError`.
    """
    if image.mode in _WIDE_MODES:
        wide = np.asarray(image, dtype=np.int64)
        grey = np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "RGBA" and "transparency" not in image.info:
        pixels = np.asarray(image)
        if pixels[:, :, 3].min() == 255:  # opaque (the manuals' assembly images): compositing changes nothing
            return np.ascontiguousarray(pixels[:, :, :3])
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba)[:, :, 3]
        if not alpha.any():
            raise ImageError(f"{path}: fully transparent image (nothing visible)")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND_RGB, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"))


def png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG stream, in order (a truncated stream lists what it holds).

    Pillow reads the chunks after the pixels only when it decodes with its own decoder, so the
    fast path reads the list here to see a text chunk anywhere in the file.

    >>> from lego_arta.png import encode_png
    >>> png_chunks(encode_png(np.zeros((1, 1, 3), dtype=np.uint8)))
    [b'IHDR', b'IDAT', b'IEND']
    """
    chunks, at = [], 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunks.append(bytes(data[at + 4 : at + 8]))
        at += 12 + length
    return chunks


def _opaque_png_pixels(image: Image.Image) -> tuple[np.ndarray, str | None] | None:
    """RGB pixels of an 8-bit RGB or opaque RGBA PNG, decoded by libspng; ``None`` for anything else.

    These are the manuals' assembly images, and decoding them is the build's largest cost after
    encoding: libspng (``pyspng``) decodes them in about 0.7x the time of OpenCV's libpng and a
    third of Pillow's decode plus the copy out of its RGBA buffer (``benchmarks/bench_build.py``
    reports the decode time per image), into a contiguous array in the file's own channel order,
    and gives the same pixels (``tests/dataset/test_hostile_images.py``). Every other file
    (16-bit, palette, grey, transparent, a stream libspng refuses) returns ``None`` and takes
    Pillow's path in :func:`decode_stored`. ``image`` is the opened, not yet loaded file; its
    header chose the path. The pixels come with the file's mode (``"RGB"`` or ``"RGBA"``) when it
    may be embedded as it is (only :data:`_PLAIN_PNG_CHUNKS` in it), else ``None``.
    """
    if image.format != "PNG" or image.mode not in ("RGB", "RGBA") or "transparency" in image.info:
        return None
    image.fp.seek(0)
    data = image.fp.read()
    try:
        pixels = pyspng.load(data)  # no colour conversion, no gamma, no EXIF rotation
    except (RuntimeError, ValueError):  # libspng's refusal of a damaged stream: Pillow names the error
        return None
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != len(image.mode) or pixels.shape[1::-1] != image.size:
        return None
    if image.mode == "RGBA":
        if cv2.minMaxLoc(np.ascontiguousarray(pixels[:, :, 3]))[0] < 255:  # see-through somewhere: Pillow composites it
            return None
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2RGB)
    return pixels, image.mode if set(png_chunks(data)) <= _PLAIN_PNG_CHUNKS else None


def decode_stored(path: Path, clock: ImageClock | None = None) -> tuple[np.ndarray, str | None]:
    """An image file as RGB uint8, and the mode the file stores it in (``"RGB"`` or ``"RGBA"``)
    when the file's own bytes may be embedded as they are, else ``None``; timed on ``clock``.

    Only a file :func:`_opaque_png_pixels` decodes may be: an 8-bit RGB or opaque RGBA PNG (the
    synthetic and the real assembly images) with nothing but :data:`_PLAIN_PNG_CHUNKS`, so every
    reader sees exactly these pixels and no text chunk carries a file name into a row.

    Raises :class:`ImageError` naming the file. The size is checked from the header before any
    pixel is decoded (so a decompression bomb costs nothing); a plain PNG is decoded by
    :func:`_opaque_png_pixels`, other modes are converted by :func:`_to_rgb`.
    """
    try:
        with clock.timing() if clock is not None else nullcontext(), warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit follows
            with Image.open(path) as image:
                _check_size(path, image.size)
                fast = _opaque_png_pixels(image)
                if fast is not None:
                    return fast
                image.load()
                return _to_rgb(image, path), None
    except Image.DecompressionBombError as error:  # Pillow refuses the header before we see the size
        raise ImageError(f"{path}: image is outside the accepted range (at most {MAX_IMAGE_PIXELS:,} pixels): {error}") from error
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as error:
        if isinstance(error, ImageError):
            raise
        raise ImageError(f"{path}: cannot decode image ({error})") from error


def decode_image(path: Path) -> tuple[np.ndarray, bool]:
    """An image file as RGB uint8, and whether its own bytes may be embedded as they are
    (:func:`decode_stored`, without the file's mode)."""
    pixels, stored = decode_stored(path)
    return pixels, stored is not None


def read_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8; raises :class:`ImageError` naming the file (see :func:`decode_stored`)."""
    return decode_stored(path)[0]
