"""Text augmentation hook for fine-tuning: every (query, answer) exchange passes through one.

The study's follow-up idea (Action Concept Enhancement) rewrites instruction verbs with
synonyms during training so a model learns the action, not one wording of it. This module is
the seam where such a rewrite plugs in: the training dataset calls a :class:`TextAugmenter` on
each exchange with a random generator derived from ``(seed, epoch, sample index)``, so an
augmented run is reproducible, resumable, and independent of data-loader worker order.

>>> augmenter = make_augmenter("none")
>>> augmenter("<image>\\n[state] Did I do it correctly?", "Yes.", task="state", rng=np.random.default_rng(0))
('<image>\\n[state] Did I do it correctly?', 'Yes.')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lego_arta.tasks import get_task
from lego_arta.tasks.synonym_variants import synonym_split
from lego_arta.tasks.synonyms import Vocabulary, load_trees, replace_verbs, seen_choices, verbs_in

#: Placeholder marking where an image sits in a LLaVA-style human turn.
IMAGE_PLACEHOLDER = "<image>"


@runtime_checkable
class TextAugmenter(Protocol):
    """Rewrites one exchange; must keep every ``<image>`` placeholder of the query.

    ``task`` is the sample's task (``scene``/``object``/``state``) so a rewrite can spare
    answers whose exact form is scored (boxes, Yes/No). Draw randomness only from ``rng``.
    """

    def __call__(self, query: str, answer: str, *, task: str, rng: np.random.Generator) -> tuple[str, str]: ...


@dataclass(frozen=True)
class IdentityAugmenter:
    """The default: training sees the data exactly as built."""

    def __call__(self, query: str, answer: str, *, task: str, rng: np.random.Generator) -> tuple[str, str]:
        return query, answer


@dataclass(frozen=True)
class Rewrite:
    """What one augmentation did: the new texts, verbs replaced, and whether it made a negative."""

    query: str
    answer: str
    replaced: int = 0
    negative: bool = False


@dataclass(frozen=True)
class SynonymAugmenter:
    """ACE's training-time rewrite: verbs replaced by *seen* synonyms of their trees, never unseen ones.

    With probability ``prob`` an exchange's query verbs (and, for scene, the answer's verbs: the
    answer is an instruction) become seen synonyms down to ``depth`` of the build's split
    (``split_seed``: the build seed, read from the built folder's manifest). With probability
    ``negatives`` a state exchange answered Yes has its instruction verb replaced by the verb's
    antonym and becomes a No (ACE's negatives: "Did I do it correctly for Remove the brick …?").
    Boxes and verdicts are never rewritten.

    >>> augmenter = SynonymAugmenter(split_seed=0, prob=1.0)
    >>> augmenter("<image>\\n[state] After I find 2 red bricks. Did I do it correctly for Put the brick?", "Yes.",
    ...           task="state", rng=np.random.default_rng(1))
    ('<image>\\n[state] After I notice 2 red bricks. Did I do it correctly for Settle the brick?', 'Yes.')
    """

    split_seed: int = 0
    prob: float = 0.5
    depth: int = 2
    negatives: float = 0.0

    def __post_init__(self) -> None:
        for name in ("prob", "negatives"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"synonym augmentation {name} must be in [0, 1], got {getattr(self, name)}")
        if self.depth not in (1, 2):
            raise ValueError(f"synonym depth must be 1 or 2, got {self.depth}")

    def rewrite(self, query: str, answer: str, *, task: str, rng: np.random.Generator) -> Rewrite:
        vocabulary, split = load_trees(), synonym_split(self.split_seed)
        spec = get_task(task)
        if (
            spec.verdict_follows_instruction
            and spec.verdicts
            and answer == spec.verdicts[1]
            and self.negatives
            and rng.random() < self.negatives
        ):
            flipped = _antonym_query(query, vocabulary)
            if flipped is not None:
                return Rewrite(flipped, spec.verdicts[0], 1, True)
        if not self.prob or rng.random() >= self.prob:
            return Rewrite(query, answer)
        choices = seen_choices(query, vocabulary, split, rng, depth=self.depth)
        answer_choices = seen_choices(answer, vocabulary, split, rng, depth=self.depth) if spec.instruction_answer else {}
        changed = sum(1 for word, synonym in choices.items() if synonym.lower() != word.lower()) + len(answer_choices)
        return Rewrite(replace_verbs(query, choices), replace_verbs(answer, answer_choices), changed)

    def __call__(self, query: str, answer: str, *, task: str, rng: np.random.Generator) -> tuple[str, str]:
        rewrite = self.rewrite(query, answer, task=task, rng=rng)
        return rewrite.query, rewrite.answer


def _antonym_query(query: str, vocabulary: Vocabulary) -> str | None:
    """The query with its instruction verb (a capitalised verb with an antonym) replaced by the antonym."""
    verbs = [word for word in verbs_in(query, vocabulary) if word[:1].isupper() and word in vocabulary.antonyms]
    return replace_verbs(query, {verbs[-1]: vocabulary.antonyms[verbs[-1]]}) if verbs else None


#: Name → factory; ``--augment NAME`` picks one. A new augmenter registers itself here; factories
#: take the keyword options of :func:`make_augmenter` they understand.
AUGMENTERS: dict[str, Callable[..., TextAugmenter]] = {
    "none": lambda **_options: IdentityAugmenter(),
    "synonyms": lambda **options: SynonymAugmenter(**options),
}


def make_augmenter(name: str, **options: Any) -> TextAugmenter:
    """The augmenter registered as ``name`` with ``options``; unknown names list the known ones."""
    if name not in AUGMENTERS:
        raise ValueError(f"unknown augmenter {name!r}; expected one of {sorted(AUGMENTERS)}")
    return AUGMENTERS[name](**options)


def replay_counts(augmenter: TextAugmenter, samples: Sequence[Any], *, seed: int, epochs: int) -> list[dict[str, int]]:
    """Per epoch, how many verbs were replaced and negatives made: augmentation is a pure function
    of (seed, epoch, sample index), so replaying it in the main process counts exactly what the
    data-loader workers do, for the training log and the run config."""
    counts = []
    rewrite = getattr(augmenter, "rewrite", None)
    for epoch in range(epochs):
        replaced = negatives = 0
        for index, sample in enumerate(samples if rewrite is not None else ()):
            rng = sample_rng(seed, epoch, index)
            for exchange in sample.exchanges:
                result = rewrite(exchange.query, exchange.answer, task=sample.task, rng=rng)
                replaced, negatives = replaced + result.replaced, negatives + int(result.negative)
        counts.append({"epoch": epoch, "synonym_replacements": replaced, "antonym_negatives": negatives})
    return counts


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator one exchange is augmented with: a pure function of seed, epoch and index."""
    return np.random.default_rng([seed, epoch, index])


def augment_exchange(
    augmenter: TextAugmenter, query: str, answer: str, *, task: str, rng: np.random.Generator, where: str
) -> tuple[str, str]:
    """Run ``augmenter`` and check it kept the query's image placeholders (``where`` names the sample)."""
    new_query, new_answer = augmenter(query, answer, task=task, rng=rng)
    if not isinstance(new_query, str) or not isinstance(new_answer, str):
        raise TypeError(f"{where}: augmenter {augmenter!r} must return two strings, got {new_query!r}, {new_answer!r}")
    if new_query.count(IMAGE_PLACEHOLDER) != query.count(IMAGE_PLACEHOLDER):
        raise ValueError(
            f"{where}: augmenter {augmenter!r} changed the number of {IMAGE_PLACEHOLDER} placeholders "
            f"({query.count(IMAGE_PLACEHOLDER)} → {new_query.count(IMAGE_PLACEHOLDER)})"
        )
    return new_query, new_answer
