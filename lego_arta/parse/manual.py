"""Typed manuals read from a folder of raw manuals, whichever source wrote it (generator or crawler).

Not run as a doctest: it needs a folder of raw manuals.

>>> manuals = load_manuals("raw/")          # doctest: +SKIP
>>> manuals[0].rows[1].step_class, manuals[0].rows[1].lines[0].first("verb")   # doctest: +SKIP
('eop', 'Find')

Session, step number and step class come from the image file names exactly as in the real data;
entities come from the span classes. Anything that cannot be read is either an error (``strict``)
or a :class:`Skip` recorded in :attr:`ManualSet.skips` and logged, never a silent drop.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import overload
from urllib.parse import unquote

from lego_arta.executor import Executor, LocalExecutor
from lego_arta.parse.page import PageFormatError, TextLine, parse_page
from lego_arta.source.layout import (
    ImageName,
    StepClass,
    UnknownImageName,
    file_name_from_src,
    images_dir,
    page_path,
    parse_image_name,
    split_manual_id,
)

log = logging.getLogger(__name__)


class ManualError(ValueError):
    """A raw manual that cannot be read; the message names the file and what was expected."""


@dataclass(frozen=True)
class ImageRef:
    """An image of a row: on-disk path, source URL and what its file name says."""

    file: str
    path: Path
    src: str
    name: ImageName

    @property
    def decoded_file(self) -> str:
        return unquote(self.file)


@dataclass(frozen=True)
class Row:
    """One row of a manual page: one image and its text lines."""

    index: int
    image: ImageRef
    lines: tuple[TextLine, ...]

    @property
    def step_class(self) -> StepClass:
        return self.image.name.step_class

    @property
    def session(self) -> str:
        return self.image.name.session

    @property
    def step_num(self) -> int | None:
        return self.image.name.step_num

    @property
    def text(self) -> str:
        """All lines joined by a space: the row's instruction as one string."""
        return " ".join(line.text for line in self.lines)


@dataclass(frozen=True)
class Manual:
    """A parsed manual: its id, set and rows in page order."""

    manual_id: str
    set_number: str
    title: str
    folder: Path
    rows: tuple[Row, ...]

    @property
    def sessions(self) -> tuple[str, ...]:
        """Session names (``id_sign``) in order of first appearance, start images excluded."""
        seen = dict.fromkeys(row.session for row in self.rows if row.step_class != "start")
        return tuple(seen)

    @cached_property
    def _eop_index(self) -> dict[tuple[str, int | None], Row]:
        """(session, step number) → its object-finding row, the first one in page order; built once."""
        index: dict[tuple[str, int | None], Row] = {}
        for row in self.rows:
            if row.step_class == "eop":
                index.setdefault((row.session, row.step_num), row)
        return index

    def eop_row(self, session: str, step_num: int) -> Row | None:
        """The object-finding row paired with an assembly step (same session and step number).

        A dictionary lookup: a scan per row made parsing quadratic in the page size.
        """
        return self._eop_index.get((session, step_num))

    def count(self, step_class: StepClass) -> int:
        return sum(1 for row in self.rows if row.step_class == step_class)


@dataclass(frozen=True)
class Skip:
    """Something left out while loading, and why."""

    manual_id: str
    reason: str
    row: int | None = None

    def __str__(self) -> str:
        where = self.manual_id if self.row is None else f"{self.manual_id} row {self.row}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ManualSet(Sequence[Manual]):
    """The manuals of a folder plus everything that was skipped while reading them."""

    manuals: tuple[Manual, ...]
    skips: tuple[Skip, ...] = field(default_factory=tuple)

    @overload
    def __getitem__(self, index: int) -> Manual: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Manual]: ...
    def __getitem__(self, index: int | slice) -> Manual | Sequence[Manual]:
        return self.manuals[index]

    def __len__(self) -> int:
        return len(self.manuals)

    def __iter__(self) -> Iterator[Manual]:
        return iter(self.manuals)

    def skip_counts(self) -> Counter[str]:
        """Skips per kind of reason (the text before the first colon)."""
        return skip_counts(self.skips)


def skip_counts(skips: Iterable[Skip]) -> Counter[str]:
    """Skips per kind of reason (the text before the first colon).

    >>> skip_counts([Skip("m1", "missing image: a.png", row=3), Skip("m2", "unreadable manual: no table")])
    Counter({'missing image': 1, 'unreadable manual': 1})
    """
    return Counter(skip.reason.split(":", 1)[0] for skip in skips)


def read_manual(folder: Path, *, strict: bool = False, skips: list[Skip] | None = None) -> Manual:
    """Read one manual folder; bad rows raise when ``strict``, else are appended to ``skips``.

    A bad row (malformed, unknown image name, missing image, or a second row for a step that
    already has one) costs only itself: the manual keeps every other row, in page order.
    """
    folder = Path(folder)
    manual_id = folder.name
    html_file = page_path(folder)
    if not html_file.is_file():
        raise ManualError(f"{folder}: missing page {html_file.name} (expected <manual_id>/<manual_id>.html)")
    try:
        set_number, _ = split_manual_id(manual_id)
    except ValueError as error:
        raise ManualError(f"{folder}: {error}") from error
    try:
        page = parse_page(html_file.read_text(encoding="utf-8"), source=html_file)
    except UnicodeDecodeError as error:
        raise ManualError(f"{html_file}: not UTF-8 text ({error})") from error
    except PageFormatError as error:
        raise ManualError(str(error)) from error

    read: dict[int, Row | tuple[str, str]] = {problem.index: ("malformed row", problem.reason) for problem in page.problems}
    seen: dict[tuple[str, str, int | None], int] = {}
    for page_row in page.rows:
        index = page_row.index
        try:
            file = file_name_from_src(page_row.src)
            name = parse_image_name(file)
            path = images_dir(folder) / file
            if not path.is_file():
                raise ManualError(f"missing image: {path} (row {index}, src {page_row.src!r})")
        except (UnknownImageName, ManualError, ValueError) as error:
            read[index] = ("unknown image name" if isinstance(error, UnknownImageName) else "missing image", str(error))
            continue
        key = (name.step_class, name.session, name.step_num)
        if name.step_class != "start" and key in seen:
            # Two rows for one step would give two dataset rows with one id; the first one is kept.
            read[index] = (
                "duplicate row",
                f"{name.step_class} image of session {name.session!r} step {name.step_num} "
                f"is already on row {seen[key]} (src {page_row.src!r})",
            )
            continue
        seen[key] = index
        read[index] = Row(index=index, image=ImageRef(file, path, page_row.src, name), lines=page_row.lines)
    rows: list[Row] = []
    for index in sorted(read):
        item = read[index]
        if isinstance(item, Row):
            rows.append(item)
            continue
        kind, message = item
        if strict:
            raise ManualError(f"{html_file} row {index}: {message}")
        if skips is not None:
            skips.append(Skip(manual_id, f"{kind}: {message}", row=index))
        log.warning("%s row %d skipped: %s", manual_id, index, message)
    return Manual(manual_id=manual_id, set_number=set_number, title=page.title, folder=folder, rows=tuple(rows))


def manual_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` that look like manual folders, in sorted (deterministic) order."""
    root = Path(root)
    if not root.is_dir():
        raise ManualError(f"{root}: not a folder of raw manuals")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_folder(folder: Path, *, strict: bool = False) -> tuple[Manual | None, list[Skip]]:
    """One manual folder read on its own: the manual, or ``None`` and why, and its row skips (in row
    order, the manual's own skip last). A build's job reads its manual itself, so only these skips,
    never the parsed rows, travel back to the driver.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     (Path(root) / "60001-m1").mkdir()
    ...     manual, skips = read_folder(Path(root) / "60001-m1")
    >>> manual, [str(skip).split(":")[:2] for skip in skips]
    (None, [['60001-m1', ' unreadable manual']])
    """
    skips: list[Skip] = []
    try:
        return read_manual(folder, strict=strict, skips=skips), skips
    except ManualError as error:
        if strict:
            raise
        log.warning("manual %s skipped: %s", folder.name, error)
        return None, [*skips, Skip(folder.name, f"unreadable manual: {error}")]


def _read_folder(job: tuple[Path, bool]) -> tuple[Manual | None, list[Skip]]:
    """:func:`read_folder` as an executor job."""
    folder, strict = job
    return read_folder(folder, strict=strict)


def load_manuals(root: Path | str, *, strict: bool = False, executor: Executor | None = None) -> ManualSet:
    """Read every manual folder under ``root``, in folder order (with ``executor``, in parallel).

    With ``strict`` the first problem raises :class:`ManualError`; otherwise unreadable manuals and
    rows are recorded as skips (and logged) so a caller can report them. Parsing a page takes most
    of a second, so a large build reads its manuals on its executor rather than one by one.
    """
    manuals: list[Manual] = []
    skips: list[Skip] = []
    jobs = [(folder, strict) for folder in manual_folders(Path(root))]
    for manual, manual_skips in (executor or LocalExecutor(1)).map(_read_folder, jobs):
        skips.extend(manual_skips)
        if manual is not None:
            manuals.append(manual)
    return ManualSet(manuals=tuple(manuals), skips=tuple(skips))
