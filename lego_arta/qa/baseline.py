"""The human baseline (beyond the study): people do the tasks themselves and are scored like a model.

``lego-arta qa make --mode answer`` samples rows of each task as the rating questionnaire does
(seeded, stratified by manual) and writes a self-contained page that asks for the task's answer,
not a rating: state, Yes or No; object, a box dragged on the collage; scene, the instruction
typed. The page shows what a model is given (the row's image and its query, without the task
token and, for object, without the answer-format instructions) and never the reference answer::

    index.html      the page (inline JS/CSS; keyboard-first; answers kept in localStorage)
    items.json      {"mode": "answer", "questionnaire", "data", "split", "items": [{"item", "task", "pair_id", "phrase", ...}]}
    images/         the image of every item

``lego-arta qa score ANSWERS... --items DIR/items.json --out OUT`` validates the answers files
(:func:`lego_arta.qa.formats.parse_answers`) and writes, per person and task, a predictions file
in the format ``lego-arta score`` reads, and per task the ids of the rows asked. Scored with
``lego-arta score --ids OUT/ids-<task>.txt --name human``, the person's answers become a result
row like any model's (and a model scored with the same ``--ids`` is compared on the same rows).

>>> prediction_text(AnswerItem("o1", "object", "p1", "2 red bricks 2x4"), (10.2, 20.0, 30.6, 40.0))
'<p>2 red bricks 2x4</p>{<10><20><31><40>}'
>>> prediction_text(AnswerItem("s1", "state", "p2", None), "no")
'No.'
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Set
from importlib import resources
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from lego_arta.atomic import atomic_write_text, check_output_folder, name_part, refuse_overlap
from lego_arta.evaluation.scoring import write_predictions
from lego_arta.qa.formats import (
    ANSWER_KINDS,
    ANSWER_MODE,
    TASK_KINDS,
    Answer,
    AnswerItem,
    Answers,
    load_answers,
    parse_answer_items,
    read_json,
    turn_kinds,
)
from lego_arta.qa.questionnaire import (
    FORMAT_VERSION,
    IMAGES_DIR,
    ITEMS_NAME,
    MakeConfig,
    check_make_config,
    images_at,
    png_bytes,
    split_rows,
    task_rng,
    write_page_folder,
)
from lego_arta.qa.sampling import stratified_sample
from lego_arta.tasks import get_task
from lego_arta.tasks.object import object_answer
from lego_arta.tasks.state import state_answer

#: The answer page's template (package data), with the items put in its data block.
ANSWER_TEMPLATE = "data/qa_answer.html"
DATA_MARKER = "/*QA_DATA*/"
#: Tasks the answer mode asks, in page order by default.
ANSWER_TASKS: tuple[str, ...] = tuple(ANSWER_KINDS)


def answer_pages() -> tuple[str, ...]:
    """Every task the answer page can ask: :data:`ANSWER_TASKS`, then the tasks asked turn by turn
    (``TaskSpec.turn_answers``: guide), which a build holds only when its recipe names them.

    >>> answer_pages()
    ('state', 'object', 'scene', 'guide')
    """
    from lego_arta.tasks import TASKS

    return ANSWER_TASKS + tuple(task for task in TASKS if turn_kinds(task) is not None)


#: What the page asks a person to do, per task.
INSTRUCTIONS = {
    "state": "Is the step in the image done correctly, as the instruction says? Answer Yes or No.",
    "object": "Drag a box around the parts the phrase names, as tightly as you can: one box around all of them.",
    "scene": "Type what to do now, as the manual's instruction would say it.",
}
#: What the page asks a person to do for one turn of an episode, per answer kind.
TURN_INSTRUCTIONS = {
    "verdict": "Read the conversation and answer its last question: is the step in the image done correctly? Yes or No.",
    "box": "Read the conversation and answer its last question: drag a box around the wrong piece (a missing one: where it belongs).",
    "text": "Read the conversation and answer its last question: type it as the manual's instructions would say it.",
}
#: What the intro lists for a task asked turn by turn.
EPISODE_INSTRUCTION = "A conversation about one image, turn by turn: answer each turn's last question (Yes/No, a box, or typed)."
#: Who says what in an episode's conversation as the page shows it.
SPEAKERS = ("You", "Assistant")
SUMMARY_NAME = "human_baseline.json"


def ids_name(task: str) -> str:
    """The file of the row ids a questionnaire asked for ``task`` (``lego-arta score --ids``)."""
    return f"ids-{task}.txt"


def predictions_name(person: str, task: str) -> str:
    """``human-<person>-<task>.jsonl``, the person's name made safe by :func:`lego_arta.atomic.name_part`.

    >>> predictions_name("Ann Lee", "state")
    'human-Ann_Lee-state.jsonl'
    """
    return f"human-{name_part(person)}-{task}.jsonl"


def prompt_text(task: str, row: dict[str, Any]) -> str:
    """What the page shows as the item's text: the object phrase, or the query without its task token."""
    if task == "object":
        return str(row["object"])
    query = str(row["query"]).strip()
    token = get_task(task).task_token
    return query[len(token) :].strip() if query.startswith(token) else query


def _columns(task: str) -> tuple[str, ...]:
    turns = get_task(task)
    if turns.turn_answers is not None:
        assert turns.own_history is not None and turns.turn_column is not None  # the spec checks it
        return ("id", "manual_id", "session", "step_num", "query", "history", turns.turn_column, turns.own_history.episode)
    return ("id", "manual_id", "session", "step_num", "query", *(("object",) if task == "object" else ()))


def conversation_text(task: str, row: dict[str, Any]) -> str:
    r"""One turn of an episode as the page shows it: the gold earlier turns, then its question.

    >>> conversation_text("guide", {"history": [{"query": "[state] Is it right?", "answer": "No."}], "query": "Which piece?"})
    'You: Is it right?\nAssistant: No.\nYou: Which piece?'
    """
    said = [(turn["query"], turn["answer"]) for turn in row.get("history") or []]
    lines: list[str] = []
    for number, (query, answer) in enumerate([*said, (row["query"], None)]):
        shown = prompt_text(task, {"query": query}) if number == 0 else str(query).strip()
        lines.append(f"{SPEAKERS[0]}: {shown}")
        if answer is not None:
            lines.append(f"{SPEAKERS[1]}: {str(answer).strip()}")
    return "\n".join(lines)


def episode_sample(
    rows: list[dict[str, Any]], task: str, per_task: int, rng: np.random.Generator, exclude: Set[tuple[str, str, int]]
) -> list[int]:
    """Row indices of ``per_task`` whole episodes (one per step, stratified by manual), each in turn order.

    Turn order is the gold history's length; one episode per step for the reason :func:`one_per_step` gives.
    """
    declared = get_task(task).own_history
    assert declared is not None
    members: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        members.setdefault(str(row[declared.episode]), []).append(index)
    ordered = [sorted(found, key=lambda i: len(rows[i]["history"] or [])) for found in members.values()]
    firsts = [rows[found[0]] for found in ordered]
    pool = one_per_step(firsts, rng, exclude)
    chosen = [pool[i] for i in stratified_sample([firsts[i]["manual_id"] for i in pool], per_task, rng)]
    return [index for episode in chosen for index in ordered[episode]]


def _step(row: dict[str, Any]) -> tuple[str, str, int]:
    return (str(row["manual_id"]), str(row["session"]), int(row["step_num"]))


def one_per_step(rows: list[dict[str, Any]], rng: np.random.Generator, exclude: Set[tuple[str, str, int]] = frozenset()) -> list[int]:
    """Indices of one random row per step (data order), leaving out the steps in ``exclude``.

    A model answers each row alone, but a person sees the whole page: two state rows of one step
    (its positive and a negative) would give the Yes away by comparison, and a state item's query
    states the instruction a scene item of the same step asks for.

    >>> rows = [{"manual_id": "m", "session": "s", "step_num": n} for n in (1, 1, 2, 3)]
    >>> len(one_per_step(rows, np.random.default_rng(0), exclude={("m", "s", 3)}))
    2
    """
    by_step: dict[tuple[str, str, int], list[int]] = {}
    for index, row in enumerate(rows):
        if _step(row) not in exclude:
            by_step.setdefault(_step(row), []).append(index)
    return sorted(members[int(rng.integers(len(members)))] for members in by_step.values())


def make_answer_questionnaire(data: Path | str, out: Path, config: MakeConfig, *, overwrite: bool = False) -> dict[str, Any]:
    """Sample each task's rows and write the answer page to ``out`` atomically; returns items.json.

    Same build, options and seed give a byte-identical folder.
    """
    check_make_config(data, config, answer_pages(), "answer page")
    if Path(data).exists():
        refuse_overlap(Path(out), Path(data), source_name="--data")
    check_output_folder(Path(out), overwrite=overwrite, owner=ITEMS_NAME)  # before any image is read
    files: dict[str, bytes] = {}
    items: list[dict[str, Any]] = []
    samples: dict[str, tuple[list[dict[str, Any]], list[int]]] = {}
    # state first, episodes last: scene leaves out state's steps, an episode (which asks the state question) both
    for task in sorted(config.tasks, key=lambda t: (t != "state", turn_kinds(t) is not None)):
        rows = split_rows(data, task, config.split, _columns(task))
        rng = task_rng(config.seed, task)
        asked: set[tuple[str, str, int]] = set()
        if (task == "scene" or turn_kinds(task) is not None) and "state" in samples:
            state_rows, state_sample = samples["state"]
            asked = {_step(state_rows[i]) for i in state_sample}
        if turn_kinds(task) is not None:
            asked |= {_step(rows_[i]) for other, (rows_, sample_) in samples.items() if other != "state" for i in sample_}
            samples[task] = (rows, episode_sample(rows, task, config.per_task, rng, asked))
            continue
        pool = one_per_step(rows, rng, asked)
        sample = [pool[i] for i in stratified_sample([rows[i]["manual_id"] for i in pool], config.per_task, rng)]
        samples[task] = (rows, sample)
    for task in config.tasks:
        rows, sample = samples[task]
        images = images_at(data, task, config.split, set(sample))
        turns = turn_kinds(task)
        for number, index in enumerate(sample, start=1):
            row = rows[index]
            item_id = f"{task}-{number:03d}"
            name = f"{IMAGES_DIR}/{item_id}.png"
            files[name] = png_bytes(images[index])
            kind = turns[str(row[get_task(task).turn_column])] if turns else TASK_KINDS[task]
            items.append(
                {
                    "item": item_id,
                    "task": task,
                    "kind": kind,
                    "pair_id": row["id"],
                    "manual_id": row["manual_id"],
                    "phrase": row["object"] if task == "object" else None,
                    "text": conversation_text(task, row) if turns else prompt_text(task, row),
                    "instruction": TURN_INSTRUCTIONS[kind] if turns else INSTRUCTIONS[task],
                    "images": [{"src": name, "role": "object" if kind == "box" else "image"}],
                }
            )
    identity = json.dumps({"mode": ANSWER_MODE, "seed": config.seed, "split": config.split, "items": items}, sort_keys=True)
    document = {
        "format": FORMAT_VERSION,
        "mode": ANSWER_MODE,
        "questionnaire": "qa-answer-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12],
        "data": str(data),
        "split": config.split,
        "seed": config.seed,
        "per_task": config.per_task,
        "tasks": list(config.tasks),
        "items": items,
    }
    parse_answer_items(document, "items.json")  # what qa score will read back
    page = render_answer_page(document)
    write_page_folder(out, files, document, page, overwrite=overwrite)
    return document


def render_answer_page(document: dict[str, Any]) -> str:
    """The answer page: the template with the items (text and images only, no pair ids or answers) inlined.

    ``</`` is escaped in the embedded JSON so no phrase can close the ``<script>`` element.
    """
    shown = [{key: item[key] for key in ("item", "task", "kind", "text", "instruction", "images")} for item in document["items"]]
    instructions = {task: EPISODE_INSTRUCTION if turn_kinds(task) else INSTRUCTIONS[task] for task in document["tasks"]}
    payload = {"questionnaire": document["questionnaire"], "instructions": instructions, "items": shown}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
    template = resources.files("lego_arta").joinpath(ANSWER_TEMPLATE).read_text(encoding="utf-8")
    if template.count(DATA_MARKER) != 1:
        raise ValueError(f"lego_arta/{ANSWER_TEMPLATE}: expected one {DATA_MARKER} marker")
    return template.replace(DATA_MARKER, text)


def prediction_text(item: AnswerItem, answer: Answer) -> str:
    """A person's answer as the text a model would have answered (the task's own answer format; a
    box of an episode's turn names the piece generically, as its metrics read the box only)."""
    if item.answer_kind == "verdict":
        return state_answer(answer == "yes")
    if item.answer_kind == "box":
        assert isinstance(answer, tuple)
        return object_answer(item.phrase or "the piece", answer)
    return str(answer)


def _person_summary(items: list[AnswerItem], answers: Answers, predictions: str | None) -> dict[str, Any]:
    answered = [item for item in items if item.item in answers.answers]
    spent = [answers.seconds[item.item] for item in answered]
    return {
        "items": len(items),
        "answered": len(answered),
        "unanswered": [item.item for item in items if item.item not in answers.answers],
        "median_seconds": round(median(spent), 2) if spent else None,
        "predictions": predictions,
    }


def answers_to_predictions(items_path: Path, paths: list[Path], out: Path) -> dict[str, Any]:
    """Validate answers files and write predictions, row ids and :data:`SUMMARY_NAME` to ``out``.

    An unanswered item is left out of the person's predictions file; ``lego-arta score --ids``
    then scores its row as an empty (wrong) answer, as it does for a model, and the summary
    lists it.
    """
    items = parse_answer_items(read_json(items_path), str(items_path))
    people = load_answers(list(paths), items)
    names: dict[str, str] = {}
    for answers in people:
        first = predictions_name(answers.person, "x")
        if first in names:
            raise ValueError(f"{answers.path}: person {answers.person!r} gets the same file name as {names[first]!r}; rename one")
        names[first] = answers.person
    out = Path(out)
    summary: dict[str, Any] = {
        "questionnaire": items.questionnaire,
        "data": items.data,
        "split": items.split,
        "ids": {task: ids_name(task) for task in items.tasks},
        "people": {},
        "commands": [],
    }
    for task in items.tasks:
        atomic_write_text(out / ids_name(task), "".join(item.pair_id + "\n" for item in items.of_task(task)))
    for answers in people:
        summary["people"][answers.person] = {
            "file": str(answers.path),
            "started": answers.started,
            "finished": answers.finished,
            "tasks": {},
        }
        system = "human" if len(people) == 1 else f"human-{answers.person}"
        for task in items.tasks:
            asked = items.of_task(task)
            predicted = [
                (item.pair_id, prediction_text(item, answers.answers[item.item])) for item in asked if item.item in answers.answers
            ]
            name = predictions_name(answers.person, task) if predicted else None
            summary["people"][answers.person]["tasks"][task] = _person_summary(asked, answers, name)
            if name is None:  # nothing answered: no file (score refuses an empty one), and the summary says so
                continue
            write_predictions(out / name, predicted)
            summary["commands"].append(
                shlex.join(
                    [
                        "lego-arta",
                        "score",
                        "--task",
                        task,
                        "--predictions",
                        str(out / name),
                        "--ids",
                        str(out / ids_name(task)),
                        "--data",
                        items.data or "BUILT",
                        "--split",
                        items.split,
                        "--name",
                        system,
                        "--out",
                        str(out / "results"),
                    ]
                )
            )
    atomic_write_text(out / SUMMARY_NAME, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary
