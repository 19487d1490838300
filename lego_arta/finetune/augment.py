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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

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


#: Name → factory; ``--augment NAME`` picks one. A new augmenter registers itself here.
AUGMENTERS: dict[str, Callable[[], TextAugmenter]] = {"none": IdentityAugmenter}


def make_augmenter(name: str) -> TextAugmenter:
    """The augmenter registered as ``name``; unknown names list the known ones."""
    try:
        return AUGMENTERS[name]()
    except KeyError:
        raise ValueError(f"unknown augmenter {name!r}; expected one of {sorted(AUGMENTERS)}") from None


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
