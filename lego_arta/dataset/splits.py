"""Train/test split grouped by manual: no manual, and so no image or instruction, is in both splits.

The study split pairs at random, so near-identical steps of one manual leaked across splits; we
split manuals instead (scikit-learn's ``GroupShuffleSplit``, seeded).

The split is also **stratified**: some configs draw rows from only some manuals (state needs a
highlighted manual; about a third of real manuals have none). ``strata`` names, per manual, the
labels it carries (``{"highlight"}``); whenever at least two manuals carry a label, both splits
get one. A split that misses a label is repaired by swapping a manual that carries it with one
from the other split that does not (seeded), so the split sizes stay as the test fraction says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

SPLITS: tuple[str, ...] = ("train", "test")


def split_manuals(
    manual_ids: Sequence[str], *, test_fraction: float, seed: int, strata: Mapping[str, Collection[str]] | None = None
) -> dict[str, str]:
    """Map every manual id to ``"train"`` or ``"test"``; at least one manual in each when possible,
    and one of every ``strata`` label in each when at least two manuals carry it.

    >>> sorted(split_manuals([f"m{i}" for i in range(8)], test_fraction=0.25, seed=0).values()).count("test")
    2
    >>> split = split_manuals(["a", "b", "c", "d"], test_fraction=0.25, seed=5, strata={"a": {"highlight"}, "d": {"highlight"}})
    >>> sorted(split[m] for m in "ad")
    ['test', 'train']
    """
    ids = sorted(set(manual_ids))
    if len(ids) < 2:
        return dict.fromkeys(ids, "train")
    n_test = min(len(ids) - 1, max(1, round(len(ids) * test_fraction)))
    from sklearn.model_selection import GroupShuffleSplit  # seconds to import: only a build splits

    splitter = GroupShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
    groups = np.arange(len(ids))
    _, test_index = next(splitter.split(groups, groups=groups))
    test = {ids[i] for i in test_index}
    split = {manual: "test" if manual in test else "train" for manual in ids}
    return _stratify(split, strata or {}, seed) if strata else split


def _stratify(split: dict[str, str], strata: Mapping[str, Collection[str]], seed: int) -> dict[str, str]:
    """Swap manuals until every label carried by >= 2 manuals is in both splits (labels in sorted order)."""
    rng = np.random.default_rng(seed)
    labels = sorted({label for manual in split for label in strata.get(manual, ())})
    for label in labels:
        members = sorted(m for m in split if label in strata.get(m, ()))
        if len(members) < 2:
            continue
        for lacking in SPLITS:
            if any(split[m] == lacking for m in members):
                continue
            donor = members[int(rng.integers(len(members)))]
            partners = sorted(m for m in split if split[m] == lacking)
            # prefer a partner whose other labels stay covered where it comes from
            safe = [m for m in partners if all(_covered(split, strata, other, lacking, m) for other in strata.get(m, ()))]
            pool = safe or partners
            partner = pool[int(rng.integers(len(pool)))]
            split[donor], split[partner] = lacking, split[donor]
    return split


def _covered(split: Mapping[str, str], strata: Mapping[str, Collection[str]], label: str, where: str, leaving: str) -> bool:
    """Whether ``label`` is still in split ``where`` after ``leaving`` moves out (or has < 2 manuals at all)."""
    members = [m for m in split if label in strata.get(m, ())]
    return len(members) < 2 or any(split[m] == where and m != leaving for m in members)
