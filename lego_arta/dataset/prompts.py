"""Queries and answers of the three tasks, from the templates in ``lego_arta/data/prompts.yaml``.

A query has three parts so the study's query settings can drop the manual context without
re-templating: ``task token``, ``instruction`` (manual context, may be empty) and ``question``.

>>> scene_query("2 bright red bricks 2x4").text
'[grounding] After I find 2 bright red bricks 2x4. Tell me what to do for the current situation.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from lego_arta.parse.page import TextLine

#: Verbs that open an object-finding line (SPEC §1).
FINDING_VERBS: tuple[str, ...] = ("Find", "Collect")
_COLLECT_PREAMBLE = re.compile(r"^the following \d+ pieces?:\s*", re.IGNORECASE)


@cache
def templates() -> dict[str, dict[str, Any]]:
    text = resources.files("lego_arta").joinpath("data/prompts.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


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

    @property
    def without_instruction(self) -> str:
        """The query-setting variant without the manual instruction text."""
        return compose_query(self.task_token, "", self.question)


def _query(task: str, **values: str) -> Query:
    spec = templates()[task]
    return Query(spec["task_token"], spec["instruction"].format(**values), spec["question"].format(**values))


def scene_query(found: str) -> Query:
    return _query("scene", found=found)


def object_query(object_phrase: str) -> Query:
    return _query("object", object=object_phrase)


def state_query(found: str, instruction: str) -> Query:
    return _query("state", found=found, instruction=strip_final_punctuation(instruction))


def answer_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """The box an object answer states: integer 0–100 coordinates, at least one unit wide and high.

    The answer text is the reference, so the ``box`` column holds this box too: a model that
    answers exactly the reference then scores an IoU of 100 (the study's answers were integers).

    >>> answer_box((10.4, 20.6, 10.6, 30.2))
    (10, 21, 11, 30)
    """
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def object_answer(object_phrase: str, box: tuple[float, float, float, float]) -> str:
    """``<p>phrase</p>{<x1><y1><x2><y2>}`` with integer coordinates in the 0–100 frame (see :func:`answer_box`)."""
    x1, y1, x2, y2 = answer_box(box)
    return templates()["object"]["answer"].format(object=object_phrase, x1=x1, y1=y1, x2=x2, y2=y2)


def state_answer(label: bool) -> str:
    return templates()["state"]["answer_yes" if label else "answer_no"]


def strip_final_punctuation(text: str) -> str:
    return text.strip().rstrip(".!?;:, ").strip()


def finding_line(lines: tuple[TextLine, ...]) -> TextLine | None:
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
    rest = text[start + len(verb):] if start >= 0 else text
    rest = _COLLECT_PREAMBLE.sub("", rest.strip())
    return " ".join(strip_final_punctuation(rest).split())
