"""What a LEGO-ARTA task is: one :class:`TaskSpec` says everything the layers above need.

A task's name, task token, prompts, dataset features, pair maker, metrics (each metric reads the
answers with its own parser, registered in :mod:`lego_arta.metrics.registry`) and weight-free
floors are declared once, in the task's own module (``lego_arta/tasks/<name>.py``). The dataset
build, the card and the export, the lmms-eval hooks and the generated task YAMLs, scoring,
``baselines`` (each task's :attr:`TaskSpec.baselines`), reports, fine-tuning data, the synonym
augmentation and the tiny test model read those declarations and name no task. Two consumers
still hold task-specific code, because what they show people is drawn per task: the rating
questionnaire (``lego_arta/qa``, object and state items) and the frozen-backbone probes
(``lego_arta/probe``, state and order frames). A fourth task is one new module everywhere else
(see ``docs/architecture.md`` and ``tests/tasks/test_extra_task.py``).

The pair maker receives a :class:`PairContext`: the dataset layer's services (decoded images,
grounding, collages, boundary colours, negatives, row assembly and skip counting). The task
layer sits below annotate and dataset in the data path, so it calls them through this context
and never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import datasets
import numpy as np
from datasets import Value

from lego_arta.metrics.bootstrap import DEFAULT_ALPHA, SampleStats, add_intervals
from lego_arta.metrics.registry import family_metric, get_metric, is_family_metric
from lego_arta.tasks.floors import Floor
from lego_arta.tasks.prompts import Prompts, Query

if TYPE_CHECKING:
    from lego_arta.parse.manual import Manual, Row

# ``List`` arrived in datasets 4; 3.x (the last line that runs loading scripts) spells it ``Sequence``.
List = getattr(datasets, "List", None) or datasets.Sequence

#: A task whose features hold this column asks its rows as turns of one conversation: the column
#: lists the earlier turns (``query``, ``answer``), which the harness sends before the row's query.
HISTORY_COLUMN = "history"

#: Columns of every task's rows; a task adds its own in :attr:`TaskSpec.features`.
COMMON_FEATURES: dict[str, Any] = {
    "id": Value("string"),
    "image": datasets.Image(),
    "query": Value("string"),
    "answer": Value("string"),
    "task_token": Value("string"),
    "instruction": Value("string"),
    "question": Value("string"),
    "manual_id": Value("string"),
    "session": Value("string"),
    "step_num": Value("int32"),
}


class ImageError(ValueError):
    """An image file that cannot be decoded; the message names the file."""


class PairContext(Protocol):
    """The dataset layer's services to a pair maker, for one manual and one task."""

    manual: Manual
    recipe: Any
    rng: np.random.Generator

    def image(self, row: Row) -> np.ndarray:
        """The row's image as RGB uint8, decoded once; raises :class:`ImageError`."""

    def png(self, image: np.ndarray, like: Row | None = None) -> bytes:
        """PNG bytes of an RGB image, as every embedded image is encoded: a decoded file's pixels
        once per manual and stored as the file stores them (RGBA for an opaque RGBA file; the
        file's own bytes when its encoding record vouches for them); any other image stored as
        ``like``'s file is, or as RGB.

        Images a model compares must be stored alike: a state's negatives are
        ``png(negative, like=step)`` beside its positive ``png(image(step))``, or the PNG's mode
        would tell Yes from No."""

    def file_png(self, row: Row) -> bytes:
        """The row's image file as embedded bytes: the file itself when it is a plain PNG (no
        decode/encode), else its decoded pixels encoded; raises :class:`ImageError`.

        Only for images whose pixels alone carry no answer: a state positive must be encoded like
        its negatives (:meth:`png`), or the PNG's encoder settings would tell Yes from No."""

    def skip(self, reason: str, count: int = 1) -> None:
        """Count a skipped pair (or rejected candidate) under a readable reason."""

    def annotate(self, kind: str, key: str, value: Any) -> None:
        """Record an annotation (grounded boxes, boundary colours) in the build manifest."""

    def assembly_rows(self) -> list[tuple[Row, Row | None]]:
        """Assembly rows with their paired object-finding row (same session and step), in page order."""

    def row(self, step: Row, query: Query, answer: str, variant: str, image: bytes, **columns: Any) -> dict[str, Any]:
        """A finished dataset row: opaque id, the common columns, the image and the task's columns."""

    def ground(self, row: Row, image: np.ndarray, line: Any) -> list[Any] | None:
        """Pixel boxes of every part ``line`` names in a parts image; ``None`` (a counted skip) if one is not found."""

    def collage(self, tiles: Sequence[np.ndarray], quadrant: int, box: Any) -> tuple[np.ndarray, Any]:
        """The 2x2 collage of ``tiles`` and ``box`` (pixels of tile ``quadrant``) in the 0–100 frame."""

    def boundary_colour(self, session: str) -> tuple[Any, bool]:
        """The session's highlight colour (``None`` without one) and whether its images decoded."""

    def negatives(self, step: Row, before: Row, colour: Any) -> Any:
        """State negatives of an assembly step, of the recipe's ``negatives`` kinds (``.negatives``
        with ``.image``/``.kind``/``.displacement``, ``.rejected``); ``before`` is the previous step."""

    def for_task(self, name: str) -> PairContext:
        """The context task ``name``'s pair maker gets for this manual (a variant reuses its base's rows)."""

    def error_truth(self, step: Row, negative: Any) -> ErrorTruth | str:
        """What one of :meth:`negatives` got wrong, from the 3D truth where the manual has one
        (a synthetic manual's ``truth.json``); else, for a pasted negative, only where the pasted
        item lies; or why it cannot be told (a counted skip for the caller)."""


@dataclass(frozen=True)
class Part:
    """One part of a synthetic manual's 3D truth in plain values, for tasks that reason about placements.

    The generator's world frame: ``x`` runs left → right and ``y`` front → back in studs, ``z`` up in
    plate heights; ``(x, y, z)`` is the minimum corner and ``along_x`` says the long side runs left-right.
    ``name`` is the shape as the manuals write it ("flat tile 1x2"), ``height`` in plates (a brick is 3).

    >>> p = Part("tile", 1, 2, "sand green", 0, 0, 1, True, "flat tile 1x2", 1)
    >>> p.size_x, p.size_y
    (2, 1)
    """

    kind: str
    short: int
    long: int
    colour: str
    x: int
    y: int
    z: int
    along_x: bool
    name: str
    height: int

    @property
    def size_x(self) -> int:
        return self.long if self.along_x else self.short

    @property
    def size_y(self) -> int:
        return self.short if self.along_x else self.long


@dataclass(frozen=True)
class ErrorTruth:
    """What a state negative got wrong: its ``kind``, the wrong part as shown (``None`` when a part
    is left out, or for a pasted item, which has no 3D truth), the true part(s) it concerns (the
    step's last new part; every part the step places for ``undo``; none for a pasted item) and
    ``box``, the 0–100 frame box of the wrong part in the negative's image (where the true parts
    belong when nothing wrong is shown)."""

    kind: str
    wrong: Part | None
    true: tuple[Part, ...]
    box: tuple[float, float, float, float]


PairMaker = Callable[[PairContext], list[dict[str, Any]]]
#: What a person can answer in the answer-mode questionnaire: Yes/No, a box, typed text.
HUMAN_ANSWER_KINDS: tuple[str, ...] = ("verdict", "box", "text")
#: ``respond(images, history, query) -> answer``: one chat turn of a model; ``history`` as (query, answer) pairs.
Respond = Callable[[Sequence[Any], Sequence[tuple[str, str]], str], str]


@dataclass(frozen=True)
class OwnHistory:
    """How a task asked turn by turn runs with the model's own earlier answers as the conversation
    (``lego-arta converse``), where lmms-eval sends the gold ones.

    ``columns`` are what ``answers`` reads of the split (``id`` and ``query`` among them; reference
    columns too, where the loop stops at a wrong answer as an assistant in use would);
    ``episode`` is the column grouping rows into one conversation (``--limit`` counts those);
    ``answers(columns, images, respond)`` gives one answer per row, ``images(i)`` being row ``i``'s
    images. ``mode`` is what the predictions and results record.
    """

    columns: tuple[str, ...]
    episode: str
    answers: Callable[[Mapping[str, Sequence[Any]], Callable[[int], Sequence[Any]], Respond], list[str]]
    mode: str = "own_history"


#: Where a metric's targets come from: one reference column, or several zipped into tuples.
Columns = str | tuple[str, ...]


@dataclass(frozen=True)
class Breakdown:
    """A metric family reported once per value of a column (state: TNR per ``negative_kind``).

    Scoring reports one metric per value the rows carry (except ``skip``), so a new kind of
    negative needs no code here. The lmms-eval task YAMLs are written before any data exist, so
    they list the ``declared`` values (the ones the build makes).

    >>> b = Breakdown("tnr", "negative_kind", declared=("displaced",), skip=("none",))
    >>> b.names({"negative_kind": ["none", "shifted", "displaced", "shifted"]})
    ('tnr_displaced', 'tnr_shifted')
    """

    family: str
    column: str
    declared: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    def names(self, columns: Mapping[str, Sequence[Any]]) -> tuple[str, ...]:
        values = sorted({str(v) for v in columns[self.column]} - set(self.skip))
        return tuple(family_metric(self.family, value) for value in values)

    def declared_names(self) -> tuple[str, ...]:
        return tuple(family_metric(self.family, value) for value in self.declared)


#: Columns the scorer supplies from the run, not from the built data, with the value a row takes
#: when the run gives none: ``box_format``, the box convention the run's answers are read in
#: (:data:`lego_arta.answers.BOX_FORMATS`), and ``p_yes``, the model's probability of the task's
#: positive verdict (state: Yes; order: Attached), ``None`` where the model gave none.
RUN_COLUMNS: dict[str, Any] = {"box_format": "auto", "p_yes": None}
#: Data columns that builds before they existed lack: read as ``None`` per row (pixel boxes then fail, clearly).
LATE_COLUMNS: tuple[str, ...] = ("image_size",)


def _column(columns: Mapping[str, Sequence[Any]], name: str, rows: int) -> Sequence[Any]:
    if name in columns:
        return columns[name]
    if name in RUN_COLUMNS or name in LATE_COLUMNS:
        return [RUN_COLUMNS.get(name)] * rows
    raise KeyError(f"no column {name!r} among {sorted(columns)}")


@dataclass(frozen=True)
class TaskSpec:
    """One task, declared once.

    ``metrics`` maps each reported metric (a name in :data:`lego_arta.metrics.registry.METRICS`)
    to the reference column its targets come from (or a tuple of columns, zipped per row), in
    table order; ``breakdown`` adds one metric per value of a column (:class:`Breakdown`).
    ``reference_columns`` are the columns scoring reads besides ``id`` and ``answer``. ``baselines``
    are the task's weight-free floors (:class:`~lego_arta.tasks.floors.Floor`), which ``lego-arta
    baselines`` runs and scores like a model. ``verdicts`` are the (false, true) answers of a
    two-way task (state: ``("No.", "Yes.")``), for what predicts a class rather than writes text
    (the probes). Synonym augmentation reads two flags: ``instruction_answer`` (the answer is an
    instruction in the manuals' words, so its verbs are rewritten too: scene) and
    ``verdict_follows_instruction`` (the true verdict says the query's instruction was followed, so
    an antonym of its verb makes the answer false: state). ``study_unit`` names the study's Table 4.3
    row counting this task's items (``None`` for a task the study did not have). ``max_new_tokens`` bounds generation
    in the lmms-eval task; ``in_context_balance`` names a boolean column whose values in-context
    examples alternate (state: Yes, No, …), so the examples do not hint at one verdict. ``splits``
    are the splits the task has (an evaluation-only variant has ``("test",)``, so nothing of it can
    leak into training); ``in_default_build`` says whether a recipe that names no configs builds it;
    ``group`` is the lmms-eval tag of its main query setting (``lego_arta`` for the study's tasks);
    ``build_notes`` maps a recipe to what the build must record about the task (the manifest and
    the card hold it: the synonym variants' seen/unseen split, say); ``examples_from`` names the task
    whose train split supplies in-context examples when this one has none (a test-only variant);
    ``consistency`` scores, per sample and in percent, how far two answers to the same item agree
    (a model asked in two wordings should answer the same); ``extra_images`` names further image
    columns (:class:`datasets.Image` features) shown after ``image``, in order (the ``order`` task's
    second frame), so the harness, the LLaVA export and the probes see every frame of a row.
    ``turn_column`` names the column saying which turn of an episode a row is, for a task asked
    turn by turn (guide: verdict, where, fix, next; the query shows it, each turn asks its own
    question): whatever copies or learns answers from train rows (the blind learners, a nearest-
    train floor) fits per turn, so a verdict turn is answered only from the train rows' verdict
    turns, never with a box or a fix.
    """

    name: str
    prompts: Prompts
    features: Mapping[str, Any]
    make_pairs: PairMaker
    metrics: Mapping[str, Columns]
    reference_columns: tuple[str, ...]
    description: str
    breakdown: Breakdown | None = None
    baselines: tuple[Floor, ...] = ()
    verdicts: tuple[str, str] | None = None
    instruction_answer: bool = False
    verdict_follows_instruction: bool = False
    study_unit: str | None = None
    max_new_tokens: int = 64
    in_context_balance: str | None = None
    splits: tuple[str, ...] = ("train", "test")
    in_default_build: bool = True
    group: str = "lego_arta"
    build_notes: Callable[[Any], Mapping[str, Any]] | None = None
    examples_from: str | None = None
    consistency: Callable[[Sequence[str], Sequence[str]], list[float]] | None = None
    extra_images: tuple[str, ...] = ()
    turn_column: str | None = None
    own_history: OwnHistory | None = None
    turn_answers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        missing = [name for name in self.extra_images if not isinstance(self.features.get(name), datasets.Image)]
        if missing:
            raise ValueError(f"task {self.name!r}: extra_images {missing} must be datasets.Image() features of the task")
        names = [floor.name for floor in self.baselines]
        if len(set(names)) != len(names):
            raise ValueError(f"task {self.name!r}: baseline names must be distinct, got {names}")
        if self.turn_column is not None and self.turn_column not in self.features:
            raise ValueError(f"task {self.name!r}: turn_column {self.turn_column!r} must be one of the task's features")
        if self.turn_answers is not None and (self.turn_column is None or self.own_history is None):
            raise ValueError(f"task {self.name!r}: turn_answers needs a turn_column and an own_history (its episode column)")
        if self.turn_answers is not None and not set(self.turn_answers.values()) <= set(HUMAN_ANSWER_KINDS):
            raise ValueError(f"task {self.name!r}: turn_answers kinds must be among {HUMAN_ANSWER_KINDS}, got {dict(self.turn_answers)}")
        unread = sorted({column for floor in self.baselines for column in floor.reads} - set(self.reference_columns) - {"answer"})
        if unread:
            raise ValueError(f"task {self.name!r}: baselines read {unread}, which are not reference columns of the task")

    @property
    def image_columns(self) -> tuple[str, ...]:
        """Every image column of a row, in the order a model is shown them."""
        return ("image", *self.extra_images)

    @property
    def task_token(self) -> str:
        return self.prompts.task_token

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(self.metrics)

    def _declared(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, Columns]:
        found = dict(self.metrics)
        if self.breakdown is not None:
            found.update({name: self.breakdown.column for name in self.breakdown.names(columns)})
        return found

    def metrics_for(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, Columns]:
        """The metrics reported on rows with these reference ``columns``: :attr:`metrics`, then
        the breakdown's metric per value the rows carry; a metric that does not exist on these rows
        (its ``applies`` fails: AUROC without probabilities) is left out, **absent**, never 0."""
        return {
            name: source
            for name, source in self._declared(columns).items()
            if _available(source, columns) and get_metric(name).applies_to(self._targets_of(source, columns))
        }

    @property
    def harness_metrics(self) -> dict[str, Columns]:
        """The metrics the lmms-eval task lists: :attr:`metrics` and the breakdown's declared values."""
        found = dict(self.metrics)
        if self.breakdown is not None:
            found.update({name: self.breakdown.column for name in self.breakdown.declared_names()})
        return found

    def is_metric(self, name: str) -> bool:
        """Whether ``name`` is one of this task's metrics (a breakdown metric of any value included)."""
        return name in self.metrics or (self.breakdown is not None and is_family_metric(name, self.breakdown.family))

    def all_features(self) -> datasets.Features:
        """``datasets`` features of this task's rows: the common columns, then the task's own."""
        return datasets.Features({**COMMON_FEATURES, **self.features})

    def targets(self, name: str, columns: Mapping[str, Sequence[Any]]) -> Sequence[Any]:
        """Targets of metric ``name``: the reference column it reads (``columns`` maps column →
        values), or per row a tuple of the columns it reads. A :data:`RUN_COLUMNS` column the caller
        did not supply takes its default on every row (``auto`` boxes, no P(Yes))."""
        return self._targets_of(self.harness_metrics.get(name) or self._declared(columns)[name], columns)

    @staticmethod
    def _targets_of(source: Columns, columns: Mapping[str, Sequence[Any]]) -> Sequence[Any]:
        if isinstance(source, tuple):
            rows = len(next(iter(columns.values()), ()))
            return list(zip(*(_column(columns, column, rows) for column in source), strict=True))
        return columns[source]

    def _chosen(self, columns: Mapping[str, Sequence[Any]], metrics: Sequence[str] | None) -> Sequence[str]:
        return tuple(self.metrics_for(columns)) if metrics is None else metrics

    def scores(
        self, answers: Sequence[str], columns: Mapping[str, Sequence[Any]], metrics: Sequence[str] | None = None
    ) -> dict[str, float]:
        """Every reported metric (or those named) in percent, against the reference ``columns``
        (``answer`` and :attr:`reference_columns`)."""
        return {name: get_metric(name).score(answers, self.targets(name, columns)) for name in self._chosen(columns, metrics)}

    def stats(
        self, answers: Sequence[str], columns: Mapping[str, Sequence[Any]], metrics: Sequence[str] | None = None
    ) -> dict[str, SampleStats]:
        """Per-sample sufficient statistics of every metric (or those named), for bootstrap intervals."""
        return {name: get_metric(name).stats(answers, self.targets(name, columns)) for name in self._chosen(columns, metrics)}

    def per_sample(self, answers: Sequence[str], columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Logged per-sample values, one column per distinct ``sample_key``."""
        logged: dict[str, list[Any]] = {}
        for name in self.metrics_for(columns):
            metric = get_metric(name)
            if metric.sample_key not in logged:
                logged[metric.sample_key] = metric.per_sample(answers, self.targets(name, columns))
        return logged

    def scores_with_intervals(
        self,
        answers: Sequence[str],
        columns: Mapping[str, Sequence[Any]],
        *,
        n_resamples: int = 0,
        seed: int = 0,
        alpha: float = DEFAULT_ALPHA,
        metrics: Sequence[str] | None = None,
        clusters: Sequence[str] | None = None,
    ) -> dict[str, float]:
        """The scores; with ``n_resamples`` > 0 also flat ``<metric>_low`` / ``<metric>_high`` keys
        (resampling ``clusters``, the rows' manuals, when given; else rows)."""
        scores = self.scores(answers, columns, metrics)
        if not n_resamples:
            return scores
        stats = self.stats(answers, columns, metrics)
        return add_intervals(scores, stats, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=clusters)


def _available(source: Columns, columns: Mapping[str, Sequence[Any]]) -> bool:
    """Whether the columns a metric reads are given (a run column may be left to its default)."""
    return all(
        column in columns or column in RUN_COLUMNS or column in LATE_COLUMNS
        for column in ((source,) if isinstance(source, str) else source)
    )


def plain_value(value: Any) -> Any:
    """A column value as plain Python, as metrics, logs and joins want it: sequences become tuples
    of plain items, numpy and arrow scalars their Python value.

    >>> plain_value([1.5, (2, 3)])
    (1.5, (2, 3))
    """
    if isinstance(value, (list, tuple)):
        return tuple(plain_value(v) for v in value)
    return value.item() if hasattr(value, "item") else value


def check_row(spec: TaskSpec, row: Mapping[str, Any], *, where: str) -> None:
    """Refuse a row whose columns are not exactly the task's features: caught where rows are made."""
    expected = set(COMMON_FEATURES) | set(spec.features)
    missing, unexpected = sorted(expected - set(row)), sorted(set(row) - expected)
    if missing or unexpected:
        raise ValueError(f"{where}: a {spec.name} row must have exactly the task's columns; missing {missing}, unexpected {unexpected}")
