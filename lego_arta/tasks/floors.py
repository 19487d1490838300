"""Weight-free answer rules a task declares as its floors (``lego-arta baselines`` runs them).

A floor sees only what a model sees: the test rows' queries (and images, when it asks for them),
and the train split's queries and answers where a model would be fine-tuned on them. A task lists
its floors in :attr:`~lego_arta.tasks.spec.TaskSpec.baselines`; the rules every task can use are
here, so a task module stays one declaration.

>>> rows = FloorRows(ids=("b", "a"), queries=("q", "q"))
>>> constant("Yes.")(rows, FloorRows((), ()), 0)
(['Yes.', 'Yes.'], {})
>>> seeded_choice(("No.", "Yes."), 0.5)(rows, FloorRows((), ()), 0)[0] == seeded_choice(("No.", "Yes."), 0.5)(
...     FloorRows(("a", "b"), ("q", "q")), FloorRows((), ()), 0)[0][::-1]
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: A box in the 0–100 frame (x1, y1, x2, y2).
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FloorRows:
    """What a floor may read of one split: ids, queries, answers (train only), reference columns
    the floor declares it reads, images on demand, and the evaluation layer's colour detector.

    ``turns`` says which turn of an episode each row is, for a task asked turn by turn (its
    :attr:`~lego_arta.tasks.spec.TaskSpec.turn_column`; empty otherwise): a floor that copies train
    answers copies them from train rows of the same turn. ``images`` starts a fresh pass over the
    split's images (decoded as they are consumed, so a study-scale split never sits in memory decoded). ``colour_box(image, phrase)`` is the box of
    the largest blob of the colours ``phrase`` names (OpenCV, from the layer above), ``None`` when
    nothing matches.
    """

    ids: tuple[str, ...]
    queries: tuple[str, ...]
    answers: tuple[str, ...] = ()
    columns: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    images: Callable[[], Iterator[np.ndarray]] | None = None
    colour_box: Callable[[np.ndarray, str], Box | None] | None = None
    turns: tuple[str, ...] = ()

    def iter_images(self) -> Iterator[np.ndarray]:
        """The rows' images as RGB arrays, in row order, decoded as they are consumed."""
        if self.images is None:
            raise ValueError("these rows were loaded without images")
        return self.images()


#: (test rows, train rows, seed) → one answer per test row, and counters for the report.
Answerer = Callable[[FloorRows, FloorRows, int], tuple[list[str], dict[str, int]]]


@dataclass(frozen=True)
class Floor:
    """A named weight-free answer rule of a task.

    ``needs_images`` and ``needs_train`` say what to load for it; ``reads`` names reference columns
    it is allowed to see (an oracle floor, such as "the verdict right, nothing else", reads the
    label; a floor that reads nothing sees only what a model sees).
    """

    name: str
    description: str
    answer: Answerer
    needs_images: bool = False
    needs_train: bool = False
    reads: tuple[str, ...] = ()


def constant(answer: str) -> Answerer:
    """The same answer for every row."""
    return lambda rows, train, seed: ([answer] * len(rows.ids), {})


def seeded_choice(answers: tuple[str, str], p_second: float) -> Answerer:
    """A seeded coin per row between two answers (``answers[1]`` with probability ``p_second``); the
    draw depends on the row ids, not on the order rows are stored in."""

    def answer(rows: FloorRows, train: FloorRows, seed: int) -> tuple[list[str], dict[str, int]]:
        order = sorted(range(len(rows.ids)), key=lambda i: rows.ids[i])
        draws = np.random.default_rng(seed).random(len(rows.ids))
        chosen = [answers[0]] * len(rows.ids)
        for rank, index in enumerate(order):
            chosen[index] = answers[int(draws[rank] < p_second)]
        return chosen, {}

    return answer


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


def turn_groups(train: Sequence[Any] | None, test: Sequence[Any] | None, n_train: int, n_test: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, test rows) per turn: one group of all rows for a task without turns; else one
    per turn the test rows have, each answered only from train rows of that turn (a test turn no
    train row has is an error: there is nothing of its kind to copy). The blind learners
    (:mod:`lego_arta.evaluation.blind`) and :func:`nearest_train_answer` group rows by it.

    >>> [(a.tolist(), b.tolist()) for a, b in turn_groups(["v", "f", "v"], ["f", "v"], 3, 2)]
    [([1], [0]), ([0, 2], [1])]
    """
    if train is None or test is None:
        return [(np.arange(n_train), np.arange(n_test))]
    groups = []
    for turn in sorted({str(t) for t in test}):
        train_rows = np.flatnonzero(np.asarray([str(t) == turn for t in train], dtype=bool))
        if not train_rows.size:
            raise ValueError(f"no train row of turn {turn!r}: nothing of that turn to fit on or copy from")
        groups.append((train_rows, np.flatnonzero(np.asarray([str(t) == turn for t in test], dtype=bool))))
    return groups


def nearest_train_answer(rows: FloorRows, train: FloorRows, seed: int) -> tuple[list[str], dict[str, int]]:
    """The answer of the most similar train query, train rows taken in id order (stable across
    storage order); for a task asked turn by turn, the most similar train query *of the same turn*
    (a verdict turn never gets a box or a fix).

    >>> test = FloorRows(("t1", "t2"), ("is it right", "is it right"), turns=("verdict", "fix"))
    >>> train = FloorRows(("a", "b"), ("is it right", "how to fix"), ("No.", "Move it."), turns=("verdict", "fix"))
    >>> nearest_train_answer(test, train, 0)
    (['No.', 'Move it.'], {'train_rows': 2})
    """
    order = sorted(range(len(train.ids)), key=lambda i: train.ids[i])
    if not rows.turns:
        answers = nearest_train_answers([train.queries[i] for i in order], [train.answers[i] for i in order], rows.queries)
        return answers, {"train_rows": len(order)}
    if len(rows.turns) != len(rows.ids) or len(train.turns) != len(train.ids):
        raise ValueError("a task asked turn by turn needs the turn of every test and train row")
    found = [""] * len(rows.ids)
    for fitted, asked in turn_groups([train.turns[i] for i in order], rows.turns, len(order), len(rows.ids)):
        chosen = [order[i] for i in fitted]
        copied = nearest_train_answers(
            [train.queries[i] for i in chosen], [train.answers[i] for i in chosen], [rows.queries[i] for i in asked]
        )
        for i, answer in zip(asked.tolist(), copied, strict=True):
            found[i] = answer
    return found, {"train_rows": len(order)}
