"""Rate in Label Studio instead of the page: export a questionnaire as Label Studio projects, and
import Label Studio's JSON export back as ratings files that ``qa score`` reads.

Export writes, per task, a labeling config (``labelstudio-<task>.xml``: the images, the text and
one single-choice question per criterion, each choice ``"<score> <label>"``) and the tasks to
import into a project made with it (``labelstudio-<task>-tasks.json``: ``[{"data": {"item",
"task", "text", "image", ["reference"]}}]``). Images are embedded as ``data:`` URLs, so the
files are self-contained; with ``image_url`` they point at a folder you serve instead. The
checks are exported like any item, and their known answers are not.

Import reads Label Studio's JSON export (a list of tasks, each with ``data`` and ``annotations``
holding ``completed_by``, ``lead_time``, ``created_at``, ``updated_at``, ``was_cancelled`` and a
``result`` of ``{"from_name": criterion, "type": "choices", "value": {"choices": [...]}}``) and
writes one ratings file per annotator. Cancelled annotations are skipped and counted; anything
else that does not fit is an error naming the file and the task.

>>> choice_value(2, "Precise"), choice_score("2 Precise", ("Inaccurate", "Partially precise", "Precise"))
('2 Precise', 2)
"""

from __future__ import annotations

import base64
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lego_arta.atomic import atomic_write_text, name_part
from lego_arta.inputs import brief
from lego_arta.qa.formats import Items, is_answer_mode, parse_items, parse_ratings, read_json
from lego_arta.qa.questionnaire import ITEMS_NAME

#: Label Studio's names of the image fields (``$image`` and, for state, ``$reference``).
IMAGE_FIELDS = {"collage": "image", "evaluating": "image", "reference": "reference"}
CAPTIONS = {"collage": "Collage with the dataset's box", "evaluating": "Evaluating image", "reference": "Reference (the real step image)"}
TEXT_LABEL = {"object": "Phrase", "state": "Instruction"}


def config_name(task: str) -> str:
    return f"labelstudio-{task}.xml"


def tasks_name(task: str) -> str:
    return f"labelstudio-{task}-tasks.json"


def choice_value(score: int, label: str) -> str:
    """The text of one choice: the score and its label, as the page shows them."""
    return f"{score} {label}"


def choice_score(value: Any, labels: tuple[str, ...]) -> int | None:
    """The score a chosen value stands for (None when it is none of the choices)."""
    for score, label in enumerate(labels):
        if value == choice_value(score, label):
            return score
    return None


def labeling_config(task: str, criteria: list[dict[str, Any]], roles: list[str]) -> str:
    """The Label Studio labeling config of one task: its images, its text, one choice group per criterion."""
    view = ET.Element("View")
    for role in roles:
        ET.SubElement(view, "Header", value=CAPTIONS.get(role, role), size="5")
        ET.SubElement(view, "Image", name=role, value=f"${IMAGE_FIELDS.get(role, role)}", zoom="true")
    ET.SubElement(view, "Header", value=f"{TEXT_LABEL.get(task, 'Text')}:", size="5")
    ET.SubElement(view, "Text", name="text", value="$text")
    for criterion in criteria:
        ET.SubElement(view, "Header", value=f"{criterion['title']}: {criterion['question']}")
        choices = ET.SubElement(
            view, "Choices", name=criterion["name"], toName=roles[0], choice="single", required="true", showInline="true"
        )
        for score, label in enumerate(criterion["labels"]):
            ET.SubElement(choices, "Choice", value=choice_value(score, label))
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def _image_value(folder: Path, src: str, image_url: str | None) -> str:
    if image_url is not None:
        return image_url.rstrip("/") + "/" + src
    return "data:image/png;base64," + base64.b64encode((folder / src).read_bytes()).decode("ascii")


def export_labelstudio(questionnaire: Path, out: Path, *, image_url: str | None = None) -> list[Path]:
    """Write each task's labeling config and tasks file for the questionnaire folder ``questionnaire``."""
    questionnaire = Path(questionnaire)
    document = read_json(questionnaire / ITEMS_NAME)
    if is_answer_mode(document):
        raise ValueError(f"{questionnaire / ITEMS_NAME}: an answer-mode questionnaire; Label Studio export is for rating questionnaires")
    items = parse_items(document, str(questionnaire / ITEMS_NAME))
    written: list[Path] = []
    for task in items.tasks:
        entries = [entry for entry in document["items"] if entry["task"] == task]
        roles = [image["role"] for image in entries[0]["images"]]
        tasks = []
        for entry in entries:
            if [image["role"] for image in entry["images"]] != roles:
                raise ValueError(f"{questionnaire / ITEMS_NAME}: item {entry['item']!r} shows other images than the other {task} items")
            data = {"item": entry["item"], "task": task, "text": entry["text"]}
            data.update(
                {
                    IMAGE_FIELDS.get(image["role"], image["role"]): _image_value(questionnaire, image["src"], image_url)
                    for image in entry["images"]
                }
            )
            tasks.append({"data": data})
        config, tasks_file = Path(out) / config_name(task), Path(out) / tasks_name(task)
        atomic_write_text(config, labeling_config(task, document["criteria"][task], roles))
        atomic_write_text(tasks_file, json.dumps(tasks, indent=1, sort_keys=True) + "\n")
        written += [config, tasks_file]
    return written


@dataclass
class _Annotator:
    answers: list[dict[str, Any]]
    started: str
    finished: str


def annotator_name(completed_by: Any) -> str:
    """A rater id for Label Studio's ``completed_by``: the e-mail when the export has it, else the user id.

    >>> annotator_name(7), annotator_name({"id": 7, "email": "ann@example.org"})
    ('labelstudio-user-7', 'ann@example.org')
    """
    if isinstance(completed_by, dict):
        if isinstance(completed_by.get("email"), str) and completed_by["email"].strip():
            return completed_by["email"].strip()
        completed_by = completed_by.get("id")
    if isinstance(completed_by, bool) or not isinstance(completed_by, (int, str)) or str(completed_by).strip() == "":
        raise ValueError(f"completed_by {completed_by!r} names no user")
    return f"labelstudio-user-{completed_by}"


def _scores(result: Any, items: Items, item: str, where: str) -> dict[str, int]:
    task = items.items[item].task
    if not isinstance(result, list):
        raise ValueError(f"{where}: 'result' must be a list")
    scores: dict[str, int] = {}
    for region in result:
        if not isinstance(region, dict) or region.get("type") != "choices":
            continue  # other tools' regions (a comment, a rating) carry no score
        name = region.get("from_name")
        if name not in items.criteria[task]:
            raise ValueError(f"{where}: unknown criterion {name!r} for a {task} item (have {list(items.criteria[task])})")
        chosen = (region.get("value") or {}).get("choices")
        if not isinstance(chosen, list) or len(chosen) != 1:
            raise ValueError(f"{where}: {name} needs exactly one choice, got {chosen!r}")
        score = choice_score(chosen[0], items.criteria[task][name])
        if score is None:
            labels = [choice_value(s, label) for s, label in enumerate(items.criteria[task][name])]
            raise ValueError(f"{where}: {name} choice {chosen[0]!r} is not one of {labels}")
        if name in scores:
            raise ValueError(f"{where}: {name} is chosen twice")
        scores[name] = score
    return scores


def import_labelstudio(exports: list[Path], items_path: Path, out: Path) -> tuple[list[Path], int]:
    """Ratings files (one per annotator) from Label Studio JSON exports; returns them and the cancelled count.

    Each ratings file is validated as ``qa score`` will read it, so an annotator who left an item
    or a criterion out is an error here, naming them.
    """
    items = parse_items(read_json(items_path), str(items_path))
    annotators: dict[str, _Annotator] = {}
    seen: dict[tuple[str, str], str] = {}
    cancelled = 0
    for path in exports:
        document = read_json(path)
        if not isinstance(document, list):
            raise ValueError(f"{path}: expected Label Studio's JSON export (a list of tasks)")
        for number, task in enumerate(document, start=1):
            data = task.get("data") if isinstance(task, dict) else None
            label = f"{path}: task {task.get('id', number) if isinstance(task, dict) else number}"
            if not isinstance(data, dict) or data.get("item") not in items.items:
                raise ValueError(
                    f"{label}: data.item {data.get('item') if isinstance(data, dict) else None!r} is not an item of questionnaire {items.questionnaire}"
                )
            item = data["item"]
            for annotation in task.get("annotations") or []:
                if not isinstance(annotation, dict):
                    raise ValueError(f"{label}: an annotation is not an object")
                if annotation.get("was_cancelled"):
                    cancelled += 1
                    continue
                try:
                    rater = annotator_name(annotation.get("completed_by"))
                except ValueError as error:
                    raise ValueError(f"{label}: {error}") from None
                if (rater, item) in seen:
                    raise ValueError(f"{label}: {rater} annotated item {item!r} twice (also in {seen[rater, item]})")
                seen[rater, item] = label
                spent = annotation.get("lead_time", 0.0)
                if (
                    isinstance(spent, bool) or not isinstance(spent, (int, float)) or not math.isfinite(spent) or spent < 0
                ):  # NaN: not JSON for other tools
                    raise ValueError(f"{label}: lead_time must be a non-negative number (and finite), got {brief(spent)}")
                created, updated = annotation.get("created_at"), annotation.get("updated_at", annotation.get("created_at"))
                if not isinstance(created, str) or not isinstance(updated, str):
                    raise ValueError(f"{label}: an annotation needs created_at (and updated_at) times")
                entry = annotators.setdefault(rater, _Annotator([], created, updated))
                entry.started, entry.finished = min(entry.started, created), max(entry.finished, updated)
                for criterion, score in _scores(annotation.get("result"), items, item, f"{label} ({rater})").items():
                    entry.answers.append({"item": item, "criterion": criterion, "score": score, "seconds": float(spent)})
    if not annotators:
        raise ValueError(f"{', '.join(map(str, exports))}: no annotations to import")
    order = {name: index for index, name in enumerate(items.items)}
    documents: dict[Path, dict[str, Any]] = {}
    for rater, entry in sorted(annotators.items()):
        ratings = {
            "questionnaire": items.questionnaire,
            "rater": rater,
            "started": entry.started,
            "finished": entry.finished,
            "answers": sorted(entry.answers, key=lambda a: (order[a["item"]], a["criterion"])),
        }
        target = Path(out) / f"ratings-{name_part(rater)}.json"
        if target in documents:
            raise ValueError(f"annotators {documents[target]['rater']!r} and {rater!r} get the same file name {target.name}")
        try:
            parse_ratings(ratings, items, target)  # all are checked before any is written
        except ValueError as error:
            raise ValueError(f"{', '.join(map(str, exports))}: annotator {rater}: {str(error).removeprefix(f'{target}: ')}") from None
        documents[target] = ratings
    for target, ratings in documents.items():
        atomic_write_text(target, json.dumps(ratings, indent=1, sort_keys=True) + "\n")
    return list(documents), cancelled
