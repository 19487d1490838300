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

from lego_arta.answers import BOX_FORMATS, BoxFrame
from lego_arta.metrics.bootstrap import SampleStats
from lego_arta.metrics.boxes import iou, iou_per_sample, iou_stats, valid_box_per_sample, valid_box_rate, valid_box_stats
from lego_arta.metrics.entities import (
    e_acc,
    e_acc_per_sample,
    e_acc_stats,
    echo_per_sample,
    echo_rate,
    echo_stats,
    t_acc,
    t_acc_per_sample,
    t_acc_stats,
)
from lego_arta.metrics.groups import group_acc, group_acc_per_sample, group_acc_stats
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
from lego_arta.metrics.quadrants import (
    QUADRANT_NAMES,
    predicted_quadrants,
    predicted_share_stats,
    quadrant_acc,
    quadrant_acc_in_stats,
    quadrant_acc_stats,
    quadrant_hits,
)
from lego_arta.metrics.ranking import (
    auroc,
    auroc_stats,
    average_precision,
    average_precision_stats,
    has_probabilities,
    probability_per_sample,
)
from lego_arta.metrics.text import bleu, bleu_per_sample, bleu_stats, rouge1, rouge1_per_sample, rouge1_stats
from lego_arta.metrics.yesno import state_outcomes, state_scores, state_stats, tnr_of_kind, tnr_of_kind_per_sample, tnr_of_kind_stats

Score = Callable[[Sequence[str], Sequence[Any]], float]
Stats = Callable[[Sequence[str], Sequence[Any]], SampleStats]
PerSample = Callable[[Sequence[str], Sequence[Any]], list[Any]]


@dataclass(frozen=True)
class Metric:
    """One reported metric (in percent).

    ``score`` is the metric over all answers; ``stats`` its per-sample sufficient statistics (for
    bootstrap intervals and for aggregating per-sample records computed once); ``per_sample`` the
    value logged per answer under ``sample_key`` (metrics sharing a key share one logged column,
    as F1, TNR and FPR share the confusion ``outcome``). ``applies`` says from the targets whether
    the metric exists on these rows at all (the TNR of a negative kind the rows do not hold, AUROC
    without probabilities): where it does not, every output leaves it **absent** ("–"), never 0.
    """

    name: str
    label: str
    higher_is_better: bool
    score: Score
    stats: Stats
    per_sample: PerSample
    sample_key: str
    applies: Callable[[Sequence[Any]], bool] | None = None

    def applies_to(self, targets: Sequence[Any]) -> bool:
        """Whether the metric exists on rows with these targets (see ``applies``)."""
        return self.applies is None or bool(self.applies(targets))


METRICS: dict[str, Metric] = {}
#: Metric families: ``<prefix>_<value>`` names one metric per value of a column (``tnr_displaced``:
#: the TNR over the negatives of kind ``displaced``); :func:`get_metric` makes them on first use.
FAMILIES: dict[str, Callable[[str], Metric]] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` under its name; a second, different metric of the same name is an error."""
    known = METRICS.get(metric.name)
    if known is not None and known != metric:
        raise ValueError(f"a different metric is already registered as {metric.name!r}")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The registered metric ``name``; the error lists what is registered."""
    if name in METRICS:
        return METRICS[name]
    prefix, _, value = name.partition("_")
    if prefix in FAMILIES and value:
        return register_metric(FAMILIES[prefix](value))
    families = ", ".join(f"{p}_<value>" for p in sorted(FAMILIES))
    raise KeyError(f"no metric {name!r}; registered: {', '.join(sorted(METRICS))}; families: {families}")


def family_metric(prefix: str, value: str) -> str:
    """The name of family ``prefix``'s metric for ``value`` (registered on the spot).

    >>> family_metric("tnr", "displaced"), METRICS["tnr_displaced"].label
    ('tnr_displaced', 'TNR displaced')
    """
    name = f"{prefix}_{value}"
    get_metric(name)
    return name


def is_family_metric(name: str, prefix: str) -> bool:
    """Whether ``name`` is a metric of family ``prefix`` (``tnr_shifted`` of ``tnr``)."""
    head, _, value = name.partition("_")
    return head == prefix and prefix in FAMILIES and bool(value)


def _answers_only(function: Callable[[Sequence[str]], Any]) -> Callable[[Sequence[str], Sequence[Any]], Any]:
    return lambda answers, _targets: function(answers)


def box_frame(image_size: Sequence[float] | None, box_format: str) -> BoxFrame:
    """The frame an answer's boxes are read in: the run's ``box_format``, and the row's image size for ``pixels``.

    >>> box_frame((800, 600), "pixels"), box_frame(None, "gemini").format
    (BoxFrame(format='pixels', width=800, height=600), 'gemini')
    """
    if box_format == "pixels":
        if image_size is None or len(image_size) != 2:
            raise ValueError(f"box format 'pixels' needs each row's image_size (width, height), got {image_size!r}; rebuild the dataset")
        return BoxFrame(box_format, image_size[0], image_size[1])
    return BoxFrame(box_format)


def _is_framed(target: Any, size: int) -> bool:
    return isinstance(target, tuple) and len(target) == size and isinstance(target[-1], str) and target[-1] in BOX_FORMATS


def _framed(function: Callable[..., Any], *, with_value: bool = True) -> Callable[[Sequence[str], Sequence[Any]], Any]:
    """``function(answers, values, frames)`` over targets ``(value, image_size, box_format)`` per row
    (``(image_size, box_format)`` when ``with_value`` is false); plain targets are read in ``auto``."""

    def call(answers: Sequence[str], targets: Sequence[Any]) -> Any:
        size = 3 if with_value else 2
        if targets and all(_is_framed(t, size) for t in targets):
            frames = [box_frame(t[-2], t[-1]) for t in targets]
            return function(answers, [t[0] for t in targets], frames) if with_value else function(answers, frames)
        return function(answers, targets, None) if with_value else function(answers, None)

    return call


def _state(name: str) -> tuple[Score, Stats]:
    return (lambda answers, labels: state_scores(answers, labels)[name]), (lambda answers, labels: state_stats(answers, labels)[name])


for _metric in (
    Metric("t_acc", "T_ACC", True, t_acc, t_acc_stats, t_acc_per_sample, "t_acc"),
    Metric("bleu", "BLEU", True, bleu, bleu_stats, bleu_per_sample, "bleu"),
    Metric("rouge1", "ROUGE-1", True, rouge1, rouge1_stats, rouge1_per_sample, "rouge1"),
    Metric("e_acc", "E_ACC", True, e_acc, e_acc_stats, e_acc_per_sample, "e_acc"),
    Metric("iou", "IoU", True, _framed(iou), _framed(iou_stats), _framed(iou_per_sample), "iou"),
    Metric(
        "valid_box_rate",
        "valid box rate",
        True,
        _framed(valid_box_rate, with_value=False),
        _framed(valid_box_stats, with_value=False),
        _framed(valid_box_per_sample, with_value=False),
        "valid_box",
    ),
    Metric("f1", "F1", True, *_state("f1"), state_outcomes, "outcome"),
    Metric("tnr", "TNR", True, *_state("tnr"), state_outcomes, "outcome"),
    Metric("fpr", "FPR", False, *_state("fpr"), state_outcomes, "outcome"),
    Metric("invalid_rate", "invalid rate", False, *_state("invalid_rate"), state_outcomes, "outcome"),
    Metric("order_accuracy", "accuracy", True, order_accuracy, order_accuracy_stats, order_correct, "order_correct"),
    Metric(
        "order_pair_accuracy",
        "symmetric-pair accuracy",
        True,
        order_pair_accuracy,
        order_pair_accuracy_stats,
        order_pair_per_sample,
        "order_pair_correct",
    ),
    Metric(
        "order_flip_consistency",
        "flip consistency",
        True,
        order_flip_consistency,
        order_flip_consistency_stats,
        order_flip_per_sample,
        "order_flipped",
    ),
    Metric("balanced_acc", "balanced acc", True, *_state("balanced_acc"), state_outcomes, "outcome"),
    Metric("mcc", "MCC", True, *_state("mcc"), state_outcomes, "outcome"),
    Metric("group_acc", "group acc", True, group_acc, group_acc_stats, group_acc_per_sample, "group_right"),
):
    register_metric(_metric)


def _tnr_of_kind(kind: str) -> Metric:
    """TNR over the state negatives of one ``negative_kind`` (targets: the rows' kinds)."""
    return Metric(
        f"tnr_{kind}",
        f"TNR {kind}",
        True,
        lambda answers, kinds: tnr_of_kind(kind, answers, kinds),
        lambda answers, kinds: tnr_of_kind_stats(kind, answers, kinds),
        lambda answers, kinds: tnr_of_kind_per_sample(kind, answers, kinds),
        f"rejected_{kind}",
        lambda kinds: kind in kinds,
    )


FAMILIES["tnr"] = _tnr_of_kind


def _score_of(stats: Stats) -> Score:
    return lambda answers, targets: stats(answers, targets).score()


#: Threshold-free verdict metrics (targets: ``(label, p)`` per row); absent without probabilities.
#: The order task's are their own names so each task keeps its own metric set.
for _prefix in ("", "order_"):
    register_metric(Metric(f"{_prefix}auroc", "AUROC", True, auroc, auroc_stats, probability_per_sample, "p_yes", has_probabilities))
    register_metric(
        Metric(
            f"{_prefix}average_precision",
            "average precision",
            True,
            average_precision,
            average_precision_stats,
            probability_per_sample,
            "p_yes",
            has_probabilities,
        )
    )

register_metric(Metric("echo_rate", "echo rate", False, echo_rate, echo_stats, echo_per_sample, "echo"))
register_metric(
    Metric("quadrant_acc", "quadrant acc", True, _framed(quadrant_acc), _framed(quadrant_acc_stats), _framed(quadrant_hits), "quadrant_hit")
)
for _index, _name in enumerate(QUADRANT_NAMES):
    _in = _framed((lambda q: lambda answers, quadrants, frames: quadrant_acc_in_stats(q, answers, quadrants, frames))(_index))
    _share = _framed((lambda q: lambda answers, _quadrants, frames: predicted_share_stats(q, answers, frames))(_index))
    register_metric(
        Metric(f"quadrant_acc_{_name}", f"quadrant acc {_name}", True, _score_of(_in), _in, _framed(quadrant_hits), "quadrant_hit")
    )
    register_metric(
        Metric(
            f"predicted_{_name}",
            f"boxes in {_name}",
            True,
            _score_of(_share),
            _share,
            _framed(lambda answers, _quadrants, frames: predicted_quadrants(answers, frames)),
            "predicted_quadrant",
        )
    )
