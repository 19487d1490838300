"""LEGO-ARTA metrics, defined once (SPEC §4); every number is in percent.

=================  ======  ==========================================================
metric             task    definition
=================  ======  ==========================================================
``t_acc``          scene   reference theme/colorinfo phrases found in the answer (micro)
``bleu``           scene   sacrebleu corpus BLEU on normalised text
``rouge1``         scene   mean rouge-score ROUGE-1 F1 on normalised text
``e_acc``          object  query theme/colorinfo phrases named in the predicted label (micro)
``iou``            object  mean IoU of the first parsed box, 0 without a box
``valid_box_rate`` object  answers with a usable box
``state_scores``   state   F1, TNR, FPR (positive = Yes, unreadable = wrong), invalid rate
``order_*``        order   accuracy, symmetric-pair accuracy, flip consistency (:mod:`.order`)
``state_scores``   state   F1, TNR, FPR, balanced acc, MCC (positive = Yes, unreadable = wrong), invalid rate
``group_acc``      state   states whose real image gets Yes and every negative No
``tnr_<kind>``     state   TNR over the negatives of one ``negative_kind`` (a metric family)
=================  ======  ==========================================================

Each metric has ``*_per_sample`` (per-sample logs) and ``*_stats`` (sufficient statistics for
:func:`bootstrap_ci`) variants, and is registered once in :mod:`lego_arta.metrics.registry`; which
metrics a task reports is its spec's business (:mod:`lego_arta.tasks`). This package imports only numpy and the answer parsers; sacrebleu,
rouge-score and ``evaluate`` load on first use. The ``evaluate`` wrappers live in
``lego_arta/evaluate_modules/<name>/`` (see :func:`evaluate_module_path`).
"""

from __future__ import annotations

from pathlib import Path

from lego_arta.metrics.bootstrap import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    RESAMPLE_UNIT,
    Interval,
    SampleStats,
    add_intervals,
    bootstrap_ci,
    intervals,
    mean_stats,
    paired_cluster_gap_ci,
    paired_cluster_permutation_p,
)
from lego_arta.metrics.boxes import (
    box_iou,
    iou,
    iou_per_sample,
    iou_stats,
    valid_box_per_sample,
    valid_box_rate,
    valid_box_stats,
)
from lego_arta.metrics.entities import (
    e_acc,
    e_acc_per_sample,
    e_acc_stats,
    phrase_found,
    t_acc,
    t_acc_per_sample,
    t_acc_stats,
)
from lego_arta.metrics.registry import METRICS, Metric, get_metric, register_metric
from lego_arta.metrics.text import (
    bleu,
    bleu_per_sample,
    bleu_stats,
    normalise_text,
    rouge1,
    rouge1_per_sample,
    rouge1_stats,
)
from lego_arta.metrics.yesno import STATE_METRICS, state_outcomes, state_scores, state_stats

#: Folder of the ``evaluate`` metric modules shipped as package data, one ``lego_arta_<task>/`` per task.
EVALUATE_MODULES_DIR = Path(__file__).resolve().parent.parent / "evaluate_modules"


#: The module serving every task, chosen by the config name (``evaluate.load(path, "order")``).
GENERIC_EVALUATE_MODULE = "task"


def evaluate_module_path(task: str) -> str:
    """Local folder of an ``evaluate`` metric module, for ``evaluate.load(path)`` (works offline, from any directory).

    ``"scene"``, ``"object"``, ``"state"`` give the study's task-specific modules; ``"task"`` gives
    the module for any registered task, which takes the task as the config name
    (``evaluate.load(evaluate_module_path("task"), "order")``; see :func:`evaluate_module_for`).

    >>> Path(evaluate_module_path("state")).name
    'lego_arta_state'
    >>> Path(evaluate_module_path("task")).name
    'lego_arta_task'
    """
    folder = task if task.startswith("lego_arta_") else f"lego_arta_{task}"
    path = EVALUATE_MODULES_DIR / folder
    if not (path / f"{folder}.py").is_file():
        known = ", ".join(sorted(p.name.removeprefix("lego_arta_") for p in EVALUATE_MODULES_DIR.glob("lego_arta_*")))
        raise ValueError(
            f"no evaluate module {task!r} in {EVALUATE_MODULES_DIR}; known tasks: {known} "
            f"(any task: evaluate.load(evaluate_module_path({GENERIC_EVALUATE_MODULE!r}), TASK))"
        )
    return str(path)


def evaluate_module_for(task: str) -> tuple[str, str | None]:
    """``(path, config_name)`` that ``evaluate.load`` takes for ``task``: its own module when it has
    one, else the generic module with the task as config (every registered task has one of the two).

    >>> [(Path(path).name, config) for path, config in map(evaluate_module_for, ("state", "order"))]
    [('lego_arta_state', None), ('lego_arta_task', 'order')]
    """
    folder = EVALUATE_MODULES_DIR / f"lego_arta_{task}"
    if task != GENERIC_EVALUATE_MODULE and (folder / f"{folder.name}.py").is_file():
        return str(folder), None
    from lego_arta.tasks import get_task

    return evaluate_module_path(GENERIC_EVALUATE_MODULE), get_task(task).name


__all__ = [
    "METRICS",
    "STATE_METRICS",
    "Metric",
    "get_metric",
    "register_metric",
    "DEFAULT_ALPHA",
    "DEFAULT_RESAMPLES",
    "RESAMPLE_UNIT",
    "paired_cluster_gap_ci",
    "paired_cluster_permutation_p",
    "EVALUATE_MODULES_DIR",
    "Interval",
    "SampleStats",
    "add_intervals",
    "bleu",
    "bleu_per_sample",
    "bleu_stats",
    "bootstrap_ci",
    "box_iou",
    "e_acc",
    "e_acc_per_sample",
    "e_acc_stats",
    "evaluate_module_for",
    "evaluate_module_path",
    "GENERIC_EVALUATE_MODULE",
    "intervals",
    "iou",
    "iou_per_sample",
    "iou_stats",
    "mean_stats",
    "normalise_text",
    "phrase_found",
    "rouge1",
    "rouge1_per_sample",
    "rouge1_stats",
    "state_outcomes",
    "state_scores",
    "state_stats",
    "t_acc",
    "t_acc_per_sample",
    "t_acc_stats",
    "valid_box_per_sample",
    "valid_box_rate",
    "valid_box_stats",
]
