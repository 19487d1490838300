"""State-task verdicts scored as a binary classifier: F1, TNR, FPR and the invalid rate.

Positive class = "Yes" (the assembly is correct). An answer :func:`parse_yes_no` cannot read
counts as *wrong*, never as skipped: on a positive it is a false negative, on a negative a false
positive. Dropping them instead would reward a model for refusing hard cases. Undefined rates
(no positives, no negatives) are 0, as with scikit-learn's ``zero_division=0``.

- F1 = 2·TP / (2·TP + FP + FN)
- TNR = TN / (TN + FP), FPR = FP / (FP + TN) = 100 − TNR when negatives exist
- invalid rate = unreadable answers / all answers
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
STATE_METRICS = ("f1", "tnr", "fpr", "invalid_rate")


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


_AGGREGATES = {"f1": _f1, "tnr": _tnr, "fpr": _fpr, "invalid_rate": _invalid_rate}


def state_stats(answers: Sequence[str], labels: Sequence[bool | str]) -> dict[str, SampleStats]:
    """Bootstrap statistics of each state metric (one shared table of confusion counts)."""
    rows = _rows(state_outcomes(answers, labels))
    return {name: SampleStats(rows, _AGGREGATES[name]) for name in STATE_METRICS}


def state_scores(answers: Sequence[str], labels: Sequence[bool | str]) -> dict[str, float]:
    """F1, TNR, FPR and invalid rate in percent (positive = Yes; unreadable answers are wrong).

    >>> state_scores(["Yes.", "No.", "Yes", "perhaps"], [True, False, False, True])
    {'f1': 50.0, 'tnr': 50.0, 'fpr': 50.0, 'invalid_rate': 25.0}
    """
    return {name: stats.score() for name, stats in state_stats(answers, labels).items()}
