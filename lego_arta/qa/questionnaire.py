"""``lego-arta qa make``: a built split → a self-contained rating questionnaire (the study's §5 QA).

The output folder opens from disk in any browser, with no server, network or build step::

    index.html      the questionnaire: tutorial, items, keyboard scoring, progress, download (inline JS/CSS)
    items.json      every item: task, dataset pair id, whether it is a check and its known answer
    images/         the images the items show (object: collage with the dataset's box drawn;
                    state: the evaluating image and the reference step image)

Object items show the collage with the dataset's box and the object phrase; state items show the
evaluating image (the positive or a negative) beside the reference (the real step image) under
the step's instruction. Comprehension checks are built from the same split with known answers:
an object box moved to the opposite tile (box precision 0), an object phrase swapped for one that
names nothing in the collage (entity clarity 0), a state reference shown beside itself (relevance
and similarity 1) or beside another manual's step (both 0). They are spread through each task's
block at random positions (:func:`lego_arta.qa.sampling.check_positions`). Same build, options
and seed give byte-identical output.

Not run as a doctest: it needs a build.

>>> make_questionnaire("out/quickstart/lego-arta", Path("out/qa"), MakeConfig(per_task=20))  # doctest: +SKIP
{'questionnaire': 'qa-…', 'items': [...], ...}
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from lego_arta.atomic import atomic_directory, refuse_overlap
from lego_arta.dataset.splits import SPLITS
from lego_arta.evaluation.built_splits import config_names, iter_images, read_columns
from lego_arta.qa.criteria import CRITERIA
from lego_arta.qa.sampling import check_positions, interleave, stratified_sample
from lego_arta.study import QA_CHECKS, QA_PAIRS_PER_TASK

#: Version of the items.json and ratings formats (docs/qa.md).
FORMAT_VERSION = 1
ITEMS_NAME = "items.json"
PAGE_NAME = "index.html"
IMAGES_DIR = "images"
#: The page template (package data): the questionnaire's JS and CSS, with the items put in its data block.
TEMPLATE = "data/qa_questionnaire.html"
DATA_MARKER = "/*QA_DATA*/"
#: Phrases that name nothing a LEGO parts collage can hold: the object checks' known-Irrelevant phrase.
IRRELEVANT_PHRASES = ("a yellow rubber duck", "a blue umbrella", "a slice of pizza", "a bicycle bell", "a green teapot")
#: Colour and relative width of the drawn box (red, as the study's questionnaire drew it).
BOX_COLOUR = (230, 25, 25)
BOX_WIDTH_SHARE = 0.008
#: Half the 0–100 frame: moving a box by it in x and y puts it on the diagonally opposite tile.
HALF_FRAME = 50.0

#: What the first image of an item is, per task (the page captions images by role).
FIRST_ROLE = {"object": "collage", "state": "evaluating"}
OBJECT_COLUMNS = ("id", "manual_id", "object", "box")
STATE_COLUMNS = ("id", "manual_id", "session", "step_num", "label", "instruction")


@dataclass(frozen=True)
class MakeConfig:
    """What ``qa make`` samples: pairs per task, the seed, the split, the tasks and their check counts."""

    per_task: int = QA_PAIRS_PER_TASK
    seed: int = 0
    split: str = "test"
    tasks: tuple[str, ...] = ("object", "state")
    checks: dict[str, int] = field(default_factory=lambda: dict(QA_CHECKS))


@dataclass
class _Draft:
    """An item before its id is known (ids number the final order)."""

    task: str
    pair_id: str | None
    manual_id: str
    text: str
    images: list[tuple[str, np.ndarray]]
    check: bool = False
    check_kind: str | None = None
    expected: dict[str, int] | None = None


def task_rng(seed: int, task: str) -> np.random.Generator:
    """A generator per (seed, task): adding a task leaves another task's sample unchanged."""
    return np.random.default_rng([seed, zlib.crc32(task.encode("utf-8"))])


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def draw_box(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """``image`` with ``box`` (0–100 frame) outlined in :data:`BOX_COLOUR`.

    >>> draw_box(np.zeros((10, 20, 3), np.uint8), (0, 0, 50, 50))[0, 5].tolist()
    [230, 25, 25]
    """
    height, width = image.shape[:2]
    canvas = Image.fromarray(np.asarray(image, dtype=np.uint8).copy())
    x1, y1, x2, y2 = (float(v) / 100.0 for v in box)
    line = max(1, round(BOX_WIDTH_SHARE * max(width, height)))
    ImageDraw.Draw(canvas).rectangle(
        (x1 * (width - 1), y1 * (height - 1), x2 * (width - 1), y2 * (height - 1)), outline=BOX_COLOUR, width=line
    )
    return np.asarray(canvas)


def moved_box(box: Sequence[float]) -> list[float]:
    """The box moved half the frame in x and y, onto the diagonally opposite tile of a 2x2 collage.

    >>> moved_box([10, 60, 30, 90])
    [60.0, 10.0, 80.0, 40.0]
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    dx = HALF_FRAME if (x1 + x2) / 2 < HALF_FRAME else -HALF_FRAME
    dy = HALF_FRAME if (y1 + y2) / 2 < HALF_FRAME else -HALF_FRAME
    return [min(max(v, 0.0), 100.0) for v in (x1 + dx, y1 + dy, x2 + dx, y2 + dy)]


def images_at(data: Path | str, config: str, split: str, wanted: set[int]) -> dict[int, np.ndarray]:
    """The decoded images of the rows at ``wanted`` positions (the split is streamed once)."""
    found: dict[int, np.ndarray] = {}
    for index, image in enumerate(iter_images(data, config, split)):
        if index in wanted:
            found[index] = image
        if len(found) == len(wanted):
            break
    return found


def split_rows(data: Path | str, config: str, split: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of one split as dicts of the named columns (no image decoded)."""
    table = read_columns(data, config, split, columns)
    return [dict(zip(columns, values)) for values in zip(*(table[c] for c in columns))]


def _spare(count: int, used: set[int], needed: int, rng: np.random.Generator) -> list[int]:
    """``needed`` row indices for checks, from rows the sample did not take when there are enough."""
    unused = [i for i in range(count) if i not in used]
    pool = unused if len(unused) >= needed else list(range(count))
    return [int(pool[i]) for i in rng.choice(len(pool), size=needed, replace=len(pool) < needed)]


def _kinds(kinds: Sequence[str], count: int, rng: np.random.Generator) -> list[str]:
    """``count`` check kinds, alternating, starting from a random one."""
    start = int(rng.integers(len(kinds)))
    return [kinds[(start + i) % len(kinds)] for i in range(count)]


def _object_drafts(
    data: Path | str, config: MakeConfig, rng: np.random.Generator
) -> tuple[list[_Draft], list[_Draft], list[dict[str, Any]]]:
    rows = split_rows(data, "object", config.split, OBJECT_COLUMNS)
    sample = stratified_sample([r["manual_id"] for r in rows], config.per_task, rng)
    n_checks = config.checks.get("object", 0)
    spare = _spare(len(rows), set(sample), n_checks + 1, rng)
    checks_at, tutorial_at = spare[:n_checks], spare[n_checks]
    images = images_at(data, "object", config.split, {*sample, *checks_at, tutorial_at})
    regular = [
        _Draft("object", r["id"], r["manual_id"], r["object"], [("collage", draw_box(images[i], r["box"]))])
        for i, r in ((i, rows[i]) for i in sample)
    ]
    checks = []
    for index, kind in zip(checks_at, _kinds(("box_moved", "phrase_swapped"), n_checks, rng)):
        row = rows[index]
        if kind == "box_moved":
            draft = _Draft(
                "object",
                None,
                row["manual_id"],
                row["object"],
                [("collage", draw_box(images[index], moved_box(row["box"])))],
                True,
                kind,
                {"boundary_precision": 0},
            )
        else:
            phrase = IRRELEVANT_PHRASES[int(rng.integers(len(IRRELEVANT_PHRASES)))]
            draft = _Draft(
                "object",
                None,
                row["manual_id"],
                phrase,
                [("collage", draw_box(images[index], row["box"]))],
                True,
                kind,
                {"entity_disambiguity": 0},
            )
        checks.append(draft)
    example = rows[tutorial_at]
    image = images[tutorial_at]
    tutorial = [
        {
            "text": example["object"],
            "image": draw_box(image, example["box"]),
            "scores": None,
            "note": "The dataset's own box and phrase, as every item shows them: judge how tightly the red box "
            "encloses the parts the phrase names, and whether the phrase names them unambiguously.",
        },
        {
            "text": example["object"],
            "image": draw_box(image, moved_box(example["box"])),
            "scores": {"boundary_precision": 0},
            "note": "The same collage with the box moved to another tile: it encloses none of the named parts, "
            "so box precision is 0 (Inaccurate), whatever the phrase.",
        },
        {
            "text": IRRELEVANT_PHRASES[0],
            "image": draw_box(image, example["box"]),
            "scores": {"entity_disambiguity": 0},
            "note": "The phrase names nothing a parts collage holds: entity clarity is 0 (Irrelevant).",
        },
    ]
    return regular, checks, tutorial


def _state_drafts(
    data: Path | str, config: MakeConfig, rng: np.random.Generator
) -> tuple[list[_Draft], list[_Draft], list[dict[str, Any]]]:
    rows = split_rows(data, "state", config.split, STATE_COLUMNS)
    positive: dict[tuple[str, str, int], int] = {}
    for index, row in enumerate(rows):
        if row["label"]:
            positive.setdefault((row["manual_id"], row["session"], row["step_num"]), index)
    step = [(r["manual_id"], r["session"], r["step_num"]) for r in rows]
    orphans = [rows[i]["id"] for i in range(len(rows)) if step[i] not in positive]
    if orphans:
        raise ValueError(
            f"{data}: state/{config.split} rows {orphans[:3]} have no positive (real step image) of their step to show as the reference"
        )
    sample = stratified_sample([r["manual_id"] for r in rows], config.per_task, rng)
    positives = sorted(set(positive.values()))
    n_checks = config.checks.get("state", 0)
    kinds = _kinds(("identical", "other_manual"), n_checks, rng)
    references = [positives[int(i)] for i in rng.choice(len(positives), size=n_checks + 1, replace=len(positives) < n_checks + 1)]
    negatives = [i for i in range(len(rows)) if not rows[i]["label"]]
    tutorial_negative = int(negatives[int(rng.integers(len(negatives)))]) if negatives else references[-1]
    others, other_images = _other_manual_images(data, config.split, [rows[i]["manual_id"] for i in references], rng)
    wanted = {*sample, *(positive[step[i]] for i in sample), *references, tutorial_negative, positive[step[tutorial_negative]]}
    images = images_at(data, "state", config.split, wanted)

    def pair(evaluating: np.ndarray, reference_index: int) -> list[tuple[str, np.ndarray]]:
        return [("evaluating", evaluating), ("reference", images[reference_index])]

    regular = [
        _Draft("state", rows[i]["id"], rows[i]["manual_id"], rows[i]["instruction"], pair(images[i], positive[step[i]])) for i in sample
    ]
    checks = []
    for index, kind, other in zip(references, kinds, others):
        row = rows[index]
        if kind == "identical":
            checks.append(
                _Draft(
                    "state",
                    None,
                    row["manual_id"],
                    row["instruction"],
                    pair(images[index], index),
                    True,
                    kind,
                    {"relevance": 1, "similarity": 1},
                )
            )
        else:
            checks.append(
                _Draft(
                    "state",
                    None,
                    row["manual_id"],
                    row["instruction"],
                    pair(other_images[other], index),
                    True,
                    kind,
                    {"relevance": 0, "similarity": 0},
                )
            )
    example, negative = references[-1], tutorial_negative
    reference = positive[step[negative]]
    tutorial = [
        {
            "text": rows[reference]["instruction"],
            "image": images[reference],
            "reference": images[reference],
            "scores": {"relevance": 1, "similarity": 1},
            "note": "The reference beside itself: the same step of the same model (relevance 1 High), and alike "
            "everywhere (similarity 1 High).",
        },
        {
            "text": rows[negative]["instruction"],
            "image": images[negative],
            "reference": images[reference],
            "scores": None,
            "note": "An evaluating image as the dataset made it (the new part may be displaced): is it this step of "
            "this model, and does it match the reference apart from where the new part sits?",
        },
        {
            "text": rows[example]["instruction"],
            "image": other_images[others[-1]] if others else images[example],
            "reference": images[example],
            "scores": {"relevance": 0, "similarity": 0} if others else None,
            "note": "A step image of another manual beside the reference: another model, so relevance is 0 (Low), and "
            "it looks nothing like the reference, so similarity is 0 (Low).",
        },
    ]
    return regular, checks, tutorial


def _other_manual_images(
    data: Path | str, split: str, manuals: Sequence[str], rng: np.random.Generator
) -> tuple[list[int], dict[int, np.ndarray]]:
    """For each manual in ``manuals``, a real step image of another manual (from this split first,
    then the others): its key, and the images by key (position across the splits read in turn)."""
    picks: dict[int, int] = {}
    images: dict[int, np.ndarray] = {}
    offset = 0
    for source in [split, *(s for s in SPLITS if s != split)]:
        rows = split_rows(data, "state", source, ("manual_id", "label"))
        chosen: dict[int, int] = {}
        for slot, manual in enumerate(manuals):
            pool = [i for i, r in enumerate(rows) if r["label"] and r["manual_id"] != manual]
            if slot not in picks and pool:
                chosen[slot] = int(pool[int(rng.integers(len(pool)))])
        decoded = images_at(data, "state", source, set(chosen.values()))
        for slot, index in chosen.items():
            picks[slot] = offset + index
            images[offset + index] = decoded[index]
        offset += len(rows)
        if len(picks) == len(manuals):
            return [picks[slot] for slot in range(len(manuals))], images
    raise ValueError(f"{data}: the state checks need a step image of another manual, and the build has only one manual")


DRAFTERS: dict[str, Callable[[Path | str, MakeConfig, np.random.Generator], tuple[list[_Draft], list[_Draft], list[dict[str, Any]]]]] = {
    "object": _object_drafts,
    "state": _state_drafts,
}


def check_make_config(data: Path | str, config: MakeConfig, pages: Collection[str], page: str) -> None:
    """Refuse, before anything is read, tasks without a ``page`` (``pages`` has them), bad sizes,
    splits, and tasks the build lacks: shared by the rating questionnaire and the answer page."""
    unknown = [t for t in config.tasks if t not in pages]
    if unknown:
        raise ValueError(f"qa make: no {page} for task(s) {unknown} (have {sorted(pages)})")
    if config.per_task < 1:
        raise ValueError(f"qa make: --per-task must be at least 1, got {config.per_task}")
    if config.split not in SPLITS:
        raise ValueError(f"qa make: --split must be one of {SPLITS}, got {config.split!r}")
    missing = [t for t in config.tasks if t not in config_names(data)]
    if missing:
        raise ValueError(f"{data}: the build has no {', '.join(missing)} config (README.md configs: {list(config_names(data))})")


def make_questionnaire(data: Path | str, out: Path, config: MakeConfig = MakeConfig(), *, overwrite: bool = False) -> dict[str, Any]:
    """Sample, build the checks and tutorial, and write ``out`` atomically; returns the items.json document."""
    check_make_config(data, config, DRAFTERS, "questionnaire")
    files: dict[str, bytes] = {}
    items: list[dict[str, Any]] = []
    tutorials: dict[str, list[dict[str, Any]]] = {}
    for task in config.tasks:
        rng = task_rng(config.seed, task)
        regular, checks, tutorial = DRAFTERS[task](data, config, rng)
        ordered = interleave(regular, checks, check_positions(len(regular), len(checks), rng))
        for number, draft in enumerate(ordered, start=1):
            item_id = f"{task}-{number:03d}"
            shown = []
            for role, image in draft.images:
                name = f"{IMAGES_DIR}/{item_id}-{role}.png"
                files[name] = png_bytes(image)
                shown.append({"src": name, "role": role})
            items.append(
                {
                    "item": item_id,
                    "task": task,
                    "pair_id": draft.pair_id,
                    "manual_id": draft.manual_id,
                    "check": draft.check,
                    "check_kind": draft.check_kind,
                    "expected": draft.expected,
                    "text": draft.text,
                    "images": shown,
                }
            )
        tutorials[task] = []
        for number, example in enumerate(tutorial, start=1):
            shown = []
            for role in ("image", "reference"):
                if role in example:
                    name = f"{IMAGES_DIR}/tutorial-{task}-{number}-{role}.png"
                    files[name] = png_bytes(example[role])
                    shown.append({"src": name, "role": role if role == "reference" else FIRST_ROLE[task]})
            tutorials[task].append({"text": example["text"], "scores": example["scores"], "note": example["note"], "images": shown})
    identity = json.dumps({"seed": config.seed, "split": config.split, "items": items}, sort_keys=True)
    document = {
        "format": FORMAT_VERSION,
        "questionnaire": "qa-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12],
        "split": config.split,
        "seed": config.seed,
        "per_task": config.per_task,
        "tasks": list(config.tasks),
        "criteria": {task: [c.describe() for c in CRITERIA[task]] for task in config.tasks},
        "items": items,
    }
    page = render_page(document, tutorials)
    if Path(data).exists():
        refuse_overlap(Path(out), Path(data), source_name="--data")
    write_page_folder(out, files, document, page, overwrite=overwrite)
    return document


def write_page_folder(out: Path, files: dict[str, bytes], document: dict[str, Any], page: str, *, overwrite: bool = False) -> None:
    """Write a page's folder atomically: its image files, ``items.json`` and ``index.html``
    (the rating questionnaire and the answer page share the layout; ``items.json`` marks it as ours)."""
    with atomic_directory(out, overwrite=overwrite, owner=ITEMS_NAME) as tmp:
        for name, data_bytes in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data_bytes)
        (tmp / ITEMS_NAME).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / PAGE_NAME).write_text(page, encoding="utf-8")


def render_page(document: dict[str, Any], tutorials: dict[str, list[dict[str, Any]]]) -> str:
    """The questionnaire page: the template with the items (no checks' answers) in its data block.

    ``</`` is escaped in the embedded JSON so no phrase can close the ``<script>`` element.
    """
    shown = [{key: item[key] for key in ("item", "task", "text", "images")} for item in document["items"]]
    payload = {"questionnaire": document["questionnaire"], "criteria": document["criteria"], "tutorial": tutorials, "items": shown}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
    template = resources.files("lego_arta").joinpath(TEMPLATE).read_text(encoding="utf-8")
    if template.count(DATA_MARKER) != 1:
        raise ValueError(f"lego_arta/{TEMPLATE}: expected one {DATA_MARKER} marker")
    return template.replace(DATA_MARKER, text)
