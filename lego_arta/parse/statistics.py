"""Corpus statistics of parsed manuals, laid out like the study's Table 4.3."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from rich.markup import escape
from rich.table import Table

from lego_arta.parse.manual import Manual, ManualSet
from lego_arta.source.layout import TRUTH_FILE
from lego_arta.study import study_statistics


@dataclass(frozen=True)
class CorpusStatistics:
    """Counts a reader compares with the study's corpus."""

    manuals: int
    object_finding_steps: int
    assembly_steps: int
    assembly_sessions: int
    start_rows: int
    images: int
    skipped: int
    highlighted_manuals: int | None = None
    boundary_colors: int | None = None

    def rows(self) -> list[tuple[str, str, float | None]]:
        """(category, item, value) in Table 4.3 order; ``None`` where this corpus cannot tell."""
        return [
            ("overall", "manuals", self.manuals),
            ("overall", "object_finding_steps", self.object_finding_steps),
            ("overall", "assembly_steps", self.assembly_steps),
            ("overall", "assembly_sessions", self.assembly_sessions),
            ("state", "manuals_with_highlighted_parts", self.highlighted_manuals),
            ("state", "boundary_colors", self.boundary_colors),
            ("parse", "images", self.images),
            ("parse", "skipped_items", self.skipped),
        ]


def _truth_highlights(manuals: Iterable[Manual]) -> tuple[int, int] | None:
    """(highlighted manuals, distinct boundary colours) from synthetic truth, if every manual has it."""
    highlighted = 0
    colours: set[tuple[int, ...]] = set()
    for manual in manuals:
        truth_file = manual.folder / TRUTH_FILE
        if not truth_file.is_file():
            return None
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        highlighted += bool(truth["highlighted"])
        colours.update(tuple(s["boundary"]["rgb"]) for s in truth["sessions"] if s["boundary"] is not None)
    return highlighted, len(colours)


def corpus_statistics(manuals: ManualSet) -> CorpusStatistics:
    """Count rows by class, sessions and distinct images; highlight counts only where truth exists."""
    truth = _truth_highlights(manuals) if len(manuals) else None
    return CorpusStatistics(
        manuals=len(manuals),
        object_finding_steps=sum(m.count("eop") for m in manuals),
        assembly_steps=sum(m.count("step") for m in manuals),
        assembly_sessions=sum(len(m.sessions) for m in manuals),
        start_rows=sum(m.count("start") for m in manuals),
        images=sum(len({row.image.file for row in m.rows}) for m in manuals),
        skipped=len(manuals.skips),
        highlighted_manuals=None if truth is None else truth[0],
        boundary_colors=None if truth is None else truth[1],
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def statistics_table(stats: CorpusStatistics, *, title: str = "Corpus statistics") -> Table:
    """A rich table of this corpus next to the study's Table 4.3 and the ratio between them.

    ``title`` is plain text (it names a folder, which may hold ``[``), escaped here for rich.
    """
    study = study_statistics()
    table = Table(title=escape(title))
    for column in ("category", "item", "this corpus", "study (Table 4.3)", "ratio"):
        table.add_column(column, justify="right" if column not in ("category", "item") else "left")
    for category, item, value in stats.rows():
        reference = study.get((category, item))
        ratio = f"{value / reference:.2f}" if value is not None and reference else "–"
        table.add_row(escape(category), escape(item), _fmt(value), _fmt(reference), ratio)
    return table
