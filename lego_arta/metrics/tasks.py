"""The reported metric set of each task in one call, with optional bootstrap intervals.

Adapters (the ``evaluate`` modules, lmms-eval task utils, the CLI report) call these so a task's
table row is defined once: scene → T_ACC, BLEU, ROUGE-1; object → E_ACC, IoU, valid-box rate;
state → F1, TNR, FPR, invalid rate (:mod:`lego_arta.metrics.yesno`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lego_arta.metrics.bootstrap import DEFAULT_ALPHA, DEFAULT_RESAMPLES, Interval, SampleStats, bootstrap_ci
from lego_arta.metrics.boxes import iou, iou_stats, valid_box_rate, valid_box_stats
from lego_arta.metrics.entities import e_acc, e_acc_stats, t_acc, t_acc_stats
from lego_arta.metrics.text import bleu, bleu_stats, rouge1, rouge1_stats
from lego_arta.metrics.yesno import state_scores, state_stats

SCENE_METRICS = ("t_acc", "bleu", "rouge1")
OBJECT_METRICS = ("e_acc", "iou", "valid_box_rate")

#: How the toolkit's metrics are cited (the ``evaluate`` modules' ``citation``).
CITATION = """\
@misc{lego_arta_toolkit,
  title = {lego-arta: reference toolkit for the LEGO-ARTA benchmark},
  note  = {Metrics follow the 2024 MSc thesis that introduced the LEGO-ARTA tasks}
}
"""


def scene_scores(answers: Sequence[str], references: Sequence[str], entities: Sequence[Sequence[str]]) -> dict[str, float]:
    """T_ACC, BLEU and ROUGE-1 in percent for scene answers against reference instructions."""
    return {"t_acc": t_acc(answers, entities), "bleu": bleu(answers, references), "rouge1": rouge1(answers, references)}


def scene_stats(
    answers: Sequence[str], references: Sequence[str], entities: Sequence[Sequence[str]]
) -> dict[str, SampleStats]:
    """Bootstrap statistics of the scene metrics."""
    return {
        "t_acc": t_acc_stats(answers, entities),
        "bleu": bleu_stats(answers, references),
        "rouge1": rouge1_stats(answers, references),
    }


def object_scores(
    answers: Sequence[str], boxes: Sequence[Sequence[float]], entities: Sequence[Sequence[str]]
) -> dict[str, float]:
    """E_ACC, IoU and valid-box rate in percent for object answers against true boxes."""
    return {"e_acc": e_acc(answers, entities), "iou": iou(answers, boxes), "valid_box_rate": valid_box_rate(answers)}


def object_stats(
    answers: Sequence[str], boxes: Sequence[Sequence[float]], entities: Sequence[Sequence[str]]
) -> dict[str, SampleStats]:
    """Bootstrap statistics of the object metrics."""
    return {
        "e_acc": e_acc_stats(answers, entities),
        "iou": iou_stats(answers, boxes),
        "valid_box_rate": valid_box_stats(answers),
    }


def intervals(
    stats: Mapping[str, SampleStats],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, Interval]:
    """Bootstrap interval of every metric in ``stats`` (each from the same seed, so the
    metrics of one task are resampled over the same draws)."""
    return {
        name: bootstrap_ci(table, n_resamples=n_resamples, seed=seed, alpha=alpha) for name, table in stats.items()
    }


def add_intervals(
    scores: Mapping[str, float],
    stats: Mapping[str, SampleStats],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, float]:
    """``scores`` plus flat ``<metric>_low`` / ``<metric>_high`` keys, the shape JSON result
    files and ``evaluate`` outputs want."""
    flat = dict(scores)
    for name, (low, high) in intervals(stats, n_resamples=n_resamples, seed=seed, alpha=alpha).items():
        flat[f"{name}_low"] = low
        flat[f"{name}_high"] = high
    return flat


#: Task → (scores function, bootstrap-statistics function); both take the answers, then the
#: task's inputs: scene (references, entities), object (boxes, entities), state (labels).
TASK_FUNCTIONS: dict[str, tuple[Callable[..., dict[str, float]], Callable[..., dict[str, SampleStats]]]] = {
    "scene": (scene_scores, scene_stats),
    "object": (object_scores, object_stats),
    "state": (state_scores, state_stats),
}


def task_scores_with_intervals(
    task: str, answers: Sequence[str], *inputs: Any, n_resamples: int = 0, seed: int = 0, alpha: float = DEFAULT_ALPHA
) -> dict[str, float]:
    """The task's scores; with ``n_resamples`` > 0 also ``<metric>_low`` / ``<metric>_high``."""
    scores, stats = TASK_FUNCTIONS[task]
    result = scores(answers, *inputs)
    if n_resamples:
        return add_intervals(result, stats(answers, *inputs), n_resamples=n_resamples, seed=seed, alpha=alpha)
    return result
