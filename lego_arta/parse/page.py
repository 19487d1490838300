"""Read a saved screen-reader page into rows of (image src, tagged text lines).

Only the page structure is interpreted here; file names, sessions and images are the business of
:mod:`lego_arta.parse.manual`. The same reader serves crawled pages and synthetic ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag

from lego_arta.source.layout import HTML_PARSER

#: Span classes that tag entities inside a ``.txtbox`` (SPEC §1).
ENTITY_CLASSES: tuple[str, ...] = ("verb", "det", "colorinfo", "theme", "target", "suffix")


#: Largest page accepted, in characters: real pages are under 1 MB; a larger file is not a manual
#: page (or a hostile one) and would only cost minutes and gigabytes to parse.
MAX_PAGE_CHARS = 16_000_000


class PageFormatError(ValueError):
    """A page that does not have the screen-reader manual structure."""


@dataclass(frozen=True)
class Entity:
    """A tagged run of words in a text line, e.g. ``Entity("colorinfo", "transparent red")``."""

    cls: str
    text: str


@dataclass(frozen=True)
class TextLine:
    """One ``.txtbox``: its plain text and its entities in reading order."""

    text: str
    entities: tuple[Entity, ...]

    def first(self, cls: str) -> str | None:
        """Text of the first entity of a class, e.g. the verb."""
        return next((entity.text for entity in self.entities if entity.cls == cls), None)

    def all(self, *classes: str) -> tuple[str, ...]:
        """Texts of every entity of the given classes, in order."""
        return tuple(entity.text for entity in self.entities if entity.cls in classes)


@dataclass(frozen=True)
class PageRow:
    """One ``div.row``: the image source and the text lines beside it.

    ``index`` is the row's place among all ``div.row`` of the page (from 0), malformed ones
    included, so a skipped row does not renumber the rows after it (their ids stay put).
    """

    src: str
    alt: str
    lines: tuple[TextLine, ...]
    index: int = 0


@dataclass(frozen=True)
class RowProblem:
    """A ``div.row`` that could not be read, left out of :attr:`Page.rows`: its index and why."""

    index: int
    reason: str


@dataclass(frozen=True)
class Page:
    title: str
    rows: tuple[PageRow, ...]
    #: Malformed rows, each left out alone: one bad row never costs the manual its good rows.
    problems: tuple[RowProblem, ...] = ()


def _line(box: Tag) -> TextLine:
    parts: list[str] = []
    entities: list[Entity] = []
    _walk(box, parts, entities)
    return TextLine(text="".join(parts).strip(), entities=tuple(entities))


def _walk(node: Tag, parts: list[str], entities: list[Entity]) -> None:
    """Collect text in reading order and one :class:`Entity` per entity span."""
    for child in node.children:
        _read(child, parts, entities)


def _read(node: PageElement, parts: list[str], entities: list[Entity]) -> None:
    """Read one node: text, a line break, an entity span, or markup to descend into.

    Spans are the page's entity markers, so a span nested inside an entity is never part of it: a
    nested entity span is an entity of its own, an unknown one is untagged words (in the line's
    text only). Other inline markup (``<b>2x4</b>``) is formatting and stays in the entity.
    """
    if isinstance(node, NavigableString):
        parts.append(str(node))
    elif isinstance(node, Tag):
        if node.name == "br":
            parts.append("\n")
            return
        tagged = next((c for c in _classes(node) if c in ENTITY_CLASSES), None)
        if tagged is None:
            _walk(node, parts, entities)
            return
        own: list[str | None] = []
        nested: list[Entity] = []
        _entity_text(node, parts, own, nested)
        text = _close_seams(own).strip()
        if text:
            entities.append(Entity(tagged, text))
        entities.extend(nested)


def _entity_text(node: Tag, parts: list[str], own: list[str | None], nested: list[Entity]) -> None:
    """Words of an entity span into ``own`` (and ``parts``); a nested span is read by :func:`_read`
    and leaves a seam (``None``) in ``own``."""
    for child in node.children:
        if isinstance(child, NavigableString):
            parts.append(str(child))
            own.append(str(child))
        elif isinstance(child, Tag):
            if child.name == "br":
                parts.append("\n")
                own.append(" ")
            elif child.name == "span":
                _read(child, parts, nested)
                own.append(None)
            else:
                _entity_text(child, parts, own, nested)


def _close_seams(own: list[str | None]) -> str:
    """Join an entity's words where nested spans were cut out: one space where the page had one.

    >>> _close_seams(["brick ", None, " 2x4"]), _close_seams(["1", None, "2"])
    ('brick 2x4', '12')
    """
    runs = [""]
    for piece in own:
        if piece is None:
            runs.append("")
        else:
            runs[-1] += piece
    text = ""
    for run in runs:
        if text and run:
            gap = " " if text[-1].isspace() or run[0].isspace() else ""
            text = text.rstrip() + gap + run.lstrip()
        else:
            text += run
    return text


def _classes(tag: Tag | None) -> list[str]:
    if tag is None:
        return []
    value = tag.get("class") or []
    return list(value) if isinstance(value, list) else str(value).split()


def _page_row(row: Tag, index: int) -> PageRow | RowProblem:
    img = row.select_one(".image img")
    if img is None or not str(img.get("src") or "").strip():
        return RowProblem(index, f"row {index + 1} has no '.image img[src]'")
    boxes = row.select(".text .txtbox")
    if not boxes:
        return RowProblem(index, f"row {index + 1} has no '.text .txtbox' text line")
    return PageRow(src=str(img["src"]).strip(), alt=str(img.get("alt", "")), lines=tuple(_line(b) for b in boxes), index=index)


def parse_page(html: str, *, source: Path | str = "<page>") -> Page:
    """Parse the rows of a manual page; raise :class:`PageFormatError` naming ``source`` if malformed.

    A malformed row (no image, empty ``src``, no text line) is left out and listed in
    :attr:`Page.problems`; the page is an error only when it has no readable row at all.
    """
    if len(html) > MAX_PAGE_CHARS:
        raise PageFormatError(f"{source}: page of {len(html):,} characters is larger than the {MAX_PAGE_CHARS:,} accepted")
    soup = BeautifulSoup(html, HTML_PARSER)
    container = soup.select_one("div.manual-table-container")
    if container is None:
        raise PageFormatError(f"{source}: no div.manual-table-container (not a screen-reader manual page)")
    rows: list[PageRow] = []
    problems: list[RowProblem] = []
    for index, row in enumerate(container.select("div.row")):
        read = _page_row(row, index)
        (rows if isinstance(read, PageRow) else problems).append(read)  # type: ignore[arg-type]
    if not rows:
        raise PageFormatError(f"{source}: {problems[0].reason}" if problems else f"{source}: div.manual-table-container holds no div.row")
    title = soup.title.get_text(strip=True) if soup.title else ""
    return Page(title=title, rows=tuple(rows), problems=tuple(problems))
