"""Entity recall: does an answer name the parts (``theme``) and colours (``colorinfo``) it should?

T_ACC (scene) looks for the reference instruction's entities in the whole answer; E_ACC (object)
looks for the query's entities in the predicted object label (:func:`parse_object_label`). Both
share one rule: an entity phrase is *found* when its normalised form occurs in the normalised text
at word boundaries ("red" is found in "a red brick", not in "reddish" or "bred").

Averaging: the headline number is the **micro** average, found entities over all entities
(samples naming many parts weigh more, as in the study's entity counts); ``average="macro"``
averages per-sample shares over the samples that have entities. Entities count as listed: a
colour listed twice for one sample is two entities. No stemming: "tile" does not find "tiles".

E_ACC and echoing: the object query names every entity E_ACC looks for, so an answer that repeats
the query's phrase as its label scores 100 without looking at the image (both weight-free object
baselines do). No definition that reads only the label can tell an echo from a model that
recognised the parts: the label the task asks for *is* the query's phrase. So E_ACC keeps the
study's definition (comparable with its tables), and :func:`echo_rate` is reported beside it:
the share of answers whose label is the query's phrase, word for word after normalisation. E_ACC
100 with echo rate 100 says "repeated the question"; grounding is measured by IoU and quadrant
accuracy (:mod:`lego_arta.metrics.quadrants`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from lego_arta.answers import parse_object_label
from lego_arta.metrics.bootstrap import SampleStats, mean_stats, ratio
from lego_arta.metrics.text import check_same_length, normalise_text

Average = Literal["micro", "macro"]


def phrase_found(phrase: str, text: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` at word boundaries, both normalised.

    >>> phrase_found("Light Purple", "1 light-purple brick")
    True
    >>> phrase_found("red", "a reddish brick")
    False
    """
    return f" {normalise_text(phrase)} " in f" {normalise_text(text)} "


def _hits(texts: Sequence[str], entities: Sequence[Sequence[str]], what: str) -> np.ndarray:
    """Rows of (entities found, entities listed) per sample."""
    check_same_length(texts, entities, f"{what} lists")
    rows = np.zeros((len(texts), 2), dtype=np.float64)
    for i, (text, phrases) in enumerate(zip(texts, entities)):
        if isinstance(phrases, str):
            raise ValueError(f"{what}[{i}] is a string; expected a list of entity phrases")
        padded = f" {normalise_text(text)} "
        for phrase in phrases:
            needle = normalise_text(phrase)
            if not needle:
                raise ValueError(f"{what}[{i}] holds {phrase!r}, which is empty after normalisation")
            rows[i, 0] += f" {needle} " in padded
        rows[i, 1] = len(phrases)
    return rows


def _micro(sums: np.ndarray) -> float:
    return ratio(sums[0], sums[1])


def _macro(sums: np.ndarray) -> float:
    return float(sums[0] / sums[1]) if sums[1] else 0.0


def _stats(rows: np.ndarray, average: Average) -> SampleStats:
    if average == "micro":
        return SampleStats(rows, _micro)
    if average == "macro":
        has_entities = rows[:, 1] > 0
        shares = np.divide(100.0 * rows[:, 0], rows[:, 1], out=np.zeros(len(rows)), where=has_entities)
        return SampleStats(np.column_stack([shares, has_entities.astype(np.float64)]), _macro)
    raise ValueError(f"average must be 'micro' or 'macro', got {average!r}")


def _per_sample(rows: np.ndarray) -> list[float | None]:
    return [ratio(found, listed) if listed else None for found, listed in rows]


def _answers_as(transform: Callable[[str], str] | None, answers: Sequence[str]) -> list[str]:
    """The text each answer is searched in: the answer itself, or ``transform(answer)``."""
    bad = next((i for i, a in enumerate(answers) if not isinstance(a, str)), None)
    if bad is not None:
        raise ValueError(f"answers[{bad}] is {type(answers[bad]).__name__}, expected str")
    return [transform(a) for a in answers] if transform else list(answers)


def t_acc_stats(answers: Sequence[str], entities: Sequence[Sequence[str]], *, average: Average = "micro") -> SampleStats:
    """Bootstrap statistics of T_ACC."""
    return _stats(_hits(_answers_as(None, answers), entities, "entities"), average)


def t_acc(answers: Sequence[str], entities: Sequence[Sequence[str]], *, average: Average = "micro") -> float:
    """T_ACC in percent: share of the reference's theme/colorinfo phrases found in the answer.

    >>> t_acc(["Put the red brick on top."], [["red", "brick", "plate"]])
    66.66666666666667
    """
    return t_acc_stats(answers, entities, average=average).score()


def t_acc_per_sample(answers: Sequence[str], entities: Sequence[Sequence[str]]) -> list[float | None]:
    """Per-answer share of entities found, in percent; ``None`` where the sample lists none."""
    return _per_sample(_hits(_answers_as(None, answers), entities, "entities"))


def e_acc_stats(answers: Sequence[str], entities: Sequence[Sequence[str]], *, average: Average = "micro") -> SampleStats:
    """Bootstrap statistics of E_ACC."""
    return _stats(_hits(_answers_as(parse_object_label, answers), entities, "entities"), average)


def e_acc(answers: Sequence[str], entities: Sequence[Sequence[str]], *, average: Average = "micro") -> float:
    """E_ACC in percent: share of the query's theme/colorinfo phrases named in the predicted label.

    >>> e_acc(["<p>1 light purple brick</p>{<57><15><82><35>}"], [["light purple", "brick 2x2"]])
    50.0
    """
    return e_acc_stats(answers, entities, average=average).score()


def e_acc_per_sample(answers: Sequence[str], entities: Sequence[Sequence[str]]) -> list[float | None]:
    """Per-answer share of query entities named in the predicted label; ``None`` where none listed."""
    return _per_sample(_hits(_answers_as(parse_object_label, answers), entities, "entities"))


def echo_per_sample(answers: Sequence[str], phrases: Sequence[str]) -> list[bool]:
    """Per answer: whether its object label is the query's phrase (normalised), i.e. an echo."""
    check_same_length(answers, phrases, "query phrases")
    labels = _answers_as(parse_object_label, answers)
    return [normalise_text(label) == normalise_text(str(phrase)) for label, phrase in zip(labels, phrases)]


def echo_stats(answers: Sequence[str], phrases: Sequence[str]) -> SampleStats:
    """Bootstrap statistics of the echo rate."""
    return mean_stats([100.0 * echo for echo in echo_per_sample(answers, phrases)])


def echo_rate(answers: Sequence[str], phrases: Sequence[str]) -> float:
    """Share of answers whose object label repeats the query's phrase, in percent.

    >>> echo_rate(["<p>2 Red bricks</p>{<0><0><9><9>}", "<p>red brick</p>{<0><0><9><9>}"], ["2 red bricks", "2 red bricks"])
    50.0
    """
    return echo_stats(answers, phrases).score()
