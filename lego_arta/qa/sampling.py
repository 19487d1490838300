"""Which pairs a questionnaire rates, and where its comprehension checks go: pure, seeded functions.

The sample is stratified by manual (each manual contributes in proportion to its rows), so one
large manual cannot fill the questionnaire. The checks are spread through the whole sequence,
one at a random position inside each of equal segments: the study put its checks at the front,
where a rater is still attentive, so they measured nothing about the rest.

>>> rng = np.random.default_rng(0)
>>> sorted(stratified_sample(["a", "a", "b", "b", "b", "b"], 3, rng))  # one of a, two of b
[1, 3, 4]
>>> check_positions(10, 2, np.random.default_rng(0))  # one in 0-5, one in 6-11
[5, 9]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def manual_quotas(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Rows to draw per group: ``n`` shared in proportion to ``sizes`` (largest remainder, ties by name).

    >>> manual_quotas({"m1": 6, "m2": 3, "m3": 1}, 5)
    {'m1': 3, 'm2': 2, 'm3': 0}
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    exact = {group: n * size / total for group, size in sizes.items()}
    quotas = {group: int(value) for group, value in exact.items()}
    by_remainder = sorted(sizes, key=lambda group: (-(exact[group] - quotas[group]), group))
    for group in by_remainder[: n - sum(quotas.values())]:
        quotas[group] += 1
    return quotas


def stratified_sample(groups: Sequence[str], n: int, rng: np.random.Generator) -> list[int]:
    """Indices of ``n`` rows (all of them when there are fewer), stratified by ``groups``, in a seeded random order."""
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    quotas = manual_quotas({group: len(rows) for group, rows in sorted(members.items())}, n)
    picked: list[int] = []
    for group in sorted(members):
        rows = members[group]
        picked += sorted(int(rows[i]) for i in rng.choice(len(rows), size=quotas[group], replace=False))
    return [picked[i] for i in rng.permutation(len(picked))]


def check_positions(regular: int, checks: int, rng: np.random.Generator) -> list[int]:
    """Positions (in the final sequence of ``regular + checks`` items) of the checks, ascending.

    The sequence is cut into ``checks`` equal segments and each check lands at a random position
    of its own segment, so the checks reach the end of the questionnaire, never only its front.
    """
    total = regular + checks
    if checks <= 0:
        return []
    edges = np.linspace(0, total, checks + 1)
    # Segments are at least one item long (checks <= total), so the ceilings never meet.
    return [int(rng.integers(int(np.ceil(low)), int(np.ceil(high)))) for low, high in zip(edges[:-1], edges[1:])]


def interleave(regular: Sequence[T], checks: Sequence[T], positions: Sequence[int]) -> list[T]:
    """``regular`` with ``checks[i]`` at ``positions[i]`` (positions of the merged sequence, ascending).

    >>> interleave(["a", "b", "c"], ["X", "Y"], [1, 4])
    ['a', 'X', 'b', 'c', 'Y']
    """
    merged: list[T] = []
    pending = list(regular)
    queue = list(zip(positions, checks))
    for index in range(len(regular) + len(checks)):
        if queue and queue[0][0] == index:
            merged.append(queue.pop(0)[1])
        else:
            merged.append(pending.pop(0))
    return merged
