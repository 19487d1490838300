"""Read and validate the two QA file formats: a questionnaire's items.json and a rater's ratings file.

Other tools (a spreadsheet export, another survey tool) may write ratings files too, so every
problem is an error naming the file and the item, before any statistic is computed::

    items.json   {"questionnaire": id, "criteria": {task: [{"name", "labels", ...}]},
                  "items": [{"item": id, "task": "object"|"state", "pair_id": row id | null,
                             "check": bool, "expected": {criterion: score} | null, ...}]}
    ratings      {"questionnaire": id, "rater": str, "started": ISO-8601, "finished": ISO-8601,
                  "answers": [{"item": id, "criterion": name, "score": int, "seconds": float}]}

Every item must have a score for every criterion of its task (a missing one is an error).

>>> items = parse_items({"questionnaire": "q", "items": [{"item": "s1", "task": "state", "pair_id": "p", "check": False,
...                      "expected": None}]}, "items.json")
>>> items.levels("state", "relevance")
2
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lego_arta.qa.criteria import CRITERIA


@dataclass(frozen=True)
class Item:
    """One rated item of a questionnaire."""

    item: str
    task: str
    pair_id: str | None
    check: bool
    expected: dict[str, int] | None


@dataclass(frozen=True)
class Items:
    """A questionnaire's items (in page order) and each task's criteria as ``name -> labels``."""

    questionnaire: str
    items: dict[str, Item]
    criteria: dict[str, dict[str, tuple[str, ...]]]

    def levels(self, task: str, criterion: str) -> int:
        return len(self.criteria[task][criterion])

    def of_task(self, task: str) -> list[Item]:
        return [item for item in self.items.values() if item.task == task]

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(item.task for item in self.items.values()))


@dataclass(frozen=True)
class Ratings:
    """One rater's validated answers: ``(item, criterion) -> score`` and seconds per item."""

    path: Path
    rater: str
    started: str
    finished: str
    scores: dict[tuple[str, str], int]
    seconds: dict[str, float]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def _criteria(document: dict[str, Any], where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    declared = document.get("criteria")
    if declared is None:
        return {task: {c.name: c.labels for c in criteria} for task, criteria in CRITERIA.items()}
    if not isinstance(declared, dict):
        raise ValueError(f"{where}: 'criteria' must map each task to a list of criteria")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for task, criteria in declared.items():
        if not isinstance(criteria, list) or not criteria:
            raise ValueError(f"{where}: criteria of task {task!r} must be a non-empty list")
        out[task] = {}
        for entry in criteria:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("labels"), list) \
                    or len(entry["labels"]) < 2:  # fmt: skip
                raise ValueError(f"{where}: a criterion of task {task!r} needs a 'name' and at least two 'labels': {entry!r}")
            out[task][entry["name"]] = tuple(str(label) for label in entry["labels"])
    return out


def parse_items(document: Any, where: str) -> Items:
    """Validate an items.json document (``where`` names it in errors)."""
    if not isinstance(document, dict) or not isinstance(document.get("questionnaire"), str):
        raise ValueError(f"{where}: expected an object with a 'questionnaire' id")
    if not isinstance(document.get("items"), list) or not document["items"]:
        raise ValueError(f"{where}: 'items' must be a non-empty list")
    criteria = _criteria(document, where)
    items: dict[str, Item] = {}
    for number, entry in enumerate(document["items"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise ValueError(f"{where}: item {number} has no 'item' id")
        name = entry["item"]
        task = entry.get("task")
        if task not in criteria:
            raise ValueError(f"{where}: item {name!r} has task {task!r}, not one of {sorted(criteria)}")
        if name in items:
            raise ValueError(f"{where}: item {name!r} appears twice")
        pair_id = entry.get("pair_id")
        if pair_id is not None and not isinstance(pair_id, str):
            raise ValueError(f"{where}: item {name!r}: 'pair_id' must be a row id or null")
        check = entry.get("check", False)
        if not isinstance(check, bool):
            raise ValueError(f"{where}: item {name!r}: 'check' must be true or false")
        expected = entry.get("expected")
        if check:
            if not isinstance(expected, dict) or not expected:
                raise ValueError(f"{where}: check item {name!r} needs its known answers in 'expected'")
            for criterion, score in expected.items():
                _check_score(criteria, task, criterion, score, f"{where}: check item {name!r}")
        items[name] = Item(name, task, pair_id, check, dict(expected) if check else None)
    return Items(document["questionnaire"], items, criteria)


def load_items(path: Path) -> Items:
    """Read and validate ``items.json``."""
    return parse_items(_read_json(path), str(path))


def _check_score(criteria: dict[str, dict[str, tuple[str, ...]]], task: str, criterion: Any, score: Any, where: str) -> int:
    if criterion not in criteria[task]:
        raise ValueError(f"{where}: unknown criterion {criterion!r} for a {task} item (have {list(criteria[task])})")
    levels = len(criteria[task][criterion])
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score < levels:
        raise ValueError(f"{where}: {criterion} score {score!r} is out of range (an integer 0–{levels - 1})")
    return score


def _iso(value: Any, field: str, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: '{field}' must be an ISO-8601 time, got {value!r}")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: '{field}' is not an ISO-8601 time: {value!r}") from None
    return value


def parse_ratings(document: Any, items: Items, path: Path) -> Ratings:
    """Validate one ratings document against the questionnaire's items."""
    where = str(path)
    if not isinstance(document, dict):
        raise ValueError(f"{where}: expected a ratings object")
    if document.get("questionnaire") != items.questionnaire:
        raise ValueError(f"{where}: questionnaire {document.get('questionnaire')!r} is not the items' {items.questionnaire!r}")
    rater = document.get("rater")
    if not isinstance(rater, str) or not rater.strip():
        raise ValueError(f"{where}: 'rater' must be a non-empty string")
    started, finished = _iso(document.get("started"), "started", where), _iso(document.get("finished"), "finished", where)
    answers = document.get("answers")
    if not isinstance(answers, list):
        raise ValueError(f"{where}: 'answers' must be a list")
    scores: dict[tuple[str, str], int] = {}
    seconds: dict[str, float] = {}
    for number, answer in enumerate(answers, start=1):
        if not isinstance(answer, dict):
            raise ValueError(f"{where}: answer {number} is not an object")
        name = answer.get("item")
        if name not in items.items:
            raise ValueError(f"{where}: answer {number}: unknown item {name!r} (not in questionnaire {items.questionnaire})")
        item = items.items[name]
        criterion = answer.get("criterion")
        score = _check_score(items.criteria, item.task, criterion, answer.get("score"), f"{where}: item {name!r}")
        if (name, criterion) in scores:
            raise ValueError(f"{where}: item {name!r} has two {criterion} scores")
        spent = answer.get("seconds")
        if isinstance(spent, bool) or not isinstance(spent, (int, float)) or spent < 0:
            raise ValueError(f"{where}: item {name!r}: 'seconds' must be a non-negative number, got {spent!r}")
        scores[name, criterion] = score
        seconds[name] = float(spent)
    for name, item in items.items.items():
        for criterion in items.criteria[item.task]:
            if (name, criterion) not in scores:
                raise ValueError(f"{where}: item {name!r} is missing its {criterion} score")
    return Ratings(Path(path), rater.strip(), started, finished, scores, seconds)


def load_ratings(paths: list[Path], items: Items) -> list[Ratings]:
    """Read and validate every ratings file; one rater may appear in one file only."""
    loaded: list[Ratings] = []
    seen: dict[str, Path] = {}
    for path in paths:
        ratings = parse_ratings(_read_json(path), items, Path(path))
        if ratings.rater in seen:
            raise ValueError(f"{path}: rater {ratings.rater!r} also rated in {seen[ratings.rater]} (one file per rater)")
        seen[ratings.rater] = Path(path)
        loaded.append(ratings)
    if not loaded:
        raise ValueError("qa score: no ratings files given")
    return loaded
