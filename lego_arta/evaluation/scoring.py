"""``lego-arta score``: score a file of answers against a built dataset, with bootstrap intervals.

Predictions are JSON lines ``{"id": "<row id>", "answer": "<model output>"}`` (optionally with
``"p_yes"``, the model's probability of the task's positive verdict in [0, 1], which AUROC and
average precision need), or lmms-eval's per-sample log (``*_samples_lego_arta_<task>.jsonl``,
written by ``lego-arta eval``), whose rows carry our row id (and ``p_yes`` where the model gave
one) in the per-metric records and the answer in ``filtered_resps``. Object answers are read in
the run's box convention (``box_format``, :data:`lego_arta.answers.BOX_FORMATS`), recorded in
the results.

A task asked turn by turn (guide) has two history modes: each turn after the true earlier turns
(:data:`GOLD_HISTORY`: lmms-eval's samples, and a JSONL without ``"mode"``) or after the model's
own answers (``lego-arta converse`` writes ``"mode": "own_history"`` on every line). The file's
mode is what was scored, recorded in the results (``mode``); a file that mixes modes is refused,
and so is a mode the task does not have.

Joining on ``id`` is strict about what it cannot pair, and counts it:

- a data row without a prediction is **scored as an empty answer** — wrong on every metric
  (state: an unreadable verdict, so a false negative or false positive; object: no box, IoU 0,
  no entity named; scene: nothing found, nothing overlapping). Leaving such rows out would
  reward a run for skipping the hard cases; they are listed in :attr:`ScoreResult.missing`.
- a prediction whose id is not in the split is not scored and is listed in
  :attr:`ScoreResult.unknown` (a prediction file for another split or build shows up here).

Not run as a doctest: it needs predictions and a build.

>>> result = score_predictions("state", Path("preds.jsonl"), "out/quickstart/lego-arta")  # doctest: +SKIP
>>> result.scores["f1"], result.intervals["f1"], len(result.missing)                     # doctest: +SKIP
(57.1, Interval(low=48.0, high=65.2), 0)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from lego_arta.answers import BOX_FORMATS
from lego_arta.atomic import atomic_write_text
from lego_arta.dataset.benchmark import UNKNOWN, data_benchmark_version
from lego_arta.evaluation.built_splits import read_columns
from lego_arta.evaluation.results import ResultRow, metric_label
from lego_arta.metrics import DEFAULT_ALPHA, DEFAULT_RESAMPLES, RESAMPLE_UNIT, Interval, SampleStats, intervals
from lego_arta.tasks import get_task
from lego_arta.tasks.spec import plain_value

#: What a data row without a prediction is scored as: an empty answer, wrong on every metric.
MISSING_ANSWER = ""
#: Split scored unless told otherwise (the study held out 25% for test).
DEFAULT_SPLIT = "test"
#: Setting recorded for scored prediction files: answers to the ``query`` column as built.
DEFAULT_SETTING = "with instruction"
#: Ids listed in printed warnings (all of them are in the results file).
SHOWN_IDS = 5
#: The history mode of predictions that name none: each turn was asked after the true earlier turns.
GOLD_HISTORY = "gold_history"


@dataclass(frozen=True)
class Reference:
    """What one test row's answer is scored against (no image: scoring never needs it).

    ``columns`` holds the task's :attr:`~lego_arta.tasks.spec.TaskSpec.reference_columns`
    (scene: entities; object: entities, box, quadrant, image size; state: label, negative kind and the
    state's manual, session and step) as plain Python values. ``manual_id`` is the row's
    cluster: intervals resample manuals, not rows.
    """

    id: str
    answer: str
    columns: Mapping[str, Any] = field(default_factory=dict)
    manual_id: str = ""


def references_from_records(task: str, records: Sequence[Mapping[str, Any]], *, where: str = "data") -> tuple[Reference, ...]:
    """References of ``task`` from dataset rows (dicts with ``id``, ``answer`` and the task's columns)."""
    spec = get_task(task)
    references = []
    seen: dict[str, int] = {}
    for i, record in enumerate(records):
        missing = [name for name in ("id", "answer", "manual_id", *spec.reference_columns) if name not in record]
        if missing:
            raise ValueError(f"{where}: row {i} has no {', '.join(missing)} column(s); is this a {task} split?")
        row_id = str(record["id"])
        if row_id in seen:
            raise ValueError(f"{where}: id {row_id!r} appears in rows {seen[row_id]} and {i}; ids must be unique")
        seen[row_id] = i
        columns = {name: plain_value(record[name]) for name in spec.reference_columns}
        references.append(Reference(id=row_id, answer=str(record["answer"]), columns=columns, manual_id=str(record["manual_id"])))
    if not references:
        raise ValueError(f"{where}: no rows to score")
    return tuple(references)


def read_ids(path: Path) -> tuple[str, ...]:
    """Row ids to score, one per line (blank lines ignored): the rows a subset was asked, e.g. the
    ``ids-<task>.txt`` of a human-baseline questionnaire (``lego-arta qa score``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ids file {path} does not exist")
    ids: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row_id = line.strip()
        if not row_id:
            continue
        if row_id in ids:
            raise ValueError(f"{path}:{number}: id {row_id!r} was already listed on line {ids[row_id]}")
        ids[row_id] = number
    if not ids:
        raise ValueError(f"{path}: no ids (expected one row id per line)")
    return tuple(ids)


def select_references(references: Sequence[Reference], ids: Sequence[str], *, where: str) -> tuple[Reference, ...]:
    """The references of ``ids``, in data order; an id that is not in the split is an error naming ``where``."""
    known = {reference.id for reference in references}
    unknown = [row_id for row_id in ids if row_id not in known]
    if unknown:
        raise ValueError(f"{where}: {len(unknown)} id(s) not in the split, e.g. {unknown[:3]} (ids of another build or split?)")
    wanted = set(ids)
    return tuple(reference for reference in references if reference.id in wanted)


def load_references(task: str, data: Path | str, *, split: str = DEFAULT_SPLIT) -> tuple[Reference, ...]:
    """References of one split of a built dataset (a Hub-layout folder or a Hub id), images not read.

    Local folders are read from their Parquet files, not the ``datasets`` cache (see
    :mod:`lego_arta.evaluation.built_splits`).
    """
    columns = tuple(dict.fromkeys(("id", "answer", "manual_id", *get_task(task).reference_columns)))
    table = read_columns(data, task, split, columns)
    records = [dict(zip(columns, values)) for values in zip(*(table[name] for name in columns))]
    return references_from_records(task, records, where=f"{data} ({task}, {split})")


# --- predictions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """Answers by row id, in file order, and which format the file was in."""

    answers: dict[str, str]
    source: str
    kind: str
    p_yes: dict[str, float] = field(default_factory=dict)
    #: The history mode the answers were asked in (every line's ``"mode"``, :data:`GOLD_HISTORY` where none is named).
    mode: str = GOLD_HISTORY


def _p_yes(value: Any, *, where: str) -> float | None:
    """A prediction's ``p_yes``: absent/null, or a probability; anything else names the line."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{where}: p_yes must be a probability in [0, 1] (or absent), got {value!r}")
    return float(value)


def _lmms_eval_p_yes(record: Mapping[str, Any]) -> Any:
    """``p_yes`` of an lmms-eval sample: our per-metric record carries it beside the row id."""
    for key in sorted(record):
        value = record[key]
        if isinstance(value, Mapping) and isinstance(value.get("id"), str) and "p_yes" in value:
            return value["p_yes"]
    return None


def _lmms_eval_answer(response: Any) -> str:
    """lmms-eval's ``filtered_resps``: a string, or a (nested) list whose first item is the answer."""
    while isinstance(response, list):
        response = response[0] if response else MISSING_ANSWER
    return response if isinstance(response, str) else MISSING_ANSWER if response is None else str(response)


def _lmms_eval_id(record: Mapping[str, Any]) -> str | None:
    """Our row id from an lmms-eval sample: a per-metric record carries it (lmms-eval drops ``doc``)."""
    doc = record.get("doc")
    if isinstance(doc, Mapping) and "id" in doc:
        return str(doc["id"])
    for key in sorted(record):
        value = record[key]
        if isinstance(value, Mapping) and isinstance(value.get("id"), str):
            return value["id"]
    return None


def parse_prediction_line(record: Any, *, where: str) -> tuple[str, str, str]:
    """``(id, answer, kind)`` of one parsed JSON line; ``kind`` is ``jsonl`` or ``lmms-eval samples``
    (its ``p_yes``, if any, is read by :func:`prediction_p_yes`)."""
    if not isinstance(record, Mapping):
        raise ValueError(f"{where}: expected a JSON object with id and answer, got {type(record).__name__}")
    if "answer" in record and "id" in record:
        if not isinstance(record["id"], str):
            raise ValueError(f"{where}: id must be a string, got {record['id']!r}")
        if not isinstance(record["answer"], str):
            raise ValueError(f"{where}: answer must be a string, got {record['answer']!r}")
        return record["id"], record["answer"], "jsonl"
    if "doc_id" in record and ("filtered_resps" in record or "resps" in record):
        row_id = _lmms_eval_id(record)
        if row_id is None:
            raise ValueError(f"{where}: lmms-eval sample without a LEGO-ARTA row id (was it logged by a lego_arta_* task?)")
        return row_id, _lmms_eval_answer(record.get("filtered_resps", record.get("resps"))), "lmms-eval samples"
    raise ValueError(f"{where}: expected keys id and answer (or an lmms-eval sample with doc_id and filtered_resps), got {sorted(record)}")


#: Longest predictions line read: a real answer is under a few kB, an lmms-eval sample line (with its
#: document) under 100 kB; a longer line is refused before it is held in memory.
MAX_PREDICTION_LINE_BYTES = 1024**2
#: Longest answer parsed; a longer one is read up to this length (parsing cost is linear in it, and a
#: real answer is under a few kB).
MAX_ANSWER_CHARS = 16 * 1024


def _prediction_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line, each refused (naming the file and line) when it is over
    :data:`MAX_PREDICTION_LINE_BYTES` or not UTF-8: memory stays bounded whatever the file holds."""
    with path.open("rb") as handle:
        number = 0
        while line := handle.readline(MAX_PREDICTION_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_PREDICTION_LINE_BYTES:
                raise ValueError(
                    f"{path}:{number}: line over {MAX_PREDICTION_LINE_BYTES:,} bytes; a predictions line holds one "
                    "answer of a few kB (is this the right file?)"
                )
            try:
                yield number, line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start}); save the file as UTF-8"
                ) from None


def prediction_mode(record: Mapping[str, Any], kind: str, *, where: str) -> str:
    """The history mode of one prediction line: its ``"mode"``, :data:`GOLD_HISTORY` where it names none
    (an lmms-eval sample is always asked after the gold history).

    >>> prediction_mode({"id": "a", "answer": "No.", "mode": "own_history"}, "jsonl", where="p.jsonl:1")
    'own_history'
    >>> prediction_mode({"id": "a", "answer": "No."}, "jsonl", where="p.jsonl:1")
    'gold_history'
    """
    mode = record.get("mode") if kind == "jsonl" else None
    if mode is None:
        return GOLD_HISTORY
    if not isinstance(mode, str) or not mode.strip():
        raise ValueError(f"{where}: mode must be a history mode such as {GOLD_HISTORY!r} or 'own_history', got {mode!r}")
    return mode


def prediction_p_yes(record: Mapping[str, Any], kind: str, *, where: str) -> float | None:
    """The ``p_yes`` of one prediction line of ``kind`` (``None`` where it has none)."""
    return _p_yes(record.get("p_yes") if kind == "jsonl" else _lmms_eval_p_yes(record), where=where)


def read_predictions(path: Path) -> Predictions:
    """Read a predictions JSONL (or lmms-eval sample log); blank lines are allowed, duplicate ids are not.

    Bounded on any input: a line over :data:`MAX_PREDICTION_LINE_BYTES` or nested past the JSON
    reader's depth is an error naming the line, and answers are read up to :data:`MAX_ANSWER_CHARS`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"predictions file {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    answers: dict[str, str] = {}
    p_yes: dict[str, float] = {}
    lines: dict[str, int] = {}
    kinds: set[str] = set()
    modes: dict[str, int] = {}
    for number, line in _prediction_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg})") from error
        except RecursionError:
            raise ValueError(f"{where}: JSON nested too deeply (expected an object with id and answer)") from None
        row_id, answer, kind = parse_prediction_line(record, where=where)
        if row_id in answers:
            raise ValueError(f"{where}: id {row_id!r} was already predicted on line {lines[row_id]}")
        answers[row_id], lines[row_id] = answer[:MAX_ANSWER_CHARS], number
        probability = prediction_p_yes(record, kind, where=where)
        if probability is not None:
            p_yes[row_id] = probability
        kinds.add(kind)
        mode = prediction_mode(record, kind, where=where)
        modes.setdefault(mode, number)
        if len(modes) > 1:
            first, line = next(iter(modes.items()))
            raise ValueError(
                f"{where}: mode {_mode_text(mode)}, but line {line} is {_mode_text(first)}: a predictions file holds one history "
                "mode (scores of the two modes mean different things); score each mode's predictions as a file of its own"
            )
    if not answers:
        raise ValueError(f"{path}: no predictions (expected JSON lines with id and answer)")
    return Predictions(answers, str(path), " + ".join(sorted(kinds)), p_yes, next(iter(modes)))


def _mode_text(mode: str) -> str:
    return f"{mode} (no mode field)" if mode == GOLD_HISTORY else mode


def history_modes(task: str) -> tuple[str, ...]:
    """The history modes predictions of ``task`` may be in: gold history, and the task's own-history mode where it declares one.

    >>> history_modes("guide"), history_modes("state")
    (('gold_history', 'own_history'), ('gold_history',))
    """
    declared = get_task(task).own_history
    return (GOLD_HISTORY,) if declared is None else (GOLD_HISTORY, declared.mode)


def turned(task: str) -> bool:
    """Whether ``task`` is asked turn by turn, so that its results say which history mode was scored."""
    spec = get_task(task)
    return spec.turn_column is not None or spec.own_history is not None


def write_predictions(path: Path, answers: Sequence[tuple[str, str]]) -> None:
    """Write ``(id, answer)`` pairs as predictions JSONL, atomically."""
    text = "".join(json.dumps({"id": row_id, "answer": answer}, ensure_ascii=False) + "\n" for row_id, answer in answers)
    atomic_write_text(Path(path), text)


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    """One answer per reference (``MISSING_ANSWER`` where none was given) and what did not pair."""

    answers: tuple[str, ...]
    missing: tuple[str, ...]
    unknown: tuple[str, ...]


def join_answers(references: Sequence[Reference], answers: Mapping[str, str]) -> Joined:
    """Pair answers with references by id; count both kinds of leftovers (see the module docstring)."""
    known = {reference.id for reference in references}
    paired = tuple(answers.get(reference.id, MISSING_ANSWER) for reference in references)
    missing = tuple(reference.id for reference in references if reference.id not in answers)
    unknown = tuple(row_id for row_id in answers if row_id not in known)
    return Joined(paired, missing, unknown)


def reference_columns(
    task: str, references: Sequence[Reference], *, box_format: str = "auto", p_yes: Mapping[str, float] | None = None
) -> dict[str, list[Any]]:
    """Column → values of the references: what a task's metrics read (``answer`` and its own
    columns), and the run columns (:data:`~lego_arta.tasks.spec.RUN_COLUMNS`): the run's
    ``box_format`` and each row's ``p_yes`` (``None`` where the run gave none)."""
    if box_format not in BOX_FORMATS:
        raise ValueError(f"box format {box_format!r}: expected one of {', '.join(BOX_FORMATS)}")
    columns = {name: [r.columns[name] for r in references] for name in get_task(task).reference_columns}
    given = p_yes or {}
    run = {"box_format": [box_format] * len(references), "p_yes": [given.get(r.id) for r in references]}
    return {"answer": [r.answer for r in references], **columns, **run}


def task_scores(task: str, answers: Sequence[str], references: Sequence[Reference], **run: Any) -> dict[str, float]:
    """The task's reported metrics in percent (its spec's metrics, from :mod:`lego_arta.metrics`);
    ``run`` is :func:`reference_columns`' ``box_format`` and ``p_yes``."""
    return get_task(task).scores(answers, reference_columns(task, references, **run))


def task_stats(task: str, answers: Sequence[str], references: Sequence[Reference], **run: Any) -> dict[str, SampleStats]:
    """Bootstrap statistics of the task's metrics."""
    return get_task(task).stats(answers, reference_columns(task, references, **run))


def sample_records(
    task: str, answers: Sequence[str], references: Sequence[Reference], missing: Sequence[str] = (), **run: Any
) -> list[dict[str, Any]]:
    """The per-sample log: id, answer, reference, whether it was missing, the task's reference
    columns, and each metric's per-sample value (scene ``t_acc`` (None without entities),
    ``rouge1``, sentence ``bleu``; object ``e_acc``, ``iou``, ``valid_box``; state the confusion ``outcome``).
    """
    gaps = set(missing)
    columns = reference_columns(task, references, **run)
    logged = {name: [list(v) if isinstance(v, tuple) else v for v in values] for name, values in columns.items() if name != "answer"}
    logged.update(get_task(task).per_sample(answers, columns))
    records = []
    for i, (reference, answer) in enumerate(zip(references, answers)):
        record = {
            "id": reference.id,
            "answer": answer,
            "reference": reference.answer,
            "missing": reference.id in gaps,
            "manual_id": reference.manual_id,
        }
        record.update({name: values[i] for name, values in logged.items()})
        records.append(record)
    return records


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one task with their intervals, the leftovers of the join, and the per-sample log."""

    task: str
    split: str
    n_rows: int
    n_predictions: int
    missing: tuple[str, ...]
    unknown: tuple[str, ...]
    scores: dict[str, float]
    intervals: dict[str, Interval]
    samples: tuple[dict[str, Any], ...] = field(repr=False)
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    alpha: float = DEFAULT_ALPHA
    #: The benchmark version of the data the answers were scored against (``manifest.json``), where known.
    benchmark_version: str = UNKNOWN
    box_format: str = "auto"
    probabilities: int = 0
    #: The history mode scored (:func:`history_modes`), for a task asked turn by turn; ``None`` for any other.
    mode: str | None = None

    def rows(self, system: str, setting: str = DEFAULT_SETTING) -> list[ResultRow]:
        """The scores as result rows (table order, breakdown metrics last), for results files and reports."""
        return [
            ResultRow(self.task, system, setting, metric, self.scores[metric], *self.intervals[metric], n=self.n_rows)
            for metric in self.scores
        ]

    def run_summary(self, system: str, setting: str = DEFAULT_SETTING, **extra: Any) -> dict[str, Any]:
        """What the run counted, for the ``runs`` list of a results file."""
        return {
            "task": self.task,
            "system": system,
            "setting": setting,
            "split": self.split,
            "rows": self.n_rows,
            "predictions": self.n_predictions,
            "missing": len(self.missing),
            "missing_ids": list(self.missing),
            "unknown": len(self.unknown),
            "unknown_ids": list(self.unknown),
            "bootstrap": {
                "resamples": self.n_resamples,
                "seed": self.seed,
                "alpha": self.alpha,
                "resample_unit": RESAMPLE_UNIT,
                "manuals": len({r["manual_id"] for r in self.samples}),
            },
            "benchmark_version": self.benchmark_version,
            "box_format": self.box_format,
            "probabilities": self.probabilities,
            **({"mode": self.mode} if self.mode is not None else {}),
            **extra,
        }


def score_answers(
    task: str,
    references: Sequence[Reference],
    answers: Mapping[str, str],
    *,
    split: str = DEFAULT_SPLIT,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    box_format: str = "auto",
    p_yes: Mapping[str, float] | None = None,
) -> ScoreResult:
    """Score answers by id against references: point estimates, percentile-bootstrap intervals that
    resample manuals (see :mod:`lego_arta.metrics.bootstrap`), per-sample log. Object answers are
    read in ``box_format``; ``p_yes`` (by row id) feeds AUROC and average precision, which are
    absent without it."""
    joined = join_answers(references, answers)
    run = {"box_format": box_format, "p_yes": {k: v for k, v in (p_yes or {}).items() if k in answers}}
    every = task_stats(task, joined.answers, references, **run)
    stats = {name: table for name, table in every.items() if math.isfinite(table.score())}  # undefined (AUROC of one class): absent
    manuals = [reference.manual_id for reference in references]
    return ScoreResult(
        task=task,
        split=split,
        n_rows=len(references),
        n_predictions=len(answers),
        missing=joined.missing,
        unknown=joined.unknown,
        scores={name: table.score() for name, table in stats.items()},
        intervals=intervals(stats, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=manuals),
        samples=tuple(sample_records(task, joined.answers, references, joined.missing, **run)),
        n_resamples=n_resamples,
        seed=seed,
        alpha=alpha,
        box_format=box_format,
        probabilities=sum(reference.id in run["p_yes"] for reference in references),
    )


def score_predictions(
    task: str,
    predictions: Path,
    data: Path | str,
    *,
    split: str = DEFAULT_SPLIT,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    ids: Path | None = None,
    box_format: str = "auto",
) -> ScoreResult:
    """Score a predictions file (JSONL or lmms-eval sample log) against one split of a built dataset.

    With ``ids`` (a file of row ids, :func:`read_ids`) only those rows are scored: a subset such as
    the rows a human baseline answered, so a model can be compared on the same rows.
    """
    read = read_predictions(Path(predictions))
    if read.mode not in history_modes(task):
        raise ValueError(
            f"{predictions}: predictions in {read.mode} mode, which task {task} does not have (its modes: {', '.join(history_modes(task))})"
        )
    references = load_references(task, data, split=split)
    if ids is not None:
        references = select_references(references, read_ids(ids), where=str(ids))
    result = score_answers(
        task,
        references,
        read.answers,
        split=split,
        n_resamples=n_resamples,
        seed=seed,
        alpha=alpha,
        box_format=box_format,
        p_yes=read.p_yes,
    )
    return replace(result, benchmark_version=data_benchmark_version(data), mode=read.mode if turned(task) else None)


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_sample_log(path: Path, result: ScoreResult) -> None:
    """The per-sample log as JSON lines, one per data row in data order, atomically."""
    lines = (json.dumps({k: _json_value(v) for k, v in record.items()}, ensure_ascii=False, sort_keys=True) for record in result.samples)
    atomic_write_text(Path(path), "".join(line + "\n" for line in lines))


# --- CLI adapter --------------------------------------------------------------------------------


def format_interval(value: float, low: float | None, high: float | None) -> str:
    """``57.14 [48.00, 65.20]``: a score with its interval, two decimals (the study's precision)."""
    return f"{value:.2f}" if low is None or high is None else f"{value:.2f} [{low:.2f}, {high:.2f}]"


def score_table(result: ScoreResult, title: str) -> Table:
    """A rich table of one result: metric, score, interval bounds."""
    table = Table(title=escape(title))
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column(f"{100 * (1 - result.alpha):.0f}% interval (by manual)", justify="right")
    for metric in result.scores:
        low, high = result.intervals[metric]
        table.add_row(metric_label(metric), f"{result.scores[metric]:.2f}", f"[{low:.2f}, {high:.2f}]")
    for metric in absent_metrics(result):
        table.add_row(metric_label(metric), ABSENT, ABSENT)
    return table


#: How a metric that does not exist on a run's rows is shown (never as 0).
ABSENT = "–"


def absent_metrics(result: ScoreResult) -> list[str]:
    """The task's declared metrics the result does not hold: absent on these rows (AUROC without probabilities)."""
    return [name for name in get_task(result.task).metrics if name not in result.scores]


def leftover_lines(result: ScoreResult) -> list[str]:
    """Warnings about predictions that were missing or could not be placed (empty when none)."""
    lines = []
    for what, ids, meaning in (
        ("missing", result.missing, "data rows without a prediction, scored as empty (wrong) answers"),
        ("unknown", result.unknown, f"predictions whose id is not in the {result.split} split, not scored"),
    ):
        if ids:
            shown = ", ".join(ids[:SHOWN_IDS]) + (", …" if len(ids) > SHOWN_IDS else "")
            lines.append(f"{len(ids)} {what}: {meaning} ({shown})")
    return lines
