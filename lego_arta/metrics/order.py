"""Order-task verdicts (attached or removed between two frames): accuracy, symmetric-pair accuracy, flip consistency.

Each ``order`` item comes twice, its frames in both orders: t-2 → t (the part was attached) and
t → t-2 (removed). A model blind to frame order gives both orders the same answer, so it scores
50 on accuracy however good its features, 0 on symmetric-pair accuracy (both orders right) and 0
on flip consistency (its answer flips when the frames do). An unreadable answer is wrong and
flips nothing.

Pair metrics judge each pair over the members present; their per-sample statistics weight a row
by one over its pair's size, so the score over all rows is the mean over pairs and a bootstrap
resample of rows stays near a resample of pairs.

>>> targets = [{"id": "p", "attached": True}, {"id": "p", "attached": False}]
>>> order_pair_accuracy(["Attached.", "Removed."], targets), order_flip_consistency(["Attached", "Attached"], targets)
(100.0, 0.0)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lego_arta.answers import parse_attached_removed
from lego_arta.metrics.bootstrap import SampleStats, mean_stats
from lego_arta.metrics.text import check_same_length


def _attached(i: int, label: Any) -> bool:
    """A reference verdict: a bool (True = attached), or a reference answer such as ``"Attached."``."""
    if isinstance(label, str):
        verdict = parse_attached_removed(label)
        if verdict is None:
            raise ValueError(f"labels[{i}] = {label!r} is neither attached nor removed")
        return verdict
    if isinstance(label, (bool, np.bool_)) or label in (0, 1):
        return bool(label)
    raise ValueError(f"labels[{i}] = {label!r}: expected a bool or an 'Attached.'/'Removed.' answer")


def order_correct(answers: Sequence[str], labels: Sequence[Any]) -> list[float]:
    """100 per answer whose verdict matches its label, else 0 (unreadable answers are wrong).

    >>> order_correct(["Attached.", "removed", "maybe"], [True, True, False])
    [100.0, 0.0, 0.0]
    """
    check_same_length(answers, labels, "labels")
    return [100.0 if parse_attached_removed(a) is _attached(i, label) else 0.0 for i, (a, label) in enumerate(zip(answers, labels))]


def order_accuracy(answers: Sequence[str], labels: Sequence[Any]) -> float:
    return mean_stats(order_correct(answers, labels)).score()


def order_accuracy_stats(answers: Sequence[str], labels: Sequence[Any]) -> SampleStats:
    return mean_stats(order_correct(answers, labels))


def _pairs(targets: Sequence[Any]) -> dict[str, list[int]]:
    """Row indices per pair id; a pair of more than two rows, or of two with the same label, is an error."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, target in enumerate(targets):
        if not isinstance(target, Mapping) or "id" not in target or "attached" not in target:
            raise ValueError(f"pair targets[{i}] = {target!r}: expected a mapping with 'id' and 'attached'")
        groups[str(target["id"])].append(i)
    for pair, rows in groups.items():
        labels = {_attached(i, targets[i]["attached"]) for i in rows}
        if len(rows) > 2 or (len(rows) == 2 and len(labels) != 2):
            raise ValueError(f"pair {pair!r}: expected one attached and one removed row, got rows {rows}")
    return dict(groups)


def _pair_stats(per_pair: Mapping[str, float], groups: Mapping[str, list[int]], n: int) -> SampleStats:
    values = np.zeros((n, 2), dtype=np.float64)
    for pair, rows in groups.items():
        values[rows, 0] = per_pair[pair] / len(rows)
        values[rows, 1] = 1.0 / len(rows)
    return SampleStats(values, lambda sums: sums[0] / sums[1] if sums[1] else 0.0)


def order_pair_accuracy_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    check_same_length(answers, targets, "pair targets")
    groups = _pairs(targets)
    correct = order_correct(answers, [t["attached"] for t in targets])
    per_pair = {pair: 100.0 if all(correct[i] for i in rows) else 0.0 for pair, rows in groups.items()}
    return _pair_stats(per_pair, groups, len(answers))


def order_flip_consistency_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    check_same_length(answers, targets, "pair targets")
    groups = _pairs(targets)
    verdicts = [parse_attached_removed(a) for a in answers]

    def flipped(rows: list[int]) -> float:
        said = [verdicts[i] for i in rows]
        return 100.0 if len(rows) == 2 and None not in said and said[0] != said[1] else 0.0

    return _pair_stats({pair: flipped(rows) for pair, rows in groups.items()}, groups, len(answers))


def order_pair_accuracy(answers: Sequence[str], targets: Sequence[Any]) -> float:
    """Pairs whose both orders are answered right, in percent of pairs."""
    return order_pair_accuracy_stats(answers, targets).score()


def order_flip_consistency(answers: Sequence[str], targets: Sequence[Any]) -> float:
    """Pairs whose two answers are readable and opposite (the verdict flips with the frames), in percent of pairs."""
    return order_flip_consistency_stats(answers, targets).score()


def order_pair_per_sample(answers: Sequence[str], targets: Sequence[Any]) -> list[float]:
    """Each row's pair outcome (100 when both orders are right), logged per row."""
    stats = order_pair_accuracy_stats(answers, targets).values
    return [float(value / weight) if weight else 0.0 for value, weight in stats]


def order_flip_per_sample(answers: Sequence[str], targets: Sequence[Any]) -> list[float]:
    """Each row's pair flip (100 when the verdict flips with the frames), logged per row."""
    stats = order_flip_consistency_stats(answers, targets).values
    return [float(value / weight) if weight else 0.0 for value, weight in stats]
