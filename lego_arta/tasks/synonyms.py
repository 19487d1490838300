"""Verb synonym trees and their base-to-novel split, after ACE (Action Concept Enhancement).

Models overfit to the fixed verbs of their training labels; LEGO instructions use a small verb set
(Put, Place, Attach, …), so a model can score by echoing it. The trees in ``synonyms.yaml`` hold,
per root verb, first-order synonyms and their second-order synonyms, each parent repeated as its
own child. A seeded :class:`SynonymSplit` divides every tree's other words into *seen* ones (for
training augmentation) and *unseen* ones (test variants only), so a test variant measures wording
a fine-tuned model never saw.

>>> trees = load_trees()
>>> sorted(trees["Put"].first_order)
['Lay', 'Place', 'Put', 'Set']
>>> split = SynonymSplit.make(trees, seed=0)
>>> set(split.seen["Put"]) & set(split.unseen["Put"])
set()
>>> replace_verbs("Put the brick 2x4 on the plate 6x8.", {"Put": "Rest"})
'Rest the brick 2x4 on the plate 6x8.'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lego_arta.inputs import MAX_YAML_BYTES, brief, load_yaml, read_text_file

#: Share of each tree's non-root words held out as unseen (test-only) synonyms.
UNSEEN_FRACTION = 0.5


@dataclass(frozen=True)
class SynonymTree:
    """One root verb: first-order synonym → its second-order synonyms (each list starts with itself)."""

    root: str
    first_order: Mapping[str, tuple[str, ...]]

    def words(self, depth: int = 2) -> tuple[str, ...]:
        """Every distinct word of the tree down to ``depth`` (1: first order only), root first."""
        words = [self.root, *self.first_order]
        if depth >= 2:
            words += [word for children in self.first_order.values() for word in children]
        return tuple(dict.fromkeys(words))


@dataclass(frozen=True)
class Vocabulary:
    """The trees, the query-template verbs (lowercase word → tree) and the antonyms."""

    trees: Mapping[str, SynonymTree]
    context: Mapping[str, str]
    antonyms: Mapping[str, str]

    def __getitem__(self, root: str) -> SynonymTree:
        return self.trees[root]


def _tree(root: str, data: Any, where: str) -> SynonymTree:
    if not isinstance(data, Mapping) or root not in data:
        raise ValueError(f"{where}: tree {brief(root)} must map first-order synonyms to lists and list {brief(root)} itself first-order")
    first: dict[str, tuple[str, ...]] = {}
    for parent, children in data.items():
        if not isinstance(children, list) or not children or children[0] != parent:
            raise ValueError(f"{where}: {root} → {parent}: expected a list of second-order synonyms starting with {brief(parent)}")
        first[str(parent)] = tuple(str(child) for child in children)
    return SynonymTree(root, first)


def load_trees(path: Path | None = None) -> Vocabulary:
    """The package's trees, or a file of the same shape (an LLM-generated tree, say)."""
    if path is None:
        return _package_trees()
    return _parse(load_yaml(read_text_file(Path(path), "synonym-tree file", limit=MAX_YAML_BYTES), str(path)), str(path))


@cache
def _package_trees() -> Vocabulary:
    text = resources.files("lego_arta.tasks").joinpath("synonyms.yaml").read_text(encoding="utf-8")
    return _parse(yaml.safe_load(text), "lego_arta/tasks/synonyms.yaml")


def _parse(data: Any, where: str) -> Vocabulary:
    if not isinstance(data, Mapping) or not isinstance(data.get("trees"), Mapping):
        raise ValueError(f"{where}: expected a mapping with a 'trees' mapping")
    if not data["trees"]:
        raise ValueError(f"{where}: 'trees' is empty; give at least one tree (root: {{root: [root, ...], ...}})")
    trees = {str(root): _tree(str(root), tree, where) for root, tree in data["trees"].items()}
    context = {str(word): str(root) for word, root in (data.get("context") or {}).items()}
    unknown = sorted(root for root in context.values() if root not in trees)
    if unknown:
        raise ValueError(f"{where}: context verbs name trees that do not exist: {brief(unknown)}")
    return Vocabulary(trees, context, {str(k): str(v) for k, v in (data.get("antonyms") or {}).items()})


@dataclass(frozen=True)
class SynonymSplit:
    """Per root verb: the synonyms allowed in training (seen, root included) and the test-only ones (unseen)."""

    seed: int
    seen: Mapping[str, tuple[str, ...]]
    unseen: Mapping[str, tuple[str, ...]]

    @classmethod
    def make(cls, vocabulary: Vocabulary, *, seed: int, unseen_fraction: float = UNSEEN_FRACTION) -> SynonymSplit:
        """Seeded per tree (the order of the trees does not change a tree's draw), then made global:
        a word held out in one tree is seen in none, and no root verb (a training label) is held out."""
        roots = set(vocabulary.trees)
        unseen: dict[str, tuple[str, ...]] = {}
        for root, tree in vocabulary.trees.items():
            others = sorted(word for word in tree.words() if word not in roots)
            digest = int.from_bytes(hashlib.sha256(root.encode("utf-8")).digest()[:8], "little")
            order = [others[i] for i in np.random.default_rng([seed, digest]).permutation(len(others))]
            unseen[root] = tuple(sorted(order[: max(1, round(unseen_fraction * len(others)))] if others else ()))
        held = {word for words in unseen.values() for word in words}
        seen = {root: (root, *sorted(w for w in tree.words() if w != root and w not in held)) for root, tree in vocabulary.trees.items()}
        return cls(seed, seen, unseen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "seen": {k: list(v) for k, v in self.seen.items()},
            "unseen": {k: list(v) for k, v in self.unseen.items()},
        }


def row_rng(row_id: str, seed: int) -> np.random.Generator:
    """One generator per row: a row's replacement depends only on (seed, row id)."""
    return np.random.default_rng([seed, int(hashlib.sha256(row_id.encode("utf-8")).hexdigest()[:16], 16)])


def _case_like(word: str, model: str) -> str:
    return word.lower() if model.islower() else word[:1].upper() + word[1:].lower()


#: A verb position: a sentence's first word (also after "for " in a state question, "Please " in
#: the object question) or a lowercase query-template verb after "I " (``After I find …``).
_VERB_SLOT = re.compile(r"(?:^|(?<=[.!?:] )|(?<=\bfor )|(?<=\bI )|(?<=\bPlease ))(?P<verb>[A-Za-z]+)\b")


def _key(word: str, words: Mapping[str, Any]) -> str | None:
    return word if word in words else word.lower() if word.lower() in words else None


def replace_verbs(text: str, choices: Mapping[str, str]) -> str:
    """``text`` with each chosen verb replaced where it stands as a verb; case follows the original."""

    def swap(match: re.Match[str]) -> str:
        key = _key(match.group("verb"), choices)
        return match.group(0) if key is None else _case_like(choices[key], match.group("verb"))

    return _VERB_SLOT.sub(swap, text)


def _verb_words(vocabulary: Vocabulary) -> dict[str, str]:
    """Word as written (root verbs capitalised, template verbs lowercase) → its tree."""
    return {root: root for root in vocabulary.trees} | dict(vocabulary.context)


def verbs_in(text: str, vocabulary: Vocabulary) -> list[str]:
    """The words of ``text`` that stand as verbs and have a tree, as written (see :func:`replace_verbs`)."""
    words = _verb_words(vocabulary)
    return [key for match in _VERB_SLOT.finditer(text) if (key := _key(match.group("verb"), words)) is not None]


def _choices(text: str, vocabulary: Vocabulary, pools: Mapping[str, Sequence[str]], rng: np.random.Generator) -> dict[str, str]:
    words = _verb_words(vocabulary)
    choices: dict[str, str] = {}
    for word in verbs_in(text, vocabulary):
        pool = pools[words[word]]
        if word not in choices and pool:
            choices[word] = str(pool[int(rng.integers(len(pool)))])
    return choices


def unseen_choices(text: str, vocabulary: Vocabulary, split: SynonymSplit, rng: np.random.Generator) -> dict[str, str]:
    """For every verb ``text`` uses, an unseen synonym of its tree (drawn from ``rng`` in text order)."""
    return _choices(text, vocabulary, split.unseen, rng)


def seen_choices(text: str, vocabulary: Vocabulary, split: SynonymSplit, rng: np.random.Generator, *, depth: int = 2) -> dict[str, str]:
    """For every verb ``text`` uses, a seen synonym of its tree down to ``depth`` (training augmentation)."""
    pools = {root: [w for w in split.seen[root] if w in set(vocabulary[root].words(depth))] for root in vocabulary.trees}
    return _choices(text, vocabulary, pools, rng)


def unseen_words(split: SynonymSplit) -> frozenset[str]:
    """Every held-out word: what training must never show."""
    return frozenset(word for words in split.unseen.values() for word in words)
