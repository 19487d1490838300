"""The rating criteria of the study's quality assurance, declared once: the page, the checks, the
validation of ratings files, the agreement statistics and the flagging rule all read them.

Each criterion has ordered integer levels starting at 0 (object criteria 0–2, state criteria 0–1)
and one level that marks a pair as bad when the raters' majority gives it (``bad``):

>>> [c.name for c in CRITERIA["object"]], criterion("state", "relevance").labels
(['boundary_precision', 'entity_disambiguity'], ('Low', 'High'))
>>> criterion("object", "boundary_precision").bad, criterion("state", "similarity").bad is None
(0, True)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Criterion:
    """One rated question: its name, what it asks, and a label and rule per score 0, 1, …."""

    name: str
    title: str
    question: str
    labels: tuple[str, ...]
    rules: tuple[str, ...]
    #: The score that flags the pair when more than half of the raters give it (None: never flags).
    bad: int | None

    @property
    def scores(self) -> tuple[int, ...]:
        return tuple(range(len(self.labels)))

    @property
    def ordinal(self) -> bool:
        """Three or more levels are ordered grades: weighted kappa and ordinal alpha apply."""
        return len(self.labels) > 2

    def describe(self) -> dict[str, object]:
        """The JSON form written into items.json and the page."""
        return {
            "name": self.name,
            "title": self.title,
            "question": self.question,
            "labels": list(self.labels),
            "rules": list(self.rules),
            "bad": self.bad,
        }


CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "object": (
        Criterion(
            "boundary_precision",
            "Box precision",
            "How well does the drawn box enclose the parts the phrase names?",
            ("Inaccurate", "Partially precise", "Precise"),
            (
                "The box misses the named parts: it sits on another tile, on background, or on other parts.",
                "The box covers the named parts only in part, or is much larger than they are.",
                "The box encloses all the named parts tightly, with little else inside.",
            ),
            bad=0,
        ),
        Criterion(
            "entity_disambiguity",
            "Entity clarity",
            "Does the phrase name, unambiguously, what the box should hold?",
            ("Irrelevant", "Ambiguous", "Clear"),
            (
                "The phrase names nothing that is in the collage.",
                "The phrase fits, but could mean other parts in the collage too, or its count or colour is unclear.",
                "The phrase names the parts exactly; only one reading fits the collage.",
            ),
            bad=0,
        ),
    ),
    "state": (
        Criterion(
            "relevance",
            "Relevance",
            "Does the evaluating image show this step of this model (the instruction and the reference)?",
            ("Low", "High"),
            (
                "Another model, another step, or an image unrelated to the instruction.",
                "The same model at the same step: a fair image to ask 'was this step done right?' about.",
            ),
            bad=0,
        ),
        Criterion(
            "similarity",
            "Similarity",
            "Does the evaluating image look like the reference apart from the placement of the new part?",
            ("Low", "High"),
            (
                "It differs visibly elsewhere (other parts, artefacts, another view), so the answer is given away.",
                "It matches the reference except, at most, where the new part sits.",
            ),
            bad=None,
        ),
    ),
}


def criterion(task: str, name: str) -> Criterion:
    """The criterion ``name`` of ``task``; a :class:`KeyError` naming what exists otherwise."""
    for found in CRITERIA.get(task, ()):
        if found.name == name:
            return found
    raise KeyError(f"no criterion {name!r} for task {task!r} (have {[c.name for c in CRITERIA.get(task, ())]})")
