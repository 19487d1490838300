"""Read a saved screen-reader page into rows of (image src, tagged text lines).

Only the page structure is interpreted here; file names, sessions and images are the business of
:mod:`lego_arta.parse.manual`. The same reader serves crawled pages and synthetic ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag

#: Span classes that tag entities inside a ``.txtbox`` (SPEC §1).
ENTITY_CLASSES: tuple[str, ...] = ("verb", "det", "colorinfo", "theme", "target", "suffix")


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
    """One ``div.row``: the image source and the text lines beside it."""

    src: str
    alt: str
    lines: tuple[TextLine, ...]


@dataclass(frozen=True)
class Page:
    title: str
    rows: tuple[PageRow, ...]


def _line(box: Tag) -> TextLine:
    parts: list[str] = []
    entities: list[Entity] = []
    _walk(box, parts, entities)
    return TextLine(text="".join(parts).strip(), entities=tuple(entities))


def _walk(node: Tag, parts: list[str], entities: list[Entity]) -> None:
    """Collect text in reading order; an entity span is taken whole, whatever markup it nests."""
    for child in node.children:
        if isinstance(child, NavigableString):
            parts.append(str(child))
        elif isinstance(child, Tag):
            if child.name == "br":
                parts.append("\n")
                continue
            tagged = next((c for c in _classes(child) if c in ENTITY_CLASSES), None)
            if tagged is None:
                _walk(child, parts, entities)
                continue
            text = child.get_text()
            parts.append(text)
            if text.strip():
                entities.append(Entity(tagged, text.strip()))


def _classes(tag: Tag | None) -> list[str]:
    if tag is None:
        return []
    value = tag.get("class") or []
    return list(value) if isinstance(value, list) else str(value).split()


def parse_page(html: str, *, source: Path | str = "<page>") -> Page:
    """Parse the rows of a manual page; raise :class:`PageFormatError` naming ``source`` if malformed."""
    soup = BeautifulSoup(html, "html.parser")
    container = soup.select_one("div.manual-table-container")
    if container is None:
        raise PageFormatError(f"{source}: no div.manual-table-container (not a screen-reader manual page)")
    rows: list[PageRow] = []
    for number, row in enumerate(container.select("div.row"), start=1):
        img = row.select_one(".image img")
        if img is None or not img.get("src"):
            raise PageFormatError(f"{source}: row {number} has no '.image img[src]'")
        boxes = row.select(".text .txtbox")
        if not boxes:
            raise PageFormatError(f"{source}: row {number} has no '.text .txtbox' text line")
        rows.append(PageRow(src=str(img["src"]), alt=str(img.get("alt", "")), lines=tuple(_line(b) for b in boxes)))
    if not rows:
        raise PageFormatError(f"{source}: div.manual-table-container holds no div.row")
    title = soup.title.get_text(strip=True) if soup.title else ""
    return Page(title=title, rows=tuple(rows))
