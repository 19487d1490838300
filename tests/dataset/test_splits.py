"""Grouped train/test split: every manual in exactly one split, a quarter held out, reproducible."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.dataset.splits import split_manuals

manual_ids = st.lists(st.from_regex(r"lego-\d{5}-[a-z]{1,8}", fullmatch=True), min_size=2, max_size=80, unique=True)


@settings(max_examples=80, deadline=None)
@given(manual_ids, st.integers(0, 2**32 - 1), st.randoms(use_true_random=False))
def test_every_manual_lands_in_one_split_whatever_the_input_order(ids: list[str], seed: int, shuffler) -> None:
    split = split_manuals(ids, test_fraction=0.25, seed=seed)
    assert set(split) == set(ids) and set(split.values()) == {"train", "test"}
    test = sum(1 for s in split.values() if s == "test")
    assert test == min(len(ids) - 1, max(1, round(0.25 * len(ids))))
    shuffled = list(ids)
    shuffler.shuffle(shuffled)
    assert split_manuals(shuffled, test_fraction=0.25, seed=seed) == split


def test_the_study_scale_holds_out_a_quarter_of_the_manuals_and_seeds_change_which() -> None:
    ids = [f"lego-{60000 + i}-set" for i in range(65)]
    splits = [split_manuals(ids, test_fraction=0.25, seed=seed) for seed in range(3)]
    assert [sum(s == "test" for s in split.values()) for split in splits] == [16, 16, 16]
    assert len({tuple(sorted(m for m, s in split.items() if s == "test")) for split in splits}) == 3


def test_a_single_manual_goes_to_train() -> None:
    assert split_manuals(["lego-60001-x"], test_fraction=0.25, seed=0) == {"lego-60001-x": "train"}


@settings(max_examples=120, deadline=None)
@given(manual_ids, st.integers(0, 2**32 - 1), st.data())
def test_every_label_of_two_or_more_manuals_lands_in_both_splits(ids: list[str], seed: int, data) -> None:
    highlighted = data.draw(st.sets(st.sampled_from(ids)))
    strata = {m: {"highlight"} if m in highlighted else set() for m in ids}
    for m in ids:
        strata[m].add("any")  # a label every manual carries (scene, object) must survive the swaps
    split = split_manuals(ids, test_fraction=0.25, seed=seed, strata=strata)
    plain = split_manuals(ids, test_fraction=0.25, seed=seed)
    assert sorted(split.values()) == sorted(plain.values()), "stratifying must keep the split sizes"
    for label in ("highlight", "any"):
        members = [m for m in ids if label in strata[m]]
        if len(members) >= 2:
            assert {split[m] for m in members} == {"train", "test"}, label
    reordered = dict(reversed(list(strata.items())))
    assert split_manuals(list(reversed(ids)), test_fraction=0.25, seed=seed, strata=reordered) == split
