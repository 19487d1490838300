"""The metric registry: every reported metric once, with its functions, direction and label.

Like lm-evaluation-harness's ``register_metric``, a metric is registered once under its name and
found by that name everywhere: task specs list the metrics they report (and which reference column
feeds each), the harness aggregates per-sample statistics through ``stats``, reports print
``label`` and sort by ``higher_is_better``. Every function takes the answers, then one target per
answer (a reference text, an entity list, a box or a label); ``valid_box_rate`` ignores its targets.

>>> metric = METRICS["f1"]
>>> metric.label, metric.higher_is_better
('F1', True)
>>> metric.score(["Yes.", "No.", "Yes."], [True, False, False])
66.66666666666667
>>> metric.stats(["Yes.", "No.", "Yes."], [True, False, False]).score()
66.66666666666667
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lego_arta.metrics.bootstrap import SampleStats
from lego_arta.metrics.boxes import iou, iou_per_sample, iou_stats, valid_box_per_sample, valid_box_rate, valid_box_stats
from lego_arta.metrics.entities import e_acc, e_acc_per_sample, e_acc_stats, t_acc, t_acc_per_sample, t_acc_stats
from lego_arta.metrics.order import (
    order_accuracy,
    order_accuracy_stats,
    order_correct,
    order_flip_consistency,
    order_flip_consistency_stats,
    order_flip_per_sample,
    order_pair_accuracy,
    order_pair_accuracy_stats,
    order_pair_per_sample,
)
from lego_arta.metrics.text import bleu, bleu_per_sample, bleu_stats, rouge1, rouge1_per_sample, rouge1_stats
from lego_arta.metrics.yesno import state_outcomes, state_scores, state_stats

Score = Callable[[Sequence[str], Sequence[Any]], float]
Stats = Callable[[Sequence[str], Sequence[Any]], SampleStats]
PerSample = Callable[[Sequence[str], Sequence[Any]], list[Any]]


@dataclass(frozen=True)
class Metric:
    """One reported metric (in percent).

    ``score`` is the metric over all answers; ``stats`` its per-sample sufficient statistics (for
    bootstrap intervals and for aggregating per-sample records computed once); ``per_sample`` the
    value logged per answer under ``sample_key`` (metrics sharing a key share one logged column,
    as F1, TNR and FPR share the confusion ``outcome``). ``whole_set`` marks a metric whose
    per-sample statistics depend on the other answers (a pair metric needs both orders): the
    harness then scores it over all answers at once instead of summing rows computed one by one.
    """

    name: str
    label: str
    higher_is_better: bool
    score: Score
    stats: Stats
    per_sample: PerSample
    sample_key: str
    whole_set: bool = False


METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` under its name; a second, different metric of the same name is an error."""
    known = METRICS.get(metric.name)
    if known is not None and known != metric:
        raise ValueError(f"a different metric is already registered as {metric.name!r}")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The registered metric ``name``; the error lists what is registered."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"no metric {name!r}; registered: {', '.join(sorted(METRICS))}") from None


def _answers_only(function: Callable[[Sequence[str]], Any]) -> Callable[[Sequence[str], Sequence[Any]], Any]:
    return lambda answers, _targets: function(answers)


def _state(name: str) -> tuple[Score, Stats]:
    return (lambda answers, labels: state_scores(answers, labels)[name]), (lambda answers, labels: state_stats(answers, labels)[name])


for _metric in (
    Metric("t_acc", "T_ACC", True, t_acc, t_acc_stats, t_acc_per_sample, "t_acc"),
    Metric("bleu", "BLEU", True, bleu, bleu_stats, bleu_per_sample, "bleu"),
    Metric("rouge1", "ROUGE-1", True, rouge1, rouge1_stats, rouge1_per_sample, "rouge1"),
    Metric("e_acc", "E_ACC", True, e_acc, e_acc_stats, e_acc_per_sample, "e_acc"),
    Metric("iou", "IoU", True, iou, iou_stats, iou_per_sample, "iou"),
    Metric("valid_box_rate", "valid box rate", True, _answers_only(valid_box_rate), _answers_only(valid_box_stats),
           _answers_only(valid_box_per_sample), "valid_box"),  # fmt: skip
    Metric("f1", "F1", True, *_state("f1"), state_outcomes, "outcome"),
    Metric("tnr", "TNR", True, *_state("tnr"), state_outcomes, "outcome"),
    Metric("fpr", "FPR", False, *_state("fpr"), state_outcomes, "outcome"),
    Metric("invalid_rate", "invalid rate", False, *_state("invalid_rate"), state_outcomes, "outcome"),
    Metric("order_accuracy", "accuracy", True, order_accuracy, order_accuracy_stats, order_correct, "order_correct"),
    Metric("order_pair_accuracy", "symmetric-pair accuracy", True, order_pair_accuracy, order_pair_accuracy_stats,
           order_pair_per_sample, "order_pair_correct", whole_set=True),  # fmt: skip
    Metric("order_flip_consistency", "flip consistency", True, order_flip_consistency, order_flip_consistency_stats,
           order_flip_per_sample, "order_flipped", whole_set=True),  # fmt: skip
):
    register_metric(_metric)
