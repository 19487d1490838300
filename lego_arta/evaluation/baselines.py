"""``lego-arta baselines``: what each task scores without a model, so model numbers have a floor.

Every baseline sees only what a model sees (the query, the image; the train split where a model
would be fine-tuned on it) and none needs weights:

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
=====================  ======  ============================================================

Each baseline's answers are written as a predictions JSONL and scored by
:func:`lego_arta.evaluation.scoring.score_predictions` (the path any model's answers take);
the rows go to ``baselines.json`` and the report (:mod:`lego_arta.evaluation.report`).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lego_arta.annotate.background import foreground_mask, mask_box
from lego_arta.annotate.colours import BASIC_COLOURS, LEGO_COLOURS, lookup_colour, shade_distance, to_lab
from lego_arta.boxes import FrameBox as Box
from lego_arta.evaluation.built_splits import config_names, iter_images, read_columns
from lego_arta.evaluation.results import ResultRow, metric_label, write_results
from lego_arta.evaluation.scoring import (
    DEFAULT_SPLIT,
    format_interval,
    score_predictions,
    write_predictions,
    write_sample_log,
)
from lego_arta.metrics import DEFAULT_ALPHA, DEFAULT_RESAMPLES
from lego_arta.tasks import TASKS
from lego_arta.tasks.object import PROMPTS as OBJECT_PROMPTS
from lego_arta.tasks.object import object_answer
from lego_arta.tasks.state import state_answer

RGB = tuple[int, int, int]

#: The centre quarter of the frame: the box a detector with no idea where to look would give.
CENTRE_BOX: Box = (25.0, 25.0, 75.0, 75.0)
#: Probability of "Yes." in the random state baseline.
RANDOM_YES_PROBABILITY = 0.5
#: A pixel shows a named colour when its ΔE (CIE76) to a lit shade of it is at most this.
MAX_COLOUR_DISTANCE = 14.0
#: Opening kernel (pixels) that removes anti-aliased edges and stray matches before blobs are counted.
OPENING_KERNEL = 3
#: Setting recorded for every baseline row.
BASELINE_SETTING = "baseline"
#: Split the scene baseline retrieves from (the split a model would be fine-tuned on).
TRAIN_SPLIT = "train"
#: File names under ``--out``.
RESULTS_NAME = "baselines.json"
REPORT_STEM = "baselines"


# --- state ----------------------------------------------------------------------------------------


def constant_verdicts(count: int, verdict: bool) -> list[str]:
    """The same answer for every row ("Yes." or "No.", the dataset's answer wording)."""
    return [state_answer(verdict)] * count


def random_verdicts(ids: Sequence[str], *, seed: int, p_yes: float = RANDOM_YES_PROBABILITY) -> list[str]:
    """A seeded coin per row; the draw depends on the row ids, not on the order rows are stored in.

    >>> random_verdicts(["b", "a"], seed=0) == random_verdicts(["a", "b"], seed=0)[::-1]
    True
    """
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    draws = np.random.default_rng(seed).random(len(ids))
    verdicts = [False] * len(ids)
    for rank, index in enumerate(order):
        verdicts[index] = bool(draws[rank] < p_yes)
    return [state_answer(verdict) for verdict in verdicts]


# --- object ---------------------------------------------------------------------------------------


@cache
def _object_question_pattern() -> re.Pattern[str]:
    """The object question template with its ``{object}`` slot as a capture group."""
    marker = "\x00"
    before, after = (" ".join(part.split()) for part in OBJECT_PROMPTS.question.format(object=marker).split(marker))
    return re.compile(re.escape(before) + r"\s*(.+?)\s*" + re.escape(after), re.DOTALL)


def object_phrase(query: str) -> str:
    """The object phrase an object query asks about (what fills the template's ``{object}``).

    >>> object_phrase(OBJECT_PROMPTS.query(object="2 bright red bricks 2x4").text)
    '2 bright red bricks 2x4'
    """
    found = _object_question_pattern().search(" ".join(query.split()))
    if found is None:
        raise ValueError(f"not an object-task query (no 'positions of <object>.' question): {query[:120]!r}")
    return found.group(1)


def centre_box_answer(query: str) -> str:
    """The query's own phrase and the centre box: full E_ACC by construction, IoU from chance overlap."""
    return object_answer(object_phrase(query), CENTRE_BOX)


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


def outward_integer_box(box: Box) -> Box:
    """The smallest integer box holding ``box``: answers print integers, and rounding a thin box
    could leave it without area (an invalid answer).

    >>> outward_integer_box((54.3, 10.0, 54.6, 12.5))
    (54.0, 10.0, 55.0, 13.0)
    """
    x1, y1, x2, y2 = box
    return (float(math.floor(x1)), float(math.floor(y1)), float(math.ceil(x2)), float(math.ceil(y2)))


@dataclass(frozen=True)
class ColourGuess:
    """The colour detector's answer and whether it found the colour (else it fell back to the centre)."""

    answer: str
    found: bool


def colour_detector_answer(query: str, image: np.ndarray) -> ColourGuess:
    """Box the largest blob of the query's named colours; the centre box when none is named or seen."""
    phrase = object_phrase(query)
    palette = [rgb for rgb in (lookup_colour(name) for name in query_colours(phrase)) if rgb is not None]
    box = largest_blob_box(colour_mask(image, palette)) if palette else None
    if box is None:
        return ColourGuess(object_answer(phrase, CENTRE_BOX), False)
    return ColourGuess(object_answer(phrase, outward_integer_box(box)), True)


# --- scene ----------------------------------------------------------------------------------------


def nearest_train_answers(train_queries: Sequence[str], train_answers: Sequence[str], queries: Sequence[str]) -> list[str]:
    """For each query, the answer of the most similar train query (TF-IDF, cosine; ties → first).

    >>> nearest_train_answers(["find red brick", "find blue plate"], ["A", "B"], ["a blue plate"])
    ['B']
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(train_queries) != len(train_answers) or not train_queries:
        raise ValueError(f"need one answer per train query and at least one, got {len(train_queries)} and {len(train_answers)}")
    vectorizer = TfidfVectorizer()
    train = vectorizer.fit_transform(train_queries)
    similarity = (vectorizer.transform(queries) @ train.T).toarray()
    return [train_answers[int(i)] for i in similarity.argmax(axis=1)]


# --- running them all -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRows:
    """What a baseline may read of one split: ids, queries, answers (train only), images on demand.

    ``images`` starts a fresh pass over the split's images (decoded as consumed, so a study-scale
    split never sits in memory decoded); ``None`` when no baseline needs them.
    """

    ids: tuple[str, ...]
    queries: tuple[str, ...]
    answers: tuple[str, ...] = ()
    images: Callable[[], Iterator[np.ndarray]] | None = None

    def iter_images(self) -> Iterator[np.ndarray]:
        """The rows' images as RGB arrays, in row order, decoded as they are consumed."""
        if self.images is None:
            raise ValueError("these rows were loaded without images")
        return self.images()


Answerer = Callable[[TaskRows, TaskRows, int], tuple[list[str], dict[str, int]]]


@dataclass(frozen=True)
class Baseline:
    """A named answer rule of one task: (test rows, train rows, seed) → one answer per test row, and counters."""

    name: str
    task: str
    description: str
    answer: Answerer
    needs_images: bool = False
    needs_train: bool = False


def _always(verdict: bool) -> Answerer:
    return lambda rows, train, seed: (constant_verdicts(len(rows.ids), verdict), {})


def _random(rows: TaskRows, train: TaskRows, seed: int) -> tuple[list[str], dict[str, int]]:
    return random_verdicts(rows.ids, seed=seed), {}


def _centre(rows: TaskRows, train: TaskRows, seed: int) -> tuple[list[str], dict[str, int]]:
    return [centre_box_answer(query) for query in rows.queries], {}


def _colour(rows: TaskRows, train: TaskRows, seed: int) -> tuple[list[str], dict[str, int]]:
    guesses = [colour_detector_answer(query, image) for query, image in zip(rows.queries, rows.iter_images())]
    fallbacks = sum(not guess.found for guess in guesses)
    return [guess.answer for guess in guesses], {"centre_box_fallbacks": fallbacks}


def _tfidf(rows: TaskRows, train: TaskRows, seed: int) -> tuple[list[str], dict[str, int]]:
    order = sorted(range(len(train.ids)), key=lambda i: train.ids[i])
    answers = nearest_train_answers([train.queries[i] for i in order], [train.answers[i] for i in order], rows.queries)
    return answers, {"train_rows": len(order)}


BASELINES: tuple[Baseline, ...] = (
    Baseline("always-yes", "state", 'answers "Yes." to every row', _always(True)),
    Baseline("always-no", "state", 'answers "No." to every row', _always(False)),
    Baseline("random", "state", f'"Yes." with probability {RANDOM_YES_PROBABILITY}, seeded per row id', _random),
    Baseline("centre-box", "object", "the query's object phrase with the centre box <25><25><75><75>", _centre),
    Baseline("colour-detector", "object", "box of the largest blob of the query's colours (OpenCV, CIE Lab)", _colour, needs_images=True),
    Baseline("tfidf-nearest", "scene", "instruction of the most similar train query (TF-IDF cosine)", _tfidf, needs_train=True),
)


@dataclass(frozen=True)
class BaselineResults:
    """Rows of every baseline run, what each run counted, and where its files went."""

    rows: tuple[ResultRow, ...]
    runs: tuple[dict[str, Any], ...]
    files: tuple[Path, ...] = field(default=())


def load_task_rows(data: Path | str, task: str, split: str, *, answers: bool = False, images: bool = False) -> TaskRows:
    """One split's ids and queries; its answers only when asked (train: never for the split a
    baseline is scored on), its lazy image column with ``images``."""
    text = read_columns(data, task, split, ["id", "query", "answer"] if answers else ["id", "query"])
    return TaskRows(
        ids=tuple(str(v) for v in text["id"]),
        queries=tuple(str(v) for v in text["query"]),
        answers=tuple(str(v) for v in text["answer"]) if answers else (),
        images=(lambda: iter_images(data, task, split)) if images else None,
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
    baselines: Sequence[Baseline] = BASELINES,
) -> BaselineResults:
    """Run every baseline of every task the data holds: write its predictions and per-sample log
    to ``runs_dir``, score it through :func:`score_predictions`, and collect the rows."""
    runs_dir = Path(runs_dir)
    tasks = available_tasks(data)
    rows: list[ResultRow] = []
    runs: list[dict[str, Any]] = []
    files: list[Path] = []
    for task in tasks:
        chosen = [b for b in baselines if b.task == task]
        if not chosen:
            continue
        test = load_task_rows(data, task, split, images=any(b.needs_images for b in chosen))
        train = load_task_rows(data, task, TRAIN_SPLIT, answers=True) if any(b.needs_train for b in chosen) else TaskRows((), ())
        for baseline in chosen:
            answers, counters = baseline.answer(test, train, seed)
            predictions = runs_dir / f"{task}-{baseline.name}.predictions.jsonl"
            samples = runs_dir / f"{task}-{baseline.name}.samples.jsonl"
            write_predictions(predictions, list(zip(test.ids, answers)))
            result = score_predictions(task, predictions, data, split=split, n_resamples=n_resamples, seed=seed, alpha=alpha)
            write_sample_log(samples, result)
            rows.extend(result.rows(baseline.name, BASELINE_SETTING))
            runs.append(result.run_summary(baseline.name, BASELINE_SETTING, description=baseline.description,
                                           predictions=predictions.name, **counters))  # fmt: skip
            files += [predictions, samples]
    return BaselineResults(tuple(rows), tuple(runs), tuple(files))


# --- CLI adapter ----------------------------------------------------------------------------------


def baselines_table(results: BaselineResults) -> Table:
    """One rich table: task × baseline × metric with intervals."""
    table = Table(title="Baselines (no model weights)")
    for column in ("task", "baseline", "metric", "score [95% interval]"):
        table.add_column(column, justify="right" if column.startswith("score") else "left")
    for row in results.rows:
        table.add_row(escape(row.task), escape(row.system), escape(metric_label(row.metric)), escape(format_interval(row.value, row.low, row.high)))
    return table


def baselines_preamble(results: BaselineResults, command: str) -> list[str]:
    """What the baselines report says before its tables: the command, each baseline, how to read them."""
    lines = [f"Produced by `{command}`.", "",
             "No baseline needs model weights; each answers from the query, the image or the train split only:", ""]  # fmt: skip
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


def add_baselines_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``lego-arta baselines``."""
    parser.add_argument("--data", required=True, help="built dataset folder (Hub layout) or Hub dataset id")
    parser.add_argument("--out", type=Path, required=True, help=f"folder for {RESULTS_NAME}, {REPORT_STEM}.md and the charts")
    parser.add_argument("--runs", type=Path, default=None, help="folder for predictions and per-sample logs (default: <out>/baselines-runs)")
    parser.add_argument("--split", default=DEFAULT_SPLIT)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random baseline and of the bootstrap")
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap resamples")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="two-sided error rate (0.05: 95%% intervals)")


def run_baselines(args: argparse.Namespace) -> int:
    """``lego-arta baselines``: run, score, print the table, write results + report with charts."""
    from lego_arta.evaluation.report import write_report

    console = Console(soft_wrap=True)
    out = Path(args.out)
    runs_dir = args.runs if args.runs is not None else out / "baselines-runs"
    results = evaluate_baselines(args.data, runs_dir, split=args.split, seed=args.seed, n_resamples=args.resamples, alpha=args.alpha)
    console.print(baselines_table(results))
    for run in results.runs:
        if run["missing"] or run["unknown"]:
            console.print(f"[yellow]{escape(str(run['task']))}/{escape(str(run['system']))}: {run['missing']} missing, {run['unknown']} unknown ids[/yellow]", highlight=False)
    write_results(out / RESULTS_NAME, results.rows, results.runs)
    command = f"lego-arta baselines --data {args.data} --split {args.split} --seed {args.seed} --resamples {args.resamples}"
    written = write_report(results.rows, out, stem=REPORT_STEM, title="LEGO-ARTA baselines", preamble=baselines_preamble(results, command))
    console.print(escape(f"wrote {out / RESULTS_NAME}, {len(written)} report files under {out}, predictions under {runs_dir}"), highlight=False)
    return 0

