"""Blind baselines: learners that see one channel only, trained on train and scored on test.

A benchmark item should need the image *and* the instruction. A learner that sees only one of
them, or only the bookkeeping around them, measures what that channel gives away:

=========  ==============================================================================
channel    features (fitted on the train split, scikit-learn)
=========  ==============================================================================
``image``  image statistics only (OpenCV): an HSV colour histogram, per-channel mean and
           spread, edge density and gradient statistics, blur (variance of the Laplacian),
           and edge density and blur on a coarse grid
``text``   the query text only: TF-IDF of word 1–2-grams
``meta``   ids and metadata only: the row id's hash digits, the session number, the step
           number (``manual_id`` is never shared: splits are grouped by manual)
=========  ==============================================================================

Per task, one learner per channel: ``state`` a classifier of the label (gradient-boosted trees,
or logistic regression on TF-IDF), answering "Yes."/"No."; ``scene`` the answer of the nearest
train row; ``object`` the mean box of the nearest train rows (with the query's own object phrase
for ``text``, which sees it; the nearest train row's phrase otherwise); a task asked turn by turn
(``guide``, whose spec declares a ``turn_column``) the answer of the nearest train row *of the same
turn*, so a verdict turn gets a train verdict, never a box or a fix. On a build whose
negatives carry no shortcut, each stays near chance on state (balanced accuracy 0.5) and near the
weight-free floors on scene and object; ``docs/negatives.md`` has the measured numbers.

>>> features = image_statistics(np.full((40, 60, 3), 128, np.uint8))
>>> features.shape, float(features[-1])
((235,), 0.0)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lego_arta.evaluation.built_splits import iter_images, read_columns
from lego_arta.evaluation.scoring import DEFAULT_SPLIT, join_answers, load_references, task_scores
from lego_arta.tasks import get_task
from lego_arta.tasks.floors import turn_groups
from lego_arta.tasks.object import object_answer, object_phrase

CHANNELS: tuple[str, ...] = ("image", "text", "meta")
#: Images are measured at this width (aspect kept): statistics, not details, are the point.
MEASURE_WIDTH = 256
#: HSV histogram bins (hue, saturation, value) and the grid of the local statistics.
HSV_BINS = (12, 4, 4)
GRID = 4
IMAGE_FEATURES = int(np.prod(HSV_BINS)) + 6 + 5 + 2 * GRID * GRID
#: Canny thresholds of the edge statistics.
CANNY_LOW, CANNY_HIGH = 50, 150
#: Nearest train rows an object box is averaged over.
BOX_NEIGHBOURS = 5
TRAIN_SPLIT = "train"


def image_statistics(image: np.ndarray) -> np.ndarray:
    """The ``image`` channel's feature vector of one RGB image (see the module docstring)."""
    height, width = image.shape[:2]
    size = (MEASURE_WIDTH, max(1, round(height * MEASURE_WIDTH / width)))
    small = cv2.resize(np.ascontiguousarray(image[:, :, :3]), size, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], None, list(HSV_BINS), [0, 180, 0, 256, 0, 256]).ravel()
    histogram /= max(float(histogram.sum()), 1.0)
    pixels = small.reshape(-1, 3).astype(np.float64)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, CANNY_LOW, CANNY_HIGH) > 0
    gx, gy = cv2.Sobel(grey, cv2.CV_64F, 1, 0), cv2.Sobel(grey, cv2.CV_64F, 0, 1)
    magnitude = np.hypot(gx, gy)
    laplacian = cv2.Laplacian(grey, cv2.CV_64F)
    cells_edges, cells_blur = [], []
    rows, cols = np.array_split(np.arange(grey.shape[0]), GRID), np.array_split(np.arange(grey.shape[1]), GRID)
    for r in rows:
        for c in cols:
            cells_edges.append(float(edges[np.ix_(r, c)].mean()) if r.size and c.size else 0.0)
            cells_blur.append(float(laplacian[np.ix_(r, c)].var()) if r.size and c.size else 0.0)
    global_stats = [
        float(edges.mean()),
        float(magnitude.mean()),
        float(magnitude.std()),
        float(np.percentile(magnitude, 90)),
        float(laplacian.var()),
    ]
    return np.concatenate([histogram, pixels.mean(axis=0), pixels.std(axis=0), global_stats, cells_edges, cells_blur]).astype(np.float64)


def metadata_features(ids: Sequence[str], sessions: Sequence[str], steps: Sequence[int]) -> np.ndarray:
    """The ``meta`` channel: the id's first 8 hex digits as numbers, the session's number, the step.

    >>> metadata_features(["ab12"], ["sm03-Bag"], [7]).tolist()
    [[10.0, 11.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 7.0]]
    """
    rows = []
    for row_id, session, step in zip(ids, sessions, steps, strict=True):
        digits = [float(int(ch, 16)) if ch in "0123456789abcdef" else 0.0 for ch in row_id[:8].lower().ljust(8, "-")]
        number = re.search(r"\d+", session)
        rows.append([*digits, float(number.group()) if number else 0.0, float(step)])
    return np.asarray(rows, dtype=np.float64)


@dataclass(frozen=True)
class Split:
    """What a blind learner may read of one split (the answer columns only for train)."""

    ids: list[str]
    queries: list[str]
    sessions: list[str]
    steps: list[int]
    answers: list[str]
    columns: dict[str, list[Any]]
    data: Path | str
    task: str
    name: str

    def features(self, channel: str, text_vectorizer: Any = None) -> Any:
        if channel == "image":
            return np.stack([image_statistics(image) for image in iter_images(self.data, self.task, self.name)])
        if channel == "meta":
            return metadata_features(self.ids, self.sessions, self.steps)
        if channel == "text":
            return text_vectorizer.transform(self.queries)
        raise ValueError(f"unknown channel {channel!r}; expected one of {list(CHANNELS)}")


#: Extra answer columns a learner fits on, per task (never read for the scored split).
_TRAIN_COLUMNS = {"object": ["box", "object"]}


def load_split(data: Path | str, task: str, split: str, *, train: bool) -> Split:
    turn = get_task(task).turn_column
    names = ["id", "query", "session", "step_num", *([turn] if turn else [])]
    names += ["answer", *_TRAIN_COLUMNS.get(task, [])] if train else []
    columns = read_columns(data, task, split, names)
    return Split(
        [str(v) for v in columns["id"]],
        [str(v) for v in columns["query"]],
        [str(v) for v in columns["session"]],
        [int(v) for v in columns["step_num"]],
        [str(v) for v in columns.get("answer", [])],
        columns,
        data,
        task,
        split,
    )


def _fit_transform(channel: str, train: Split, test: Split) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import StandardScaler

    if channel == "text":
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(train.queries)
        return train.features(channel, vectorizer), test.features(channel, vectorizer)
    scaler = StandardScaler().fit(x_train := train.features(channel))
    return scaler.transform(x_train), scaler.transform(test.features(channel))


def _group_answers(task: str, channel: str, train: Split, test: Split, x_train: Any, x_test: Any, seed: int) -> list[str]:
    """Answers of the test rows ``x_test`` from a learner fitted on the train rows ``x_train`` (row subsets of the splits)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import NearestNeighbors

    verdicts = get_task(task).verdicts
    if verdicts is not None:
        labels = np.asarray([answer == verdicts[1] for answer in train.answers], dtype=bool)
        if channel == "text":
            model = LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed)
        else:
            model = HistGradientBoostingClassifier(random_state=seed, class_weight="balanced")
        return [verdicts[int(p)] for p in model.fit(x_train, labels).predict(x_test)]
    neighbours = BOX_NEIGHBOURS if task == "object" else 1
    index = NearestNeighbors(n_neighbors=min(neighbours, len(train.ids))).fit(x_train)
    _, nearest = index.kneighbors(x_test)
    if task == "object":
        boxes = np.asarray(train.columns["box"], dtype=np.float64)
        answers = []
        for query, near in zip(test.queries, nearest):
            phrase = object_phrase(query) if channel == "text" else str(train.columns["object"][near[0]])
            answers.append(object_answer(phrase, tuple(boxes[near].mean(axis=0))))
        return answers
    return [train.answers[near[0]] for near in nearest]


def _rows(split: Split, rows: np.ndarray) -> Split:
    """The split restricted to ``rows`` (the columns a learner reads)."""
    pick = rows.tolist()
    return replace(
        split,
        ids=[split.ids[i] for i in pick],
        queries=[split.queries[i] for i in pick],
        sessions=[split.sessions[i] for i in pick],
        steps=[split.steps[i] for i in pick],
        answers=[split.answers[i] for i in pick] if split.answers else [],
        columns={name: [values[i] for i in pick] for name, values in split.columns.items()},
    )


def blind_answers(data: Path | str, task: str, channel: str, *, split: str = DEFAULT_SPLIT, seed: int = 0) -> tuple[list[str], list[str]]:
    """(test ids, answers) of the ``channel`` learner of ``task``, fitted on the train split; per
    turn for a task asked turn by turn (:attr:`~lego_arta.tasks.spec.TaskSpec.turn_column`)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {list(CHANNELS)}")
    train, test = load_split(data, task, TRAIN_SPLIT, train=True), load_split(data, task, split, train=False)
    x_train, x_test = _fit_transform(channel, train, test)
    turn = get_task(task).turn_column
    answers = [""] * len(test.ids)
    groups = turn_groups(train.columns.get(turn) if turn else None, test.columns.get(turn) if turn else None, len(train.ids), len(test.ids))
    for train_rows, test_rows in groups:
        found = _group_answers(
            task, channel, _rows(train, train_rows), _rows(test, test_rows), x_train[train_rows], x_test[test_rows], seed
        )
        for i, answer in zip(test_rows.tolist(), found, strict=True):
            answers[i] = answer
    return test.ids, answers


def score_blind(data: Path | str, task: str, channel: str, *, split: str = DEFAULT_SPLIT, seed: int = 0) -> dict[str, float]:
    """The task's metrics (percent) of the ``channel`` learner's answers, scored as any model's are."""
    ids, answers = blind_answers(data, task, channel, split=split, seed=seed)
    references = load_references(task, data, split=split)
    joined = join_answers(references, dict(zip(ids, answers)))
    return task_scores(task, joined.answers, references)
