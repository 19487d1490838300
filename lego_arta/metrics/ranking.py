"""Threshold-free verdict metrics from a model's probability: AUROC and average precision (scikit-learn).

A thresholded Yes/No hides how well a model *ranks* correct steps above wrong ones; the peers of
this benchmark (EgoPER, CaptainCook4D) report AUROC and PR-AUC beside F1. Each target is a row's
``(label, p)``: the true verdict (state: True = Yes, the step is right; order: True = attached)
and the model's probability of that positive verdict, ``None`` where the model gave none. The
answers themselves are not read.

Absent, never 0: with no probability on any row (a model that exposes none, a predictions file
without ``p_yes``) the metrics do not apply (:func:`has_probabilities`) and every output leaves
them out or shows "–". Where some rows have one and others not (rows left unanswered), the others
count as 0.5, no information. A resample holding a single class has no AUROC; bootstrap intervals
leave such draws out.

>>> targets = [(True, 0.9), (False, 0.2), (True, 0.6), (False, 0.7)]
>>> auroc([""] * 4, targets), average_precision([""] * 4, targets)
(75.0, 83.33333333333333)
>>> has_probabilities([(True, None), (False, None)])
False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lego_arta.metrics.bootstrap import SampleStats
from lego_arta.metrics.text import check_same_length

#: The probability a row without one counts as, when other rows have one: no information.
UNINFORMATIVE = 0.5


def _probability(i: int, value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"probabilities[{i}] = {value!r}: expected a number in [0, 1] or None")
    return float(value)


def _label(i: int, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return float(bool(value))
    raise ValueError(f"labels[{i}] = {value!r}: expected a bool")


def has_probabilities(targets: Sequence[Any]) -> bool:
    """Whether any ``(label, p)`` target carries a probability: the condition for these metrics to exist."""
    return any(isinstance(t, tuple) and len(t) == 2 and t[1] is not None for t in targets)


def _rows(answers: Sequence[str], targets: Sequence[Any]) -> np.ndarray:
    check_same_length(answers, targets, "(label, probability) targets")
    rows = np.array([(_label(i, t[0]), _probability(i, t[1])) for i, t in enumerate(targets)], dtype=np.float64).reshape(len(targets), 2)
    rows[np.isnan(rows[:, 1]), 1] = UNINFORMATIVE
    return rows


def _weighted(function: Any) -> Any:
    def score(rows: np.ndarray, weights: np.ndarray) -> float:
        kept = weights > 0
        labels = rows[kept, 0]
        if labels.min(initial=1.0) == labels.max(initial=0.0) or not kept.any():
            return math.nan
        return 100.0 * float(function(labels, rows[kept, 1], sample_weight=weights[kept]))

    return score


def auroc_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    """Bootstrap statistics of the AUROC (weighted rows: a resample is scored with sample weights)."""
    from sklearn.metrics import roc_auc_score  # seconds to import: only a run with probabilities scores these

    return SampleStats(_rows(answers, targets), lambda _sums: math.nan, weighted_rows=_weighted(roc_auc_score))


def average_precision_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    """Bootstrap statistics of the average precision (positive class: the task's positive verdict)."""
    from sklearn.metrics import average_precision_score

    return SampleStats(_rows(answers, targets), lambda _sums: math.nan, weighted_rows=_weighted(average_precision_score))


def auroc(answers: Sequence[str], targets: Sequence[Any]) -> float:
    """Area under the ROC curve in percent (50: no better than chance); NaN with a single class."""
    return auroc_stats(answers, targets).score()


def average_precision(answers: Sequence[str], targets: Sequence[Any]) -> float:
    """Average precision (PR-AUC) in percent; the positive rate for a constant; NaN with a single class."""
    return average_precision_stats(answers, targets).score()


def probability_per_sample(answers: Sequence[str], targets: Sequence[Any]) -> list[float | None]:
    """Each row's probability as given (``None`` where the model gave none), logged per sample."""
    check_same_length(answers, targets, "(label, probability) targets")
    return [None if t[1] is None else _probability(i, t[1]) for i, t in enumerate(targets)]
