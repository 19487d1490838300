"""State-task verdicts scored as a binary classifier: F1, TNR, FPR, balanced accuracy, MCC, invalid rate.

Positive class = "Yes" (the assembly is correct). An answer :func:`parse_yes_no` cannot read
counts as *wrong*, never as skipped: on a positive it is a false negative, on a negative a false
positive. Dropping them instead would reward a model for refusing hard cases. Undefined rates
(no positives, no negatives) are 0, as with scikit-learn's ``zero_division=0``.

- F1 = 2·TP / (2·TP + FP + FN)
- TNR = TN / (TN + FP), FPR = FP / (FP + TN) = 100 − TNR when negatives exist
- invalid rate = unreadable answers / all answers
- balanced accuracy = mean of TPR and TNR over the classes present (scikit-learn's
  ``balanced_accuracy_score``); MCC = (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)), 0 when a
  factor is 0 (scikit-learn's ``matthews_corrcoef``), times 100.

Why the last two: on a 1:3 split, always-"Yes." scores F1 = 2P/(2P+N) = 40, as much as the
study's best model; its balanced accuracy is 50 and its MCC 0, so they separate a model from a
constant. Both are computed here from confusion counts (what a bootstrap resample sums), not by
calling scikit-learn on label vectors; the tests check them against scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from lego_arta.answers import parse_yes_no
from lego_arta.metrics.bootstrap import SampleStats, ratio
from lego_arta.metrics.text import check_same_length

Outcome = Literal["tp", "fp", "fn", "tn", "fp_invalid", "fn_invalid"]
#: Column order of :func:`state_stats` rows.
_COLUMNS = ("tp", "fp", "fn", "tn", "invalid")
STATE_METRICS = ("f1", "tnr", "fpr", "invalid_rate", "balanced_acc", "mcc")


def _label(i: int, label: bool | str) -> bool:
    """A reference verdict: a bool (or 0/1), or a reference answer such as ``"Yes."``."""
    if isinstance(label, str):
        verdict = parse_yes_no(label)
        if verdict is None:
            raise ValueError(f"labels[{i}] = {label!r} is neither yes nor no")
        return verdict
    if isinstance(label, (bool, np.bool_)) or label in (0, 1):
        return bool(label)
    raise ValueError(f"labels[{i}] = {label!r}: expected a bool or a 'Yes.'/'No.' answer")


def state_outcomes(answers: Sequence[str], labels: Sequence[bool | str]) -> list[Outcome]:
    """Confusion-matrix cell of each answer; unreadable answers are ``fp_invalid``/``fn_invalid``.

    >>> state_outcomes(["Yes.", "No", "maybe"], [True, True, False])
    ['tp', 'fn', 'fp_invalid']
    """
    check_same_length(answers, labels, "labels")
    outcomes: list[Outcome] = []
    for i, (answer, label) in enumerate(zip(answers, labels)):
        positive = _label(i, label)
        said = parse_yes_no(answer) if isinstance(answer, str) else None
        if said is None:
            outcomes.append("fn_invalid" if positive else "fp_invalid")
        elif said:
            outcomes.append("tp" if positive else "fp")
        else:
            outcomes.append("fn" if positive else "tn")
    return outcomes


def _rows(outcomes: Sequence[Outcome]) -> np.ndarray:
    cell = {"tp": 0, "fp": 1, "fn": 2, "tn": 3, "fp_invalid": 1, "fn_invalid": 2}
    rows = np.zeros((len(outcomes), len(_COLUMNS)), dtype=np.float64)
    rows[np.arange(len(outcomes)), [cell[o] for o in outcomes]] = 1.0
    rows[:, 4] = [o.endswith("_invalid") for o in outcomes]
    return rows


def _f1(s: np.ndarray) -> float:
    return ratio(2 * s[0], 2 * s[0] + s[1] + s[2])


def _tnr(s: np.ndarray) -> float:
    return ratio(s[3], s[3] + s[1])


def _fpr(s: np.ndarray) -> float:
    return ratio(s[1], s[1] + s[3])


def _invalid_rate(s: np.ndarray) -> float:
    return ratio(s[4], s[0] + s[1] + s[2] + s[3])


def _balanced_acc(s: np.ndarray) -> float:
    recalls = [ratio(hit, hit + miss) for hit, miss in ((s[0], s[2]), (s[3], s[1])) if hit + miss]
    return float(np.mean(recalls)) if recalls else 0.0


def _mcc(s: np.ndarray) -> float:
    tp, fp, fn, tn = (float(v) for v in s[:4])
    denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return 100.0 * (tp * tn - fp * fn) / float(np.sqrt(denominator)) if denominator else 0.0


_AGGREGATES = {"f1": _f1, "tnr": _tnr, "fpr": _fpr, "invalid_rate": _invalid_rate, "balanced_acc": _balanced_acc, "mcc": _mcc}


def state_stats(answers: Sequence[str], labels: Sequence[bool | str]) -> dict[str, SampleStats]:
    """Bootstrap statistics of each state metric (one shared table of confusion counts)."""
    rows = _rows(state_outcomes(answers, labels))
    return {name: SampleStats(rows, _AGGREGATES[name]) for name in STATE_METRICS}


def state_scores(answers: Sequence[str], labels: Sequence[bool | str]) -> dict[str, float]:
    """F1, TNR, FPR, invalid rate, balanced accuracy and MCC in percent (positive = Yes; unreadable answers are wrong).

    >>> state_scores(["Yes.", "No.", "Yes", "perhaps"], [True, False, False, True])
    {'f1': 50.0, 'tnr': 50.0, 'fpr': 50.0, 'invalid_rate': 25.0, 'balanced_acc': 50.0, 'mcc': 0.0}
    """
    return {name: stats.score() for name, stats in state_stats(answers, labels).items()}


def _said_no(answers: Sequence[str]) -> np.ndarray:
    return np.array([isinstance(a, str) and parse_yes_no(a) is False for a in answers], dtype=bool)


def tnr_of_kind_stats(kind: str, answers: Sequence[str], kinds: Sequence[str]) -> SampleStats:
    """Bootstrap statistics of the TNR over the rows whose ``negative_kind`` is ``kind``.

    Rows of other kinds (positives have kind ``none``) weigh nothing; an unreadable answer on a
    row of ``kind`` counts as a false positive, as in :func:`state_scores`.
    """
    check_same_length(answers, kinds, "negative kinds")
    bad = next((i for i, k in enumerate(kinds) if not isinstance(k, str)), None)
    if bad is not None:
        raise ValueError(f"negative kinds[{bad}] = {kinds[bad]!r}: expected a string")
    mine = np.array([k == kind for k in kinds], dtype=np.float64)
    rows = np.column_stack([mine * _said_no(answers), mine])
    return SampleStats(rows, lambda sums: ratio(sums[0], sums[1]))


def tnr_of_kind(kind: str, answers: Sequence[str], kinds: Sequence[str]) -> float:
    """TNR in percent over the negatives of one ``negative_kind``; 0 when there are none.

    >>> tnr_of_kind("displaced", ["No.", "Yes.", "No."], ["displaced", "displaced", "none"])
    50.0
    """
    return tnr_of_kind_stats(kind, answers, kinds).score()


def tnr_of_kind_per_sample(kind: str, answers: Sequence[str], kinds: Sequence[str]) -> list[bool | None]:
    """Per row of ``kind``: whether it was rejected ("No."); ``None`` on rows of other kinds."""
    check_same_length(answers, kinds, "negative kinds")
    return [bool(no) if k == kind else None for no, k in zip(_said_no(answers), kinds)]
