"""Train/test split grouped by manual: no manual, and so no image or instruction, is in both splits.

The study split pairs at random, so near-identical steps of one manual leaked across splits; we
split manuals instead (scikit-learn's ``GroupShuffleSplit``, seeded).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

SPLITS: tuple[str, ...] = ("train", "test")


def split_manuals(manual_ids: Sequence[str], *, test_fraction: float, seed: int) -> dict[str, str]:
    """Map every manual id to ``"train"`` or ``"test"``; at least one manual in each when possible.

    >>> sorted(split_manuals([f"m{i}" for i in range(8)], test_fraction=0.25, seed=0).values()).count("test")
    2
    """
    ids = sorted(set(manual_ids))
    if len(ids) < 2:
        return dict.fromkeys(ids, "train")
    n_test = min(len(ids) - 1, max(1, round(len(ids) * test_fraction)))
    splitter = GroupShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
    groups = np.arange(len(ids))
    _, test_index = next(splitter.split(groups, groups=groups))
    test = {ids[i] for i in test_index}
    return {manual: "test" if manual in test else "train" for manual in ids}
