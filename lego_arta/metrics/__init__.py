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
=================  ======  ==========================================================

Each metric has ``*_per_sample`` (per-sample logs) and ``*_stats`` (sufficient statistics for
:func:`bootstrap_ci`) variants. This package imports only numpy and the answer parsers; sacrebleu,
rouge-score and ``evaluate`` load on first use. The ``evaluate`` wrappers live in
``lego_arta/evaluate_modules/<name>/`` (see :func:`evaluate_module_path`).
"""

from __future__ import annotations

from pathlib import Path

from lego_arta.metrics.bootstrap import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    Interval,
    SampleStats,
    bootstrap_ci,
    mean_stats,
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
from lego_arta.metrics.tasks import (
    CITATION,
    OBJECT_METRICS,
    SCENE_METRICS,
    TASK_FUNCTIONS,
    add_intervals,
    intervals,
    object_scores,
    object_stats,
    scene_scores,
    scene_stats,
    task_scores_with_intervals,
)
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

#: Folder of the ``evaluate`` metric modules shipped as package data.
EVALUATE_MODULES_DIR = Path(__file__).resolve().parent.parent / "evaluate_modules"
#: Task name → module folder name (``evaluate.load`` needs ``<folder>/<folder>.py``).
EVALUATE_MODULES = {"scene": "lego_arta_scene", "object": "lego_arta_object", "state": "lego_arta_state"}


def evaluate_module_path(name: str) -> str:
    """Local folder of an ``evaluate`` metric module, for ``evaluate.load(path)`` (works offline).

    ``name`` is a task (``"scene"``, ``"object"``, ``"state"``) or the folder name itself.

    >>> Path(evaluate_module_path("state")).name
    'lego_arta_state'
    """
    folder = EVALUATE_MODULES.get(name, name)
    path = EVALUATE_MODULES_DIR / folder
    if folder not in EVALUATE_MODULES.values() or not (path / f"{folder}.py").is_file():
        known = ", ".join(sorted(EVALUATE_MODULES))
        raise ValueError(f"no evaluate module {name!r} in {EVALUATE_MODULES_DIR}; known tasks: {known}")
    return str(path)


__all__ = [
    "CITATION",
    "TASK_FUNCTIONS",
    "task_scores_with_intervals",
    "DEFAULT_ALPHA",
    "DEFAULT_RESAMPLES",
    "EVALUATE_MODULES",
    "EVALUATE_MODULES_DIR",
    "OBJECT_METRICS",
    "SCENE_METRICS",
    "STATE_METRICS",
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
    "evaluate_module_path",
    "intervals",
    "iou",
    "iou_per_sample",
    "iou_stats",
    "mean_stats",
    "normalise_text",
    "object_scores",
    "object_stats",
    "phrase_found",
    "rouge1",
    "rouge1_per_sample",
    "rouge1_stats",
    "scene_scores",
    "scene_stats",
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
