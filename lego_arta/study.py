"""The original study's published statistics (its Table 4.3), shipped as package data.

Reports print our numbers beside these, so a reader sees at once whether a build is of study scale.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

#: The study's method constants (SPEC §3), named once: recipes, annotation and tasks default to them.
#: Share of manuals held out for test.
TEST_FRACTION = 0.25
#: Negatives per state positive.
NEGATIVES_PER_STATE = 3
#: Least displacement of a pasted negative, as a share of the model's bounding box.
MIN_DISPLACEMENT = 0.05
#: K-means clusters of the boundary (highlight) colour vote.
KMEANS_CLUSTERS = 5
#: Tiles of an object collage (2x2).
COLLAGE_QUADRANTS = 4
#: In-context examples per query in the study's query settings.
IN_CONTEXT_EXAMPLES = 2

#: The study's quality assurance (§5, §6.1, §8.3): random pairs rated per task, and by how many raters.
QA_PAIRS_PER_TASK = 100
QA_RATERS = 5
#: Comprehension checks (known answers) per task in its questionnaires: 103 object and 105 state questions.
QA_CHECKS: dict[str, int] = {"object": 3, "state": 5}
#: The inter-rater agreement (kappa) the study reports over its ratings.
QA_KAPPA = 0.62


@cache
def study_statistics() -> dict[tuple[str, str], float]:
    """``{(category, item): count}`` from the study, e.g. ``("overall", "manuals") -> 65``."""
    text = resources.files("lego_arta").joinpath("data/study_statistics.csv").read_text(encoding="utf-8")
    return {(row["category"], row["item"]): float(row["count"]) for row in csv.DictReader(text.splitlines())}


@cache
def study_qa_means() -> dict[tuple[str, str], float]:
    """The study's mean rating per ``(task, criterion)``; object criteria on 0–2, state on 0–1.

    >>> study_qa_means()[("object", "boundary_precision")], study_qa_means()[("state", "similarity")]
    (1.65, 0.73)
    """
    text = resources.files("lego_arta").joinpath("data/study_qa.csv").read_text(encoding="utf-8")
    return {(row["task"], row["criterion"]): float(row["mean"]) for row in csv.DictReader(text.splitlines())}
