"""Read and validate the QA file formats: a questionnaire's items.json, a rater's ratings file, and,
for the human baseline (``qa make --mode answer``), a person's answers file.

Other tools (a spreadsheet export, another survey tool) may write ratings files too, so every
problem is an error naming the file and the item, before any statistic is computed::

    items.json   {"questionnaire": id, "criteria": {task: [{"name", "labels", ...}]},
                  "items": [{"item": id, "task": "object"|"state", "pair_id": row id | null,
                             "check": bool, "expected": {criterion: score} | null, ...}]}
    ratings      {"questionnaire": id, "rater": str, "started": ISO-8601, "finished": ISO-8601,
                  "answers": [{"item": id, "criterion": name, "score": int, "seconds": float}]}

Every item must have a score for every criterion of its task (a missing one is an error).

The answer mode's items.json has ``"mode": "answer"`` and items ``{"item", "task":
"state"|"object"|"scene", "pair_id": row id, "phrase": object phrase | null, ...}``; an answers
file is::

    answers      {"questionnaire": id, "mode": "answer", "person": str, "started": ISO-8601,
                  "finished": ISO-8601, "answers": [{"item": id, "answer": A, "seconds": float}]}

where ``A`` is ``"yes"`` or ``"no"`` (state), ``[x1, y1, x2, y2]`` in the image's 0–100 frame
(object), or the typed instruction (scene). An item may be left unanswered (it is counted, and
scored as an empty answer), but an answer that is there must be valid.

>>> items = parse_items({"questionnaire": "q", "items": [{"item": "s1", "task": "state", "pair_id": "p", "check": False,
...                      "expected": None}]}, "items.json")
>>> items.levels("state", "relevance")
2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lego_arta.inputs import brief, read_json_file
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


def read_json(path: Path) -> Any:
    """A JSON file's document; a missing, malformed, deep or non-UTF-8 file (or a folder) is an error naming it."""
    return read_json_file(Path(path))


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
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("name"), str)
                or not isinstance(entry.get("labels"), list)
                or len(entry["labels"]) < 2
            ):
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
    return parse_items(read_json(path), str(path))


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


def _header(document: dict[str, Any], questionnaire: str, who: str, where: str) -> tuple[str, str, str, list[Any]]:
    """What a ratings and an answers file both hold around their entries: the questionnaire they
    answer, the person (``who``: ``rater`` or ``person``, stripped), start and finish times, and
    the list of entries."""
    if document.get("questionnaire") != questionnaire:
        raise ValueError(f"{where}: questionnaire {document.get('questionnaire')!r} is not the items' {questionnaire!r}")
    name = document.get(who)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: '{who}' must be a non-empty string")
    started, finished = _iso(document.get("started"), "started", where), _iso(document.get("finished"), "finished", where)
    entries = document.get("answers")
    if not isinstance(entries, list):
        raise ValueError(f"{where}: 'answers' must be a list")
    return name.strip(), started, finished, entries


def _item_of(entry: Any, number: int, known: Mapping[str, Any], questionnaire: str, where: str) -> str:
    """The item entry ``number`` of a ratings or answers file is about (an item of the questionnaire)."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: answer {number} is not an object")
    name = entry.get("item")
    if name not in known:
        raise ValueError(f"{where}: answer {number}: unknown item {name!r} (not in questionnaire {questionnaire})")
    return name


def _seconds(entry: dict[str, Any], name: str, where: str) -> float:
    spent = entry.get("seconds")
    if isinstance(spent, bool) or not isinstance(spent, (int, float)) or not math.isfinite(spent) or spent < 0:
        raise ValueError(f"{where}: item {name!r}: 'seconds' must be a non-negative number (and finite), got {brief(spent)}")
    return float(spent)


def parse_ratings(document: Any, items: Items, path: Path) -> Ratings:
    """Validate one ratings document against the questionnaire's items."""
    where = str(path)
    if not isinstance(document, dict):
        raise ValueError(f"{where}: expected a ratings object")
    if document.get("mode") == ANSWER_MODE:
        raise ValueError(f"{where}: this is an answers file (`qa make --mode answer`), but the items are a rating questionnaire")
    rater, started, finished, answers = _header(document, items.questionnaire, "rater", where)
    scores: dict[tuple[str, str], int] = {}
    seconds: dict[str, float] = {}
    for number, answer in enumerate(answers, start=1):
        name = _item_of(answer, number, items.items, items.questionnaire, where)
        item = items.items[name]
        criterion = answer.get("criterion")
        score = _check_score(items.criteria, item.task, criterion, answer.get("score"), f"{where}: item {name!r}")
        if (name, criterion) in scores:
            raise ValueError(f"{where}: item {name!r} has two {criterion} scores")
        scores[name, criterion] = score
        seconds[name] = _seconds(answer, name, where)
    for name, item in items.items.items():
        for criterion in items.criteria[item.task]:
            if (name, criterion) not in scores:
                raise ValueError(f"{where}: item {name!r} is missing its {criterion} score")
    return Ratings(Path(path), rater, started, finished, scores, seconds)


#: Items of the answer mode per task, and what an answer to one is.
ANSWER_KINDS: dict[str, str] = {
    "state": '"yes" or "no"',
    "object": "a box [x1, y1, x2, y2] in the 0–100 frame",
    "scene": "the typed instruction",
}
#: The kind of answer (:data:`~lego_arta.tasks.spec.HUMAN_ANSWER_KINDS`) each single-turn task's item asks.
TASK_KINDS: dict[str, str] = {"state": "verdict", "object": "box", "scene": "text"}
#: What an answer of each kind is.
KIND_ANSWERS: dict[str, str] = {kind: ANSWER_KINDS[task] for task, kind in TASK_KINDS.items()}
ANSWER_MODE = "answer"


def turn_kinds(task: str) -> dict[str, str] | None:
    """A task asked turn by turn: its turn → answer kind (``TaskSpec.turn_answers``); ``None`` for any other or unknown task.

    >>> turn_kinds("guide")["where"], turn_kinds("state")
    ('box', None)
    """
    from lego_arta.tasks import TASKS, get_task

    return dict(get_task(task).turn_answers or {}) or None if task in TASKS else None


@dataclass(frozen=True)
class AnswerItem:
    """One item of an answer-mode questionnaire: the dataset row it asks, the object phrase, and the
    kind of answer it asks (``kind``; by default its task's, :data:`TASK_KINDS`; a turn of an episode
    names its own)."""

    item: str
    task: str
    pair_id: str
    phrase: str | None
    kind: str = ""

    @property
    def answer_kind(self) -> str:
        return self.kind or TASK_KINDS[self.task]


@dataclass(frozen=True)
class AnswerItems:
    """An answer-mode questionnaire's items, in page order."""

    questionnaire: str
    items: dict[str, AnswerItem]
    data: str | None
    split: str

    def of_task(self, task: str) -> list[AnswerItem]:
        return [item for item in self.items.values() if item.task == task]

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(item.task for item in self.items.values()))


Answer = str | tuple[float, float, float, float]


@dataclass(frozen=True)
class Answers:
    """One person's validated answers: item → ``"yes"``/``"no"``, a box, or text; seconds per item."""

    path: Path
    person: str
    started: str
    finished: str
    answers: dict[str, Answer]
    seconds: dict[str, float]


def is_answer_mode(document: Any) -> bool:
    """Whether an items.json document is an answer-mode questionnaire (the human baseline)."""
    return isinstance(document, dict) and document.get("mode") == ANSWER_MODE


def parse_answer_items(document: Any, where: str) -> AnswerItems:
    """Validate an answer-mode items.json document (``where`` names it in errors).

    >>> parse_answer_items({"mode": "answer", "questionnaire": "q", "split": "test", "items": [
    ...     {"item": "state-001", "task": "state", "pair_id": "p1"}]}, "items.json").tasks
    ['state']
    """
    if not is_answer_mode(document) or not isinstance(document.get("questionnaire"), str):
        raise ValueError(f'{where}: expected an answer-mode items.json ("mode": "answer") with a \'questionnaire\' id')
    if not isinstance(document.get("items"), list) or not document["items"]:
        raise ValueError(f"{where}: 'items' must be a non-empty list")
    items: dict[str, AnswerItem] = {}
    for number, entry in enumerate(document["items"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise ValueError(f"{where}: item {number} has no 'item' id")
        name = entry["item"]
        if name in items:
            raise ValueError(f"{where}: item {name!r} appears twice")
        task = entry.get("task")
        turns = turn_kinds(task) if isinstance(task, str) else None
        if task not in ANSWER_KINDS and turns is None:
            raise ValueError(f"{where}: item {name!r} has task {task!r}, not one of {sorted(ANSWER_KINDS)} or a task asked turn by turn")
        if not isinstance(entry.get("pair_id"), str) or not entry["pair_id"]:
            raise ValueError(f"{where}: item {name!r}: 'pair_id' must be the dataset row id the item asks")
        phrase = entry.get("phrase")
        if task == "object" and (not isinstance(phrase, str) or not phrase.strip()):
            raise ValueError(f"{where}: object item {name!r} needs the object 'phrase' its box answer names")
        kind = entry.get("kind")
        if turns is not None and kind not in set(turns.values()):
            raise ValueError(f"{where}: item {name!r} of {task} needs a 'kind' among {sorted(set(turns.values()))}, got {kind!r}")
        items[name] = AnswerItem(name, task, entry["pair_id"], phrase if task == "object" else None, kind if turns is not None else "")
    data = document.get("data")
    return AnswerItems(document["questionnaire"], items, data if isinstance(data, str) else None, str(document.get("split", "test")))


def _answer(item: AnswerItem, value: Any, where: str) -> Answer:
    """One answer, checked against its item's kind (see :data:`KIND_ANSWERS`)."""
    wanted = f"a {item.task} answer must be {KIND_ANSWERS[item.answer_kind]}"
    if item.answer_kind == "verdict":
        if value not in ("yes", "no"):
            raise ValueError(f"{where}: {wanted}, got {value!r}")
        return str(value)
    if item.answer_kind == "box":
        if not isinstance(value, list) or len(value) != 4 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
            raise ValueError(f"{where}: {wanted}, got {value!r}")
        x1, y1, x2, y2 = (float(v) for v in value)
        if not all(0.0 <= v <= 100.0 for v in (x1, y1, x2, y2)) or not (x1 < x2 and y1 < y2):
            raise ValueError(f"{where}: box {value!r} must lie in 0–100 with x1 < x2 and y1 < y2")
        return (x1, y1, x2, y2)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {wanted} (a non-empty string; leave an item out to skip it), got {value!r}")
    return value.strip()


def parse_answers(document: Any, items: AnswerItems, path: Path) -> Answers:
    """Validate one person's answers document against the answer-mode questionnaire."""
    where = str(path)
    if not isinstance(document, dict):
        raise ValueError(f"{where}: expected an answers object")
    if "rater" in document and "person" not in document:
        raise ValueError(f"{where}: this is a ratings file (it has 'rater'), but the items are an answer-mode questionnaire")
    if document.get("mode") != ANSWER_MODE:
        raise ValueError(
            f"{where}: 'mode' must be {ANSWER_MODE!r} (an answers file of `qa make --mode answer`), got {document.get('mode')!r}"
        )
    person, started, finished, entries = _header(document, items.questionnaire, "person", where)
    answers: dict[str, Answer] = {}
    seconds: dict[str, float] = {}
    for number, entry in enumerate(entries, start=1):
        name = _item_of(entry, number, items.items, items.questionnaire, where)
        if name in answers:
            raise ValueError(f"{where}: item {name!r} is answered twice")
        if "answer" not in entry:
            raise ValueError(f"{where}: item {name!r} has no 'answer'")
        answers[name] = _answer(items.items[name], entry["answer"], f"{where}: item {name!r}")
        seconds[name] = _seconds(entry, name, where)
    return Answers(Path(path), person, started, finished, answers, seconds)


def _load_all(paths: list[Path], parse: Callable[[Any, Path], Any], who: str, did: str, files: str) -> list[Any]:
    """Read and validate every file with ``parse``; one ``who`` (the attribute naming the person)
    may appear in one file only."""
    loaded: list[Any] = []
    seen: dict[str, Path] = {}
    for path in paths:
        parsed = parse(read_json(path), Path(path))
        name = getattr(parsed, who)
        if name in seen:
            raise ValueError(f"{path}: {who} {name!r} also {did} in {seen[name]} (one file per {who})")
        seen[name] = Path(path)
        loaded.append(parsed)
    if not loaded:
        raise ValueError(f"qa score: no {files} files given")
    return loaded


def load_answers(paths: list[Path], items: AnswerItems) -> list[Answers]:
    """Read and validate every answers file; one person may appear in one file only."""
    return _load_all(paths, lambda document, path: parse_answers(document, items, path), "person", "answered", "answers")


def load_ratings(paths: list[Path], items: Items) -> list[Ratings]:
    """Read and validate every ratings file; one rater may appear in one file only."""
    return _load_all(paths, lambda document, path: parse_ratings(document, items, path), "rater", "rated", "ratings")
