"""``lego-arta compare``: is run B better than run A on the same split, or is the gap noise?

Two answer files for the same rows (without vs with LoRA, original vs synonym-augmented training,
two prompts) give, per metric, both scores, their difference B − A with a cluster-bootstrap
interval and a paired permutation p-value. Both resample **manuals**: rows of one manual share
images and states, so they are not independent draws (:mod:`lego_arta.metrics.bootstrap`). The
interval is :func:`~lego_arta.metrics.bootstrap.paired_cluster_gap_ci` (the one ``lego-arta
robustness`` uses); the p-value swaps the A and B answers of whole manuals
(:func:`~lego_arta.metrics.bootstrap.paired_cluster_permutation_p`), exactly when there are few
manuals. With ``k`` test manuals the smallest possible p-value is ``2 / 2**k``: a split of two
manuals cannot show any gap to be significant, and the table says how many manuals there were.

Either file may be a predictions JSONL or an lmms-eval sample log; the task is read from the
row ids (the config whose split holds them) unless ``--task`` names it. Rows one run did not
answer count as wrong for that run, as in ``lego-arta score``.

Not run as a doctest: it needs two runs' predictions and a build.

>>> result = compare_runs(Path("base.jsonl"), Path("lora.jsonl"), "out/lego-arta")   # doctest: +SKIP
>>> result.metrics["balanced_acc"]["gap"], result.metrics["balanced_acc"]["p_value"]   # doctest: +SKIP
(12.5, 0.004)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from lego_arta.dataset.benchmark import UNKNOWN, data_benchmark_version
from lego_arta.evaluation.built_splits import config_names, read_columns
from lego_arta.evaluation.results import document_benchmark_version, metric_label
from lego_arta.evaluation.scoring import ABSENT, DEFAULT_SPLIT, join_answers, load_references, read_predictions, reference_columns
from lego_arta.metrics import DEFAULT_ALPHA, DEFAULT_RESAMPLES, RESAMPLE_UNIT, paired_cluster_gap_ci, paired_cluster_permutation_p
from lego_arta.tasks import TASKS, get_task


@dataclass(frozen=True)
class Comparison:
    """Per metric: ``a``, ``b``, ``gap`` (b − a), ``gap_low``/``gap_high`` and ``p_value``; and the counts."""

    task: str
    split: str
    rows: int
    manuals: int
    metrics: dict[str, dict[str, float]]
    missing_a: int
    missing_b: int
    n_resamples: int
    seed: int
    alpha: float
    #: The benchmark version of the data and of each run (``a``, ``b``), where known.
    benchmark_versions: Mapping[str, str] = field(default_factory=dict)
    box_format: str = "auto"
    #: Declared metrics that do not exist for one run or both (AUROC without probabilities): shown "–".
    absent: tuple[str, ...] = ()

    def to_dict(self, run_a: str, run_b: str) -> dict[str, Any]:
        return {
            "benchmark_version": dict(self.benchmark_versions),
            "task": self.task,
            "split": self.split,
            "rows": self.rows,
            "manuals": self.manuals,
            "run_a": run_a,
            "run_b": run_b,
            "missing_a": self.missing_a,
            "missing_b": self.missing_b,
            "metrics": self.metrics,
            "absent": list(self.absent),
            "box_format": self.box_format,
            "bootstrap": {"resamples": self.n_resamples, "seed": self.seed, "alpha": self.alpha, "resample_unit": RESAMPLE_UNIT},
            "permutation": {
                "resamples": self.n_resamples,
                "seed": self.seed,
                "unit": RESAMPLE_UNIT,
                "exact": 2**self.manuals <= self.n_resamples,
            },
        }


def infer_task(data: Path | str, answers: Mapping[str, str], split: str = DEFAULT_SPLIT) -> str:
    """The task whose ``split`` holds the most of these answer ids; an error when none holds any."""
    available = set(config_names(data))
    overlap = {}
    for task in TASKS:
        if task in available:
            ids = set(read_columns(data, task, split, ["id"])["id"])
            overlap[task] = len(ids & set(answers))
    best = max(overlap, key=lambda task: overlap[task], default=None)
    if best is None or not overlap[best]:
        raise ValueError(f"{data}: no config's {split} split holds any of the answer ids; name the task with --task")
    return best


#: lmms-eval's per-sample log and results file of one run: ``<time>_samples_<task>.jsonl`` beside ``<time>_results.json``.
_LMMS_SAMPLES = re.compile(r"(?P<stem>.+)_samples_(?P<task>.+)\.jsonl")
#: ``lego-arta score --out`` writes ``<name>-<task>.samples.jsonl`` beside ``<name>-<task>.results.json``.
_SCORE_SAMPLES = ".samples.jsonl"


def run_benchmark_version(path: Path) -> str:
    """The benchmark version an answer file was computed on, from the results file written beside it
    (``lego-arta score``'s or lmms-eval's); :data:`UNKNOWN` for a file that has none (plain predictions).

    >>> run_benchmark_version(Path("answers.jsonl"))
    'unknown'
    """
    path = Path(path)
    sibling = None
    if path.name.endswith(_SCORE_SAMPLES):
        sibling = path.with_name(path.name[: -len(_SCORE_SAMPLES)] + ".results.json")
    elif match := _LMMS_SAMPLES.fullmatch(path.name):
        sibling = path.with_name(f"{match['stem']}_results.json")
    if sibling is None or not sibling.is_file():
        return UNKNOWN
    try:
        document = json.loads(sibling.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{sibling}: unreadable results file beside {path.name} ({error})") from error
    return document_benchmark_version(document) if isinstance(document, Mapping) else UNKNOWN


def check_versions(versions: Mapping[str, str], *, force: bool) -> None:
    """Refuse runs (and data) on different benchmark versions unless ``force``: their rows ask different things.

    >>> check_versions({"data": "1.0.0", "a": "unknown", "b": "1.0.0"}, force=False)
    """
    known = {value for value in versions.values() if value != UNKNOWN}
    if len(known) > 1 and not force:
        listed = ", ".join(f"{name} {value}" for name, value in versions.items())
        raise ValueError(
            f"runs on different benchmark versions ({listed}); their numbers are not comparable (pass --force to compare anyway)"
        )


def compare_runs(
    run_a: Path,
    run_b: Path,
    data: Path | str,
    *,
    task: str | None = None,
    split: str = DEFAULT_SPLIT,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    force: bool = False,
    box_format: str = "auto",
) -> Comparison:
    """Compare two answer files on one split of a built dataset (see the module docstring); runs on
    different benchmark versions are refused unless ``force`` (:func:`check_versions`).

    A metric is compared only where it exists for both runs: AUROC and average precision need
    both files to carry ``p_yes``; otherwise they are absent from the comparison, never 0.
    """
    versions = {"data": data_benchmark_version(data), "a": run_benchmark_version(Path(run_a)), "b": run_benchmark_version(Path(run_b))}
    check_versions(versions, force=force)
    read_a, read_b = read_predictions(Path(run_a)), read_predictions(Path(run_b))
    task = task or infer_task(data, read_a.answers, split)
    spec = get_task(task)
    references = load_references(task, data, split=split)
    first, second = join_answers(references, read_a.answers), join_answers(references, read_b.answers)
    columns_a = reference_columns(task, references, box_format=box_format, p_yes=read_a.p_yes)
    columns_b = reference_columns(task, references, box_format=box_format, p_yes=read_b.p_yes)
    shared = [name for name in spec.metrics_for(columns_a) if name in spec.metrics_for(columns_b)]
    stats_a, stats_b = spec.stats(first.answers, columns_a, shared), spec.stats(second.answers, columns_b, shared)
    manuals = [reference.manual_id for reference in references]
    metrics: dict[str, dict[str, float]] = {}
    for name in shared:
        a, b = stats_a[name].score(), stats_b[name].score()
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        low, high = paired_cluster_gap_ci(stats_a[name], stats_b[name], manuals, n_resamples=n_resamples, seed=seed, alpha=alpha)
        p_value = paired_cluster_permutation_p(stats_a[name], stats_b[name], manuals, n_resamples=n_resamples, seed=seed)
        metrics[name] = {"a": a, "b": b, "gap": b - a, "gap_low": low, "gap_high": high, "p_value": p_value}
    return Comparison(
        task=task,
        split=split,
        rows=len(references),
        manuals=len(set(manuals)),
        metrics=metrics,
        missing_a=len(first.missing),
        missing_b=len(second.missing),
        n_resamples=n_resamples,
        seed=seed,
        alpha=alpha,
        benchmark_versions=versions,
        box_format=box_format,
        absent=tuple(name for name in spec.metrics if name not in metrics),
    )


def compare_table(result: Comparison, name_a: str, name_b: str) -> Table:
    """A rich table: metric, A, B, gap, its interval by manual, p-value."""
    title = f"{name_b} vs {name_a}: {result.task} ({result.split}, {result.rows} rows, {result.manuals} manuals)"
    table = Table(title=escape(title))
    for column in (
        "metric",
        escape(name_a),
        escape(name_b),
        "gap (B − A)",
        f"{100 * (1 - result.alpha):.0f}% interval (by manual)",
        "p (by manual)",
    ):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, row in result.metrics.items():
        table.add_row(
            escape(metric_label(name)),
            f"{row['a']:.2f}",
            f"{row['b']:.2f}",
            f"{row['gap']:+.2f}",
            f"[{row['gap_low']:+.2f}, {row['gap_high']:+.2f}]",
            f"{row['p_value']:.3f}",
        )
    for name in result.absent:
        table.add_row(escape(metric_label(name)), *[ABSENT] * 5)
    return table
