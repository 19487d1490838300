"""Part phrases of object-finding lines: "2 bright red bricks 2x4" from the tagged entities, and back.

A phrase is what one grounding box answers for: count (``det``), colour (``colorinfo``) and part
(``theme``). Lines name several groups ("Collect the following 3 pieces: 1 black plate 1x2, and 2
white bricks 1x1."); each group is one phrase.

>>> from lego_arta.parse.page import Entity, TextLine
>>> line = TextLine("Find 2 bright red bricks 2x4.", (Entity("verb", "Find"), Entity("det", "2"),
...     Entity("colorinfo", "bright red"), Entity("theme", "bricks 2x4"), Entity("suffix", ".")))
>>> part_phrases(line)
['2 bright red bricks 2x4']
>>> parse_phrase("2 bright red bricks 2x4")
PartPhrase(count=2, colours=('bright red',), theme='bricks 2x4')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lego_arta.annotate.colours import BASIC_COLOURS, LEGO_COLOURS, colour_names
from lego_arta.parse.page import TextLine
from lego_arta.tasks.prompts import NUMBER_WORDS

#: Entity classes that make up a part phrase, in reading order.
PHRASE_CLASSES = ("det", "colorinfo", "theme")
#: Plate heights of part kinds named in themes (a brick is three plates); unknown kinds count as bricks.
KIND_PLATES: dict[str, int] = {"brick": 3, "plate": 1, "tile": 1}
DEFAULT_PLATES = 3

_SIZE = re.compile(r"(\d+)\s*x\s*(\d+)")
_SEPARATOR = re.compile(r"^\s*(?:,\s*and\s+|,\s*|and\s+|/\s*)")
_NAMES_LONGEST_FIRST = sorted(LEGO_COLOURS, key=len, reverse=True)


@dataclass(frozen=True)
class PartPhrase:
    """A parsed phrase: how many parts, their colour names, and the part name."""

    count: int
    colours: tuple[str, ...]
    theme: str

    @property
    def footprint(self) -> tuple[int, int] | None:
        """Stud footprint ``(short, long)`` when the theme names one ("bricks 2x4" → (2, 4))."""
        match = _SIZE.search(self.theme)
        if not match:
            return None
        a, b = int(match.group(1)), int(match.group(2))
        return (min(a, b), max(a, b))

    @property
    def plates(self) -> int:
        """Height in plates implied by the theme's kind word."""
        words = self.theme.lower().split()
        for kind, plates in KIND_PLATES.items():
            if any(word.rstrip("s") == kind for word in words):
                return plates
        return DEFAULT_PLATES


def part_phrases(line: TextLine) -> list[str]:
    """One phrase per ``det``/``colorinfo``/``theme`` group of a line, in reading order.

    A group ends at its ``theme``; groups without a theme (a stray count) are not parts. Entities
    of other classes (verb, target, suffix) break a group.
    """
    phrases: list[str] = []
    group: list[str] = []
    for entity in line.entities:
        if entity.cls not in PHRASE_CLASSES:
            group = []
            continue
        if entity.cls == "det" and group:
            group = []
        group.append(entity.text.strip())
        if entity.cls == "theme":
            phrases.append(" ".join(part for part in group if part))
            group = []
    return phrases


def _leading_count(text: str) -> tuple[int, str]:
    head, _, rest = text.strip().partition(" ")
    if head.isdigit():
        return int(head), rest
    if head.lower() in NUMBER_WORDS:
        return NUMBER_WORDS[head.lower()], rest
    return 1, text.strip()


def _leading_colours(text: str) -> tuple[tuple[str, ...], str]:
    """Known colour names at the start of ``text`` (joined by commas / "and"), and the rest."""
    colours: list[str] = []
    rest = text
    while True:
        lowered = rest.lower()
        name = next((n for n in _NAMES_LONGEST_FIRST if lowered.startswith(n) and lowered[len(n) : len(n) + 1] in ("", " ", ",")), None)
        if name is None:
            break
        colours.append(name)
        rest = rest[len(name) :]
        separator = _SEPARATOR.match(rest)
        if separator is None:
            break
        rest = rest[separator.end() :]
    return tuple(colours), rest.strip()


def _names_a_colour(name: str) -> bool:
    """A known LEGO name, or words ending in a basic colour word ("teal blue")."""
    words = name.split()
    return name in LEGO_COLOURS or (bool(words) and words[-1] in BASIC_COLOURS)


def parse_phrase(phrase: str) -> PartPhrase:
    """Count, colour names and part name of a phrase; colours are known LEGO names at its start.

    Phrases whose colour is not a known name keep ``colours=()`` (the grounder then cannot use colour).
    """
    count, rest = _leading_count(phrase)
    colours, theme = _leading_colours(rest)
    if not colours:
        words = rest.split()
        for cut in range(min(3, len(words) - 1), 0, -1):
            candidate = " ".join(words[:cut])
            if all(_names_a_colour(name) for name in colour_names(candidate)):
                return PartPhrase(count=max(count, 1), colours=colour_names(candidate), theme=" ".join(words[cut:]))
    return PartPhrase(count=max(count, 1), colours=colours, theme=theme)
