"""Synonym trees and their split (ACE): coverage, shape, a split that never leaks, verb-only rewrites."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.source.synth.language import BASE_VERBS, VERB_WEIGHTS
from lego_arta.tasks import get_task
from lego_arta.tasks.prompts import FINDING_VERBS
from lego_arta.tasks.synonym_variants import SUFFIX, variant_row
from lego_arta.tasks.synonyms import SynonymSplit, load_trees, replace_verbs, row_rng, seen_choices, unseen_choices, unseen_words, verbs_in

VOCABULARY = load_trees()
#: Sentence-initial verbs of the real sample manual (shared/reference, read by hand): Put, Find,
#: Collect, Repeat, Make, Snap, Turn, Use, Open, Get. Kept here so no test reads ../shared.
REAL_SAMPLE_VERBS = ("Put", "Find", "Collect", "Repeat", "Make", "Snap", "Turn", "Use", "Open", "Get")


def test_every_verb_the_generator_or_the_real_manuals_write_has_a_tree() -> None:
    needed = set(VERB_WEIGHTS) | set(BASE_VERBS) | set(FINDING_VERBS) | set(REAL_SAMPLE_VERBS)
    assert needed <= set(VOCABULARY.trees), sorted(needed - set(VOCABULARY.trees))
    for spec in (get_task("scene"), get_task("state"), get_task("object")):
        template = f"{spec.prompts.instruction} {spec.prompts.question}"
        assert verbs_in(template.replace("{", "").replace("}", ""), VOCABULARY), f"{spec.name}: no verb with a tree in its query"


def test_every_parent_is_its_own_first_child_at_every_level() -> None:
    for root, tree in VOCABULARY.trees.items():
        assert root in tree.first_order and all(children[0] == parent for parent, children in tree.first_order.items())


def test_a_malformed_tree_file_names_the_file_and_the_node(tmp_path) -> None:
    bad = tmp_path / "trees.yaml"
    bad.write_text("trees:\n  Put:\n    Put: [Set, Put]\n")
    with pytest.raises(ValueError, match=r"trees.yaml: Put → Put: expected a list of second-order synonyms starting with 'Put'"):
        load_trees(bad)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_the_split_is_disjoint_keeps_every_root_seen_and_holds_out_something(seed: int) -> None:
    split = SynonymSplit.make(VOCABULARY, seed=seed)
    held = unseen_words(split)
    for root in VOCABULARY.trees:
        assert split.seen[root][0] == root and split.unseen[root]
        assert not set(split.seen[root]) & held
    assert not held & set(VOCABULARY.trees)
    assert SynonymSplit.make(VOCABULARY, seed=seed) == split


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    draw=st.integers(0, 2**31 - 1),
    depth=st.sampled_from([1, 2]),
    verb=st.sampled_from(sorted(VERB_WEIGHTS)),
    finder=st.sampled_from(["find", "collect"]),
)
def test_training_replacements_never_use_an_unseen_synonym(seed: int, draw: int, depth: int, verb: str, finder: str) -> None:
    split = SynonymSplit.make(VOCABULARY, seed=seed)
    text = f"After I {finder} 2 red bricks. Did I do it correctly for {verb} the brick 2x4 on the plate 6x8?"
    choices = seen_choices(text, VOCABULARY, split, np.random.default_rng(draw), depth=depth)
    assert set(choices) == {finder, verb}
    assert not set(choices.values()) & unseen_words(split)
    assert all(word in VOCABULARY[VOCABULARY.context.get(key, key)].words(depth) for key, word in choices.items())


def test_a_variant_row_differs_from_its_original_only_in_the_replaced_verbs() -> None:
    split = SynonymSplit.make(VOCABULARY, seed=0)
    query = get_task("state").prompts.query(found="2 red bricks 2x4", instruction="Attach the brick 2x4 onto the plate 6x8")
    row = {
        "id": "abc",
        "image": {"bytes": b"png", "path": "abc.png"},
        "query": query.text,
        "answer": "Yes.",
        "task_token": query.task_token,
        "instruction": query.instruction,
        "question": query.question,
        "label": True,
    }
    variant = variant_row(row, split)
    assert variant["id"] == "abc" + SUFFIX and variant["image"] == {"bytes": b"png", "path": f"abc{SUFFIX}.png"}
    assert {k: v for k, v in variant.items() if k not in ("id", "image", "query", "instruction", "question")} == {
        k: v for k, v in row.items() if k not in ("id", "image", "query", "instruction", "question")
    }
    before, after = row["query"].split(), variant["query"].split()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and [a for a, _ in changed] == ["find", "Attach"]
    assert all(b.lower() in {w.lower() for w in unseen_words(split)} for _, b in changed)
    assert variant_row(row, split) == variant, "the replacement is fixed per (seed, row id)"


def test_replacement_keeps_case_and_touches_only_verb_positions() -> None:
    assert replace_verbs("After I find 2 bricks. Put the brick in place.", {"find": "Spot", "Put": "Rest"}) == (
        "After I spot 2 bricks. Rest the brick in place."
    )
    assert replace_verbs("Place the plate in place.", {"Place": "Set"}) == "Set the plate in place."
    assert unseen_choices("Nothing to do here.", VOCABULARY, SynonymSplit.make(VOCABULARY, seed=0), row_rng("x", 0)) == {}
