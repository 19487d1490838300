"""Group accuracy of state verdicts: a state counts only when all of its pairs are answered right.

One state (a step of one session of one manual) gives one real image (answer "Yes.") and a few
negatives ("No."). Per pair, a constant wins on its share of the pairs: always-"Yes." gets every
positive, always-"No." every negative. Per state, it gets nothing: a state counts only when its
real image gets Yes **and** every one of its negatives gets No (the group scoring of Winoground
and of NaturalBench). An unreadable answer is wrong, as everywhere in the state task.

Targets are tuples ``(label, *key)``: the row's verdict and whatever identifies its state (the
state task passes ``(label, manual_id, session, step_num)``).

The bootstrap statistics give each row ``1/size`` of its group's count, so the column sums over
whole groups are (groups, groups right). Resampling whole manuals (:mod:`lego_arta.metrics.bootstrap`)
keeps every group whole, so every resample is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from lego_arta.answers import parse_yes_no
from lego_arta.metrics.bootstrap import SampleStats, ratio
from lego_arta.metrics.text import check_same_length


def _split_target(i: int, target: Any) -> tuple[bool, Hashable]:
    if not isinstance(target, (tuple, list)) or len(target) < 2:
        raise ValueError(f"group targets[{i}] = {target!r}: expected (label, *group key)")
    label, *key = target
    if isinstance(label, str):
        verdict = parse_yes_no(label)
        if verdict is None:
            raise ValueError(f"group targets[{i}] label {label!r} is neither yes nor no")
        label = verdict
    if not isinstance(label, (bool, np.bool_)) and label not in (0, 1):
        raise ValueError(f"group targets[{i}] label {label!r}: expected a bool")
    return bool(label), tuple(key)


def _right_and_groups(answers: Sequence[str], targets: Sequence[Any]) -> tuple[np.ndarray, list[Hashable]]:
    check_same_length(answers, targets, "group targets")
    right, keys = [], []
    for i, (answer, target) in enumerate(zip(answers, targets)):
        label, key = _split_target(i, target)
        said = parse_yes_no(answer) if isinstance(answer, str) else None
        right.append(said is not None and said == label)
        keys.append(key)
    return np.asarray(right, dtype=bool), keys


def _whole(answers: Sequence[str], targets: Sequence[Any]) -> tuple[list[bool], list[int]]:
    """Per row: whether its whole group is right, and its group's size."""
    right, keys = _right_and_groups(answers, targets)
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        members[key].append(i)
    whole = {key: bool(right[rows].all()) for key, rows in members.items()}
    return [whole[key] for key in keys], [len(members[key]) for key in keys]


def group_acc_per_sample(answers: Sequence[str], targets: Sequence[Any]) -> list[bool]:
    """Per row: whether its whole group (state) is answered right.

    >>> group_acc_per_sample(["Yes.", "No.", "Yes.", "Yes."], [(True, "s1"), (False, "s1"), (True, "s2"), (False, "s2")])
    [True, True, False, False]
    """
    return _whole(answers, targets)[0]


def group_acc_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    """Bootstrap statistics of group accuracy: per row ``(1/size, right/size)`` of its group."""
    whole, sizes = _whole(answers, targets)
    share = 1.0 / np.asarray(sizes, dtype=np.float64)
    rows = np.column_stack([share, share * np.asarray(whole, dtype=np.float64)])
    return SampleStats(rows, lambda sums: ratio(sums[1], sums[0]))


def group_acc(answers: Sequence[str], targets: Sequence[Any]) -> float:
    """Share of groups (states) whose every pair is answered right, in percent.

    >>> group_acc(["Yes.", "No.", "Yes.", "Yes."], [(True, "s1"), (False, "s1"), (True, "s2"), (False, "s2")])
    50.0
    """
    return group_acc_stats(answers, targets).score()
