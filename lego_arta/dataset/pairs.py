"""Turn one parsed manual into the rows of every task (SPEC §3), through each task's pair maker.

Each :class:`~lego_arta.tasks.spec.TaskSpec` makes its own pairs; this module gives it a
:class:`ManualContext`: the manual's images decoded once, the recipe's grounder, collages,
boundary colours and negatives from :mod:`lego_arta.annotate`, row assembly with an opaque id, and
skip counting. Everything here works per manual, so manuals build in parallel and a manual's rows
depend only on (manual, recipe, seed).

Rows never carry file names or anything else that reveals the answer: ids are hashes, embedded
images are named ``<id>.png``. Every row is checked against its task's features where it is made.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyspng
from PIL import Image, UnidentifiedImageError

from lego_arta.annotate.boundary import BoundaryVote, session_boundary
from lego_arta.annotate.collage import TileCache, make_collage
from lego_arta.annotate.grounding import Grounder, part_phrases
from lego_arta.annotate.state_negatives import StateNegatives, state_negatives
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.parse.manual import Manual, Row
from lego_arta.png import EncodingRecord, encode_png
from lego_arta.tasks import get_task
from lego_arta.tasks.prompts import Query
from lego_arta.tasks.spec import ImageError, TaskSpec, check_row

__all__ = ["ImageError", "ManualContext", "ManualPairs", "build_manual_pairs", "iter_rows", "pair_id", "vote_and_build_pairs"]


@dataclass
class ManualPairs:
    """The rows one manual contributes to each task, and what was skipped and why."""

    manual_id: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skips: Counter[str] = field(default_factory=Counter)
    annotations: dict[str, Any] = field(default_factory=dict)
    #: Image files (relative to the manual folder) that could not be decoded, with the decoder's reason.
    image_errors: dict[str, str] = field(default_factory=dict)
    #: What making them cost (seconds, PNG encodes, the worker's peak memory): run facts for the
    #: build's summary and benchmarks, never written into the build (they differ between runs).
    stats: dict[str, float] = field(default_factory=dict)
    #: The sessions' boundary votes, when the job voted itself (:func:`vote_and_build_pairs`).
    votes: dict[str, Any] | None = None


def pair_id(*parts: object) -> str:
    """Opaque, stable id: the answer cannot be read from it, the same inputs give the same id."""
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:20]


def manual_rng(manual_id: str, seed: int, task: str) -> np.random.Generator:
    """A generator seeded by (seed, manual, task) alone: results depend neither on build order nor
    on which other tasks are built (the loading script builds one config at a time)."""
    digest = int.from_bytes(hashlib.sha256(f"{manual_id}|{task}".encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


#: Accepted image sizes. Real manual images are 2778x1284 (3.6 megapixels) and synthetic ones
#: about 1024x473; a side under 16 pixels cannot show a part, and over 40 megapixels is no manual
#: image (a decompression bomb declares 900 megapixels in a few bytes). Outside: an ImageError.
MIN_IMAGE_SIDE = 16
MAX_IMAGE_PIXELS = 40_000_000
#: Page background the site shows behind transparent pixels; alpha is composited onto it.
BACKGROUND_RGB = (255, 255, 255)
#: Modes of more than 8 bits per sample, read as 16-bit integers (PNG's 16-bit greyscale opens as these).
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


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


#: PNG chunks that carry pixels or colour facts only: a raw file with any other (text, EXIF) is
#: re-encoded rather than embedded, so nothing but pixels goes into a row.
_PLAIN_PNG_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"pHYs", b"gAMA", b"sRGB", b"cHRM"})


def png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG stream, in order (a truncated stream lists what it holds).

    Pillow reads the chunks after the pixels only when it decodes with its own decoder, so the
    fast path reads the list here to see a text chunk anywhere in the file.

    >>> png_chunks(png_bytes(np.zeros((1, 1, 3), dtype=np.uint8)))
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
    Pillow's path in :func:`decode_image`. ``image`` is the opened, not yet loaded file; its
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


def decode_image(row: Row) -> tuple[np.ndarray, bool]:
    """A row's image as RGB uint8, and whether the file's own bytes may be embedded as they are
    (:func:`decode_stored`, without the file's mode)."""
    pixels, stored = decode_stored(row)
    return pixels, stored is not None


def decode_stored(row: Row) -> tuple[np.ndarray, str | None]:
    """A row's image as RGB uint8, and the mode the file stores it in (``"RGB"`` or ``"RGBA"``)
    when the file's own bytes may be embedded as they are, else ``None``.

    Only a file :func:`_opaque_png_pixels` decodes may be: an 8-bit RGB or opaque RGBA PNG (the
    synthetic and the real assembly images) with nothing but :data:`_PLAIN_PNG_CHUNKS`, so every
    reader sees exactly these pixels and no text chunk carries a file name into a row.

    Raises :class:`ImageError` naming the file. The size is checked from the header before any
    pixel is decoded (so a decompression bomb costs nothing); a plain PNG is decoded by
    :func:`_opaque_png_pixels`, other modes are converted by :func:`_to_rgb`.
    """
    path = row.image.path
    try:
        with DECODE_CLOCK.timing(), warnings.catch_warnings():
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


def read_rgb(row: Row) -> np.ndarray:
    """Decode a row's image as RGB uint8; raises :class:`ImageError` naming the file (see :func:`decode_image`)."""
    return decode_image(row)[0]


def clamp_box(box: Sequence[float], width: int, height: int) -> tuple[float, float, float, float] | None:
    """A pixel box cut to its image (``width``×``height``), or ``None`` when nothing of it is inside.

    A grounder's box may come from elsewhere than the decoded image (truth boxes are in the
    generator's pixels): a box off the image would map far outside the 0–100 frame.

    >>> clamp_box((-5, 10, 50, 400), 100, 200), clamp_box((120, 0, 130, 10), 100, 200)
    ((0.0, 10.0, 50.0, 200.0), None)
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    right, bottom = float(width), float(height)
    x1, x2 = max(0.0, min(x1, right)), max(0.0, min(x2, right))
    y1, y2 = max(0.0, min(y1, bottom)), max(0.0, min(y2, bottom))
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2


@dataclass
class ImageClock:
    """Time one process spends on one kind of image work (PNG encoding, decoding): wall seconds,
    CPU seconds of the working thread (steadier on a machine shared with other jobs) and images.

    The build reports both clocks beside its wall time, so a run shows how much of its cost is
    the codec work no build can avoid (:class:`~lego_arta.dataset.pipeline.RunStats`).

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

    def reading(self) -> tuple[float, float, int]:
        """(seconds, CPU seconds, images) so far: a job's share is the difference of two readings."""
        return self.seconds, self.cpu_seconds, self.images


#: This process's encode and decode time; a worker sends each manual's share back in :attr:`ManualPairs.stats`.
ENCODE_CLOCK = ImageClock()
DECODE_CLOCK = ImageClock()
#: Files embedded as the encoding their :class:`~lego_arta.png.EncodingRecord` vouches for: encodes
#: spared (only its count is used).
SPARED_ENCODES = ImageClock()


def png_bytes(image: np.ndarray, *, mode: str = "RGB") -> bytes:
    """PNG of an RGB image as every embedded image is encoded (:func:`lego_arta.png.encode_png`),
    stored as ``mode`` (``"RGBA"``: opaque alpha added); timed in :data:`ENCODE_CLOCK`.

    >>> png_bytes(np.zeros((2, 2, 3), dtype=np.uint8))[:4]
    b'\\x89PNG'
    """
    with ENCODE_CLOCK.timing():
        return encode_png(cv2.cvtColor(image, cv2.COLOR_RGB2RGBA) if mode == "RGBA" else image)


def _relative(row: Row, folder: Path) -> str:
    """A row's image path relative to its manual folder (so reports hold no absolute paths)."""
    try:
        return row.image.path.relative_to(folder).as_posix()
    except ValueError:
        return row.image.path.name


class _Images:
    """Decoded images of one manual, each read once; undecodable files are remembered by name.

    Decoded arrays are read-only, so an array handed out is the file's pixels for the manual's
    lifetime: its PNG is made at most once (:meth:`png`), stored as the file stores it (RGBA for
    an opaque RGBA file), and not encoded at all when the manual's
    :class:`~lego_arta.png.EncodingRecord` says the file already is that encoding. A file that
    is a plain PNG may also be embedded as its own bytes whatever its encoder (:meth:`file_png`).
    """

    def __init__(self, manual: Manual, errors: dict[str, str]) -> None:
        self._folder = manual.folder
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
                pixels, stored = decode_stored(row)
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

    def recording(self, errors: dict[str, str]) -> _Images:
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
            return png_bytes(image, mode="RGB" if like is None else self.stored_mode(like))
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
                SPARED_ENCODES.images += 1
                return data
        return png_bytes(self._cache[key], mode=stored or "RGB")

    def file_png(self, row: Row) -> bytes:
        """The row's image as embedded bytes: the file itself when it is a plain PNG, else its pixels encoded."""
        pixels = self.get(row)
        key = row.image.file
        return self._paths[key].read_bytes() if self._stored[key] is not None else self.png(pixels)


class ManualContext:
    """The :class:`~lego_arta.tasks.spec.PairContext` of one manual and one task."""

    def __init__(self, manual: Manual, recipe: BuildRecipe, grounder: Grounder, spec: TaskSpec,
                 out: ManualPairs, images: _Images, votes: dict[str, BoundaryVote | None], skip_prefix: str = "") -> None:  # fmt: skip
        self.manual, self.recipe, self.spec = manual, recipe, spec
        self.rng = manual_rng(manual.manual_id, recipe.seed, spec.name)
        self._grounder, self._out, self._images, self._votes = grounder, out, images, votes
        self._skip_prefix = skip_prefix

    def for_task(self, name: str) -> ManualContext:
        """The context another task's pair maker would get for this manual (the same seeded
        generator, so the same rows), its skips counted under this task's name."""
        return ManualContext(self.manual, self.recipe, self._grounder, get_task(name), self._out, self._images,
                             self._votes, skip_prefix=f"{self._skip_prefix}{self.spec.name} via ")  # fmt: skip

    def image(self, row: Row) -> np.ndarray:
        return self._images.get(row)

    def png(self, image: np.ndarray, like: Row | None = None) -> bytes:
        return self._images.png(image, like)

    def file_png(self, row: Row) -> bytes:
        return self._images.file_png(row)

    def skip(self, reason: str, count: int = 1) -> None:
        self._out.skips[self._skip_prefix + reason] += count

    def annotate(self, kind: str, key: str, value: Any) -> None:
        self._out.annotations.setdefault(kind, {})[key] = value

    def assembly_rows(self) -> list[tuple[Row, Row | None]]:
        manual = self.manual
        return [(row, manual.eop_row(row.session, row.step_num)) for row in manual.rows if row.step_class == "step" and row.step_num is not None]

    def row(self, step: Row, query: Query, answer: str, variant: str, image: bytes, **columns: Any) -> dict[str, Any]:
        task, manual = self.spec.name, self.manual
        row_id = pair_id(task, manual.manual_id, step.session, step.step_num, variant, self.recipe.seed)
        record = {
            "id": row_id,
            "query": query.text,
            "answer": answer,
            "task_token": query.task_token,
            "instruction": query.instruction,
            "question": query.question,
            "manual_id": manual.manual_id,
            "session": step.session,
            "step_num": int(step.step_num or 0),
            "image": {"bytes": image, "path": f"{row_id}.png"},
            **columns,
        }
        for name in self.spec.extra_images:  # further frames, named after the row like its image
            if isinstance(record.get(name), bytes):
                record[name] = {"bytes": record[name], "path": f"{row_id}-{name}.png"}
        check_row(self.spec, record, where=f"{manual.manual_id}: {task} pair maker")
        return record

    def ground(self, row: Row, image: np.ndarray, line: Any) -> list[Any] | None:
        phrases = part_phrases(line)
        boxes = self._grounder.ground(row, image, phrases) if phrases else []
        found = [box for box in boxes if box is not None]
        if not phrases or len(found) < len(phrases):
            self.skip(f"{self.spec.name}: {self._grounder.name} grounding found no box for a named part")
            return None
        height, width = image.shape[:2]
        found = [clamp_box(box, width, height) for box in found]
        if any(box is None for box in found):
            self.skip(f"{self.spec.name}: grounded box outside its image")
            return None
        self.annotate("grounding", row.image.file, [list(map(float, b)) for b in found])
        return found

    def collage(self, tiles: Sequence[np.ndarray], quadrant: int, box: Any) -> tuple[np.ndarray, Any]:
        collage = make_collage(tiles, quadrant, box, size=(self.recipe.collage_width, self.recipe.collage_height), tiles=self._images.tiles)
        return collage.image, collage.box

    def boundary_colour(self, session: str) -> tuple[Any, bool]:
        if not self._votes:
            self._vote_sessions()
        vote = self._votes.get(session)
        return (None, False) if vote is None else (vote.bound_color, True)

    def _vote_sessions(self) -> None:
        self._votes.update(session_votes(self.manual, self.recipe, self._images))
        self._out.annotations["boundary"] = boundary_annotations(self._votes)

    def negatives(self, step: Row, before: Row, colour: Any) -> StateNegatives:
        """The state's negatives of the recipe's kinds (:mod:`lego_arta.annotate.state_negatives`)."""
        return state_negatives(self.recipe.negatives, self.recipe.negatives_per_state, self.rng,
                               manual_folder=self.manual.folder, step_file=step.image.file,
                               step_image=self.image(step), previous_image=self.image(before),
                               boundary=colour, min_displacement=self.recipe.min_displacement)  # fmt: skip


def session_votes(manual: Manual, recipe: BuildRecipe, images: _Images | None = None) -> dict[str, BoundaryVote | None]:
    """Boundary colour vote of every session, over the assembly images that decode.

    One undecodable image costs only its own pairs (it is listed in the image errors): the
    session still votes on the rest. A session none of whose images decode gets no vote.
    """
    images = images or _Images(manual, {})
    votes: dict[str, BoundaryVote | None] = {}
    for session in manual.sessions:
        pixels = []
        for row in manual.rows:
            if row.step_class == "step" and row.session == session:
                try:
                    pixels.append(images.get(row))
                except ImageError:
                    continue
        votes[session] = session_boundary(pixels, clusters=recipe.kmeans_clusters, seed=recipe.seed) if pixels else None
    return votes


def boundary_annotations(votes: dict[str, BoundaryVote | None]) -> dict[str, Any]:
    """The manifest's record of the votes: candidate colours and the voted colour per session."""
    return {
        s: {"color_list": [list(c) for c in v.color_list], "bound_color": None if v.bound_color is None else list(v.bound_color)}
        for s, v in votes.items() if v is not None
    }  # fmt: skip


#: Stratum of a manual with at least one highlighted session: the state task needs one.
HIGHLIGHT = "highlight"


def manual_strata(votes: dict[str, BoundaryVote | None]) -> frozenset[str]:
    """What a manual offers the split's stratification: :data:`HIGHLIGHT` when a session has a boundary colour.

    >>> manual_strata({"a": None}), manual_strata({"a": BoundaryVote((), (255, 0, 0), 1.0)})
    (frozenset(), frozenset({'highlight'}))
    """
    return frozenset({HIGHLIGHT}) if any(v is not None and v.bound_color is not None for v in votes.values()) else frozenset()


def vote_and_build_pairs(manual: Manual, recipe: BuildRecipe, grounder: Grounder, *, strict: bool = False) -> ManualPairs:
    """The sessions' votes, then every task's rows (for every split), from one decode of each image.

    The same rows as :func:`build_manual_pairs` given the votes :func:`session_votes` makes in a
    job of its own, and the votes come back in :attr:`ManualPairs.votes`: a build whose tasks all
    have every split needs no split before the pairs, so it votes here and splits afterwards.
    """
    images = _Images(manual, {})
    votes = session_votes(manual, recipe, images)
    pairs = build_manual_pairs(manual, recipe, grounder, strict=strict, votes=votes, images=images)
    pairs.votes = votes
    return pairs


def build_manual_pairs(manual: Manual, recipe: BuildRecipe, grounder: Grounder, *, strict: bool = False,
                       split: str | None = None, votes: dict[str, BoundaryVote | None] | None = None,
                       images: _Images | None = None) -> ManualPairs:
    """All rows of every task the recipe names for one manual, shuffled within the manual (seeded).

    With the manual's ``split``, a task without that split makes no rows for it (by design, not a skip).

    An undecodable image is a counted skip (and listed in :attr:`ManualPairs.image_errors`), or with
    ``strict`` an :class:`ImageError` naming the file before any pair is made. ``votes`` are the
    sessions' boundary votes when the split already made them (:func:`session_votes`); ``images``
    the manual's images already decoded for them (what failed to decode there is tried again here,
    so the image errors are the ones this call meets).
    """
    out = ManualPairs(manual.manual_id)
    images = images.recording(out.image_errors) if images is not None else _Images(manual, out.image_errors)
    if strict:
        for row in manual.rows:
            if row.step_class in ("eop", "step"):
                images.get(row)
    if votes:
        votes = dict(votes)
        out.annotations["boundary"] = boundary_annotations(votes)
    else:
        votes = {}
    for task in recipe.configs:
        if split is not None and split not in get_task(task).splits:
            out.rows[task] = []
            continue
        context = ManualContext(manual, recipe, grounder, get_task(task), out, images, votes)
        rows = context.spec.make_pairs(context)
        out.rows[task] = [rows[int(i)] for i in context.rng.permutation(len(rows))]
    return out


def iter_rows(pairs: Sequence[ManualPairs], task: str) -> Iterator[dict[str, Any]]:
    for manual_pairs in pairs:
        yield from manual_pairs.rows.get(task, [])
