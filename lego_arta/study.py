"""The original study's published statistics (its Table 4.3), shipped as package data.

Reports print our numbers beside these, so a reader sees at once whether a build is of study scale.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def study_statistics() -> dict[tuple[str, str], float]:
    """``{(category, item): count}`` from the study, e.g. ``("overall", "manuals") -> 65``."""
    text = resources.files("lego_arta").joinpath("data/study_statistics.csv").read_text(encoding="utf-8")
    return {(row["category"], row["item"]): float(row["count"]) for row in csv.DictReader(text.splitlines())}
