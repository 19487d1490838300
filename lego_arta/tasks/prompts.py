"""Queries and answers from templates: ``lego_arta/tasks/prompts.yaml`` holds the built-in tasks'.

A query has three parts so the study's query settings can drop the manual context without
re-templating: ``task token``, ``instruction`` (manual context, may be empty) and ``question``.
The templates are data so a prompt study edits one file; a task defined outside the package
passes its own :class:`Prompts`.

>>> prompts = load_prompts("scene")
>>> prompts.query(found="2 bright red bricks 2x4").text
'[grounding] After I find 2 bright red bricks 2x4. Tell me what to do for the current situation.'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from lego_arta.parse.page import TextLine

#: Verbs that open an object-finding line (SPEC §1).
FINDING_VERBS: tuple[str, ...] = ("Find", "Collect")
#: Counts the manuals and a fix may spell out ("two studs", "a single plate"): read by the part
#: phrases (annotate) and the guide task's fix parser, one copy for both.
NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a single": 1,
}
_COLLECT_PREAMBLE = re.compile(r"^the following \d+ pieces?:\s*", re.IGNORECASE)


def compose_query(task_token: str, instruction: str, question: str) -> str:
    """Join the non-empty parts with single spaces; the one place a query string is assembled."""
    return " ".join(part for part in (task_token, instruction, question) if part)


@dataclass(frozen=True)
class Query:
    task_token: str
    instruction: str
    question: str

    @property
    def text(self) -> str:
        return compose_query(self.task_token, self.instruction, self.question)


@dataclass(frozen=True)
class Prompts:
    """A task's templates (``str.format`` placeholders): the query's three parts and named answers."""

    task_token: str
    instruction: str
    question: str
    answers: Mapping[str, str] = field(default_factory=dict)

    def query(self, **values: str) -> Query:
        return Query(self.task_token, self.instruction.format(**values), self.question.format(**values))

    def answer(self, name: str, **values: Any) -> str:
        return self.answers[name].format(**values)


@cache
def _templates() -> dict[str, dict[str, Any]]:
    text = resources.files("lego_arta.tasks").joinpath("prompts.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_prompts(task: str) -> Prompts:
    """The built-in task's templates from ``prompts.yaml``."""
    spec = dict(_templates()[task])
    return Prompts(spec.pop("task_token"), spec.pop("instruction"), spec.pop("question"), spec.pop("answers", {}))


def answer_box(box: Sequence[float]) -> tuple[int, int, int, int]:
    """The box an object answer states: integer 0–100 coordinates, at least one unit wide and high.

    The answer text is the reference, so the ``box`` column holds this box too: a model that
    answers exactly the reference then scores an IoU of 100 (the study's answers were integers).

    >>> answer_box((10.4, 20.6, 10.6, 30.2))
    (10, 21, 11, 30)
    """
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def strip_final_punctuation(text: str) -> str:
    return text.strip().rstrip(".!?;:, ").strip()


def finding_line(lines: Sequence[TextLine]) -> TextLine | None:
    """The line of an object-finding row whose verb is Find or Collect (openers may precede it)."""
    return next((line for line in lines if line.first("verb") in FINDING_VERBS), None)


def found_phrase(line: TextLine) -> str:
    """``I(t-1)`` without its verb: "Find 2 red bricks 2x4." → "2 red bricks 2x4".

    Text before the verb (a session opener such as "Now, we will build the car.") and the
    "the following N pieces:" preamble of Collect lines are dropped too.
    """
    verb = line.first("verb") or ""
    text = line.text
    start = text.find(verb) if verb else -1
    rest = text[start + len(verb) :] if start >= 0 else text
    rest = _COLLECT_PREAMBLE.sub("", rest.strip())
    return " ".join(strip_final_punctuation(rest).split())
