"""``lego-arta baselines``: what each task scores without a model, so model numbers have a floor.

Each task declares its floors in its own module (:attr:`~lego_arta.tasks.spec.TaskSpec.baselines`,
rules in :mod:`lego_arta.tasks.floors`); this module runs them. A floor sees only what a model
sees (the query, the image; the train split where a model would be fine-tuned on it), unless it
says it reads a reference column, and none needs weights. The built-in tasks' floors:

=====================  ======  ============================================================
baseline               task    answer
=====================  ======  ============================================================
``always-yes``         state   "Yes." — TNR 0, FPR 100; F1 = 2P/(2P+N) of the label counts
``always-no``          state   "No." — F1 0, TNR 100
``random``             state   "Yes."/"No." with p = 0.5, seeded per row id
``centre-box``         object  the query's object phrase and the centre box <25><25><75><75>
``colour-detector``    object  the query's colour names found in the collage (OpenCV): box of the
                               largest matching blob; the centre box when nothing matches
``tfidf-nearest``      scene   the instruction of the most similar train query (TF-IDF cosine)
``tfidf-nearest``      guide   the answer of the most similar train query of the same turn
=====================  ======  ============================================================

Each baseline's answers are written as a predictions JSONL and scored by
:func:`lego_arta.evaluation.scoring.score_predictions` (the path any model's answers take);
the rows go to ``baselines.json`` and the report (:mod:`lego_arta.evaluation.report`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.markup import escape
from rich.table import Table

from lego_arta.annotate.background import foreground_mask, mask_box
from lego_arta.annotate.colours import BASIC_COLOURS, LEGO_COLOURS, lookup_colour, shade_distance, to_lab
from lego_arta.boxes import FrameBox as Box
from lego_arta.evaluation.built_splits import config_names, iter_images, read_columns
from lego_arta.evaluation.results import ResultRow, metric_label
from lego_arta.evaluation.scoring import (
    DEFAULT_SPLIT,
    format_interval,
    score_predictions,
    write_predictions,
    write_sample_log,
)
from lego_arta.metrics import DEFAULT_ALPHA, DEFAULT_RESAMPLES
from lego_arta.tasks import TASKS, get_task
from lego_arta.tasks.floors import Floor, FloorRows

RGB = tuple[int, int, int]

#: A pixel shows a named colour when its ΔE (CIE76) to a lit shade of it is at most this.
MAX_COLOUR_DISTANCE = 14.0
#: Opening kernel (pixels) that removes anti-aliased edges and stray matches before blobs are counted.
OPENING_KERNEL = 3
#: Setting recorded for every baseline row.
BASELINE_SETTING = "baseline"
#: Split a floor that needs train rows reads (the split a model would be fine-tuned on).
TRAIN_SPLIT = "train"
#: File names under ``--out``.
RESULTS_NAME = "baselines.json"
REPORT_STEM = "baselines"


# --- the colour detector the object floor asks for ---------------------------------------------


@cache
def _colour_name_pattern() -> re.Pattern[str]:
    """Every known colour name, longest first, so "bright red" wins over "red"."""
    names = sorted(set(LEGO_COLOURS) | set(BASIC_COLOURS), key=lambda name: (-len(name), name))
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(name) for name in names) + r")(?![\w-])")


def query_colours(phrase: str) -> tuple[str, ...]:
    """Colour names in an object phrase, in reading order, longest match at each place.

    >>> query_colours("1 white, black and bright orange brick 1x2")
    ('white', 'black', 'bright orange')
    """
    text = " ".join(phrase.lower().split())
    return tuple(match.group(1) for match in _colour_name_pattern().finditer(text))


def colour_mask(image: np.ndarray, colours: Sequence[RGB], *, max_distance: float = MAX_COLOUR_DISTANCE) -> np.ndarray:
    """Bool ``H×W``: foreground pixels within ``max_distance`` (ΔE) of a lit shade of any of ``colours``.

    Rendered and photographed manuals hold few distinct colours, so each distinct foreground
    colour is measured once. (Assigning pixels to their *nearest* known LEGO colour instead
    scored lower IoU on synthetic builds: shaded faces drift toward neighbouring colours.)
    """
    rgb = np.ascontiguousarray(np.asarray(image)[:, :, :3])
    foreground = foreground_mask(rgb)
    mask = np.zeros(foreground.shape, dtype=bool)
    if not colours or not foreground.any():
        return mask
    pixels = rgb[foreground].astype(np.uint32)
    distinct, inverse = np.unique((pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2], return_inverse=True)
    distinct_rgb = np.stack([(distinct >> 16) & 255, (distinct >> 8) & 255, distinct & 255], axis=1).astype(np.uint8)
    lab = to_lab(distinct_rgb)
    near = np.zeros(len(distinct), dtype=bool)
    for colour in colours:
        near |= shade_distance(lab, colour) <= max_distance
    mask[foreground] = near[inverse.reshape(-1)]
    return mask


def largest_blob_box(mask: np.ndarray) -> Box | None:
    """Box (0–100 frame, end-exclusive) of the largest 8-connected blob after a small opening."""
    height, width = mask.shape
    kernel = np.ones((OPENING_KERNEL, OPENING_KERNEL), np.uint8)
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    if not opened.any():
        opened = mask.astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count <= 1:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    box = mask_box(labels == largest)
    if box is None:
        return None
    x1, y1, x2, y2 = box
    return (100.0 * x1 / width, 100.0 * y1 / height, 100.0 * x2 / width, 100.0 * y2 / height)


def colour_box(image: np.ndarray, phrase: str) -> Box | None:
    """Box (0–100 frame) of the largest blob of the colours ``phrase`` names; ``None`` when it names
    none or none is seen. The object task's ``colour-detector`` floor calls it through its rows."""
    palette = [rgb for rgb in (lookup_colour(name) for name in query_colours(phrase)) if rgb is not None]
    return largest_blob_box(colour_mask(image, palette)) if palette else None


@dataclass(frozen=True)
class ColourGuess:
    """The colour detector's answer and whether it found the colour (else it fell back to the centre)."""

    answer: str
    found: bool


def colour_detector_answer(query: str, image: np.ndarray) -> ColourGuess:
    """The object task's ``colour-detector`` floor on one query and collage."""
    floor = next(floor for floor in get_task("object").baselines if floor.name == "colour-detector")
    rows = FloorRows(("",), (query,), images=lambda: iter([image]), colour_box=colour_box)
    answers, counters = floor.answer(rows, FloorRows((), ()), 0)
    return ColourGuess(answers[0], not counters["centre_box_fallbacks"])


# --- running them all -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineResults:
    """Rows of every baseline run, what each run counted, and where its files went."""

    rows: tuple[ResultRow, ...]
    runs: tuple[dict[str, Any], ...]
    files: tuple[Path, ...] = field(default=())


def load_floor_rows(data: Path | str, task: str, split: str, floors: Sequence[Floor], *, train: bool = False) -> FloorRows:
    """What ``floors`` may read of one split: ids and queries; on the train split its answers; the
    reference columns they declare (``Floor.reads``); the turn of each row for a task asked turn by
    turn (``TaskSpec.turn_column``: the query shows it); the lazy image column and the colour
    detector when one needs images."""
    reads = sorted({column for floor in floors for column in floor.reads})
    turn = get_task(task).turn_column
    text = read_columns(
        data, task, split, list(dict.fromkeys(["id", "query", *(["answer"] if train else []), *reads, *([turn] if turn else [])]))
    )
    return FloorRows(
        ids=tuple(str(v) for v in text["id"]),
        queries=tuple(str(v) for v in text["query"]),
        answers=tuple(str(v) for v in text["answer"]) if train else (),
        columns={column: text[column] for column in reads},
        images=(lambda: iter_images(data, task, split)) if any(f.needs_images for f in floors) else None,
        colour_box=colour_box,
        turns=tuple(str(v) for v in text[turn]) if turn else (),
    )


def available_tasks(data: Path | str) -> tuple[str, ...]:
    """The configs a built dataset holds, in task order."""
    names = set(config_names(data))
    tasks = tuple(task for task in TASKS if task in names)
    if not tasks:
        raise ValueError(f"{data}: no config of a known task ({', '.join(TASKS)}); found {sorted(names)}")
    return tasks


def evaluate_baselines(
    data: Path | str,
    runs_dir: Path,
    *,
    split: str = DEFAULT_SPLIT,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    alpha: float = DEFAULT_ALPHA,
    tasks: Sequence[str] | None = None,
) -> BaselineResults:
    """Run every floor each task declares (:attr:`TaskSpec.baselines`), for every task the data
    holds (or those named): write its predictions and per-sample log to ``runs_dir``, score it
    through :func:`score_predictions`, and collect the rows."""
    runs_dir = Path(runs_dir)
    tasks = available_tasks(data) if tasks is None else tuple(tasks)
    rows: list[ResultRow] = []
    runs: list[dict[str, Any]] = []
    files: list[Path] = []
    for task in tasks:
        chosen = get_task(task).baselines
        if not chosen:
            continue
        test = load_floor_rows(data, task, split, chosen)
        train = load_floor_rows(data, task, TRAIN_SPLIT, (), train=True) if any(b.needs_train for b in chosen) else FloorRows((), ())
        for baseline in chosen:
            answers, counters = baseline.answer(test, train, seed)
            predictions = runs_dir / f"{task}-{baseline.name}.predictions.jsonl"
            samples = runs_dir / f"{task}-{baseline.name}.samples.jsonl"
            write_predictions(predictions, list(zip(test.ids, answers)))
            result = score_predictions(task, predictions, data, split=split, n_resamples=n_resamples, seed=seed, alpha=alpha)
            write_sample_log(samples, result)
            rows.extend(result.rows(baseline.name, BASELINE_SETTING))
            runs.append(
                result.run_summary(
                    baseline.name, BASELINE_SETTING, description=baseline.description, predictions=predictions.name, **counters
                )
            )
            files += [predictions, samples]
    return BaselineResults(tuple(rows), tuple(runs), tuple(files))


# --- for people ----------------------------------------------------------------------------------


def baselines_table(results: BaselineResults) -> Table:
    """One rich table: task × baseline × metric with intervals."""
    table = Table(title="Baselines (no model weights)")
    for column in ("task", "baseline", "metric", "score [95% interval]"):
        table.add_column(column, justify="right" if column.startswith("score") else "left")
    for row in results.rows:
        table.add_row(
            escape(row.task), escape(row.system), escape(metric_label(row.metric)), escape(format_interval(row.value, row.low, row.high))
        )
    return table


def baselines_preamble(results: BaselineResults, command: str) -> list[str]:
    """What the baselines report says before its tables: the command, each baseline, how to read them."""
    lines = [
        f"Produced by `{command}`.",
        "",
        "No baseline needs model weights; each answers from the query, the image or the train split only:",
        "",
    ]
    for run in results.runs:
        counters = {k: v for k, v in run.items() if k in ("centre_box_fallbacks", "train_rows")}
        counted = "".join(f"; {k.replace('_', ' ')}: {v}" for k, v in sorted(counters.items()))
        lines.append(f"- **{run['system']}** ({run['task']}, {run['rows']} test rows): {run['description']}{counted}")
    lines += [
        "",
        "Reading the floors: both object baselines echo the query's own phrase, so their E_ACC is 100 by "
        "construction, and the echo rate beside it (100) says so; IoU and quadrant accuracy (the box centre "
        "in the right tile of the collage, 25 by chance) measure grounding, and the position-bias columns show "
        "where the boxes land (the centre box always counts as bottom-right). always-yes puts F1 at 2P/(2P+N) "
        "for P positive and N negative state rows: 40 on a 1:3 split, as much as the study's best model, so F1 "
        "alone does not separate a model from a constant. Balanced accuracy (50 for any constant), MCC (0) and "
        "group accuracy (a state counts only when its real image gets Yes and every negative No: 0 for any "
        "constant) do; TNR per negative kind says which errors are caught. Intervals resample manuals, not rows "
        "(rows of one manual are correlated); with few test manuals (the quick-start build has two) an interval "
        "rests on a handful of distinct resamples and can even be narrower than a row bootstrap's: read it as a "
        "sketch, and build more manuals (builders/study.yaml: 65) for intervals to trust. The study's rows were "
        "measured on its own data (65 real manuals, split at random); ours on the build named in the command.",
    ]
    return lines
