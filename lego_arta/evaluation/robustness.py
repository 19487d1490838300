"""``lego-arta robustness``: does a model's score survive unseen verb synonyms? (after ACE)

Two answer files for the same items — one on a task (``state``), one on its synonym variant
(``state_syn``, the same rows asked with held-out verbs; ids carry the variant suffix) — give, per
metric, the original score, the variant score and their gap with a paired bootstrap interval that
resamples whole manuals (rows of one manual are not independent), and per sample how far the two
answers agree (state: the same verdict; object: IoU of the two boxes; scene: ROUGE-1 between them).
Either file may be a predictions JSONL or an lmms-eval sample log (two ``lego-arta eval`` runs).

Not run as a doctest: it needs two runs' predictions and a build.

>>> result = robustness("state", Path("orig.jsonl"), Path("syn.jsonl"), "out/built")   # doctest: +SKIP
>>> result.gaps["f1"], result.consistency                                              # doctest: +SKIP
(-12.5, 81.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from lego_arta.evaluation.results import ROBUSTNESS_FORMAT, metric_label
from lego_arta.evaluation.scoring import DEFAULT_SPLIT, join_answers, load_references, read_predictions, reference_columns
from lego_arta.metrics import DEFAULT_ALPHA, DEFAULT_RESAMPLES, RESAMPLE_UNIT, Interval
from lego_arta.metrics.bootstrap import paired_cluster_gap_ci
from lego_arta.tasks import get_task
from lego_arta.tasks.synonym_variants import SUFFIX


@dataclass(frozen=True)
class RobustnessResult:
    """Scores on both wordings, their gaps (variant − original) with intervals, and answer agreement."""

    task: str
    variant: str
    system: str
    n_rows: int
    original: dict[str, float]
    varied: dict[str, float]
    gaps: dict[str, float]
    intervals: dict[str, Interval]
    consistency: float
    missing: tuple[str, ...]
    paired: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ROBUSTNESS_FORMAT,
            "task": self.task,
            "variant": self.variant,
            "system": self.system,
            "rows": self.n_rows,
            "metrics": {
                name: {
                    "original": self.original[name],
                    "variant": self.varied[name],
                    "gap": self.gaps[name],
                    "gap_low": self.intervals[name].low,
                    "gap_high": self.intervals[name].high,
                }
                for name in self.original
            },
            "consistency": self.consistency,
            "missing": list(self.missing),
            "paired": self.paired,
            "resample_unit": RESAMPLE_UNIT,
        }


def robustness(
    task: str,
    original: Path,
    variant: Path,
    data: Path | str,
    *,
    split: str = DEFAULT_SPLIT,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    system: str | None = None,
) -> RobustnessResult:
    """Compare answers to ``task`` and to its synonym variant, row by row (see the module docstring)."""
    spec, variant_task = get_task(task), f"{task}{SUFFIX.replace('-', '_')}"
    variant_spec = get_task(variant_task)
    if spec.consistency is None:
        raise ValueError(f"task {task!r} defines no answer consistency to compare wordings with")
    base_refs = load_references(task, data, split=split)
    variant_refs = load_references(variant_task, data, split=split)
    by_id = {reference.id: reference for reference in base_refs}
    unmatched = [r.id for r in variant_refs if not r.id.endswith(SUFFIX) or r.id[: -len(SUFFIX)] not in by_id]
    if unmatched:
        raise ValueError(f"{data}: {variant_task} rows without an original {task} row: {unmatched[:5]}")
    paired = [by_id[r.id[: -len(SUFFIX)]] for r in variant_refs]
    first = join_answers(paired, read_predictions(Path(original)).answers)
    second = join_answers(variant_refs, read_predictions(Path(variant)).answers)
    unanswered = set(first.missing) | {row_id[: -len(SUFFIX)] for row_id in second.missing}
    both = len(paired) - len(unanswered)
    if both == 0:
        raise ValueError(
            f"{original} and {variant}: no {task} row of the {split} split has an answer in both files "
            f"({len(first.missing)} of {len(paired)} missing in --original, {len(second.missing)} in --variant): "
            "are they answers of another split or task?"
        )
    columns = reference_columns(task, paired)
    stats_a, stats_b = spec.stats(first.answers, columns), variant_spec.stats(second.answers, reference_columns(variant_task, variant_refs))
    manuals = [reference.manual_id for reference in variant_refs]
    # a metric the rows cannot have (AUROC without probabilities) is absent from the stats: compare the rest
    names = [name for name in spec.metrics if name in stats_a and name in stats_b]
    intervals = {
        name: paired_cluster_gap_ci(stats_a[name], stats_b[name], manuals, n_resamples=n_resamples, seed=seed, alpha=alpha)
        for name in names
    }
    original_scores = {name: stats_a[name].score() for name in names}
    varied_scores = {name: stats_b[name].score() for name in names}
    return RobustnessResult(
        task=task,
        variant=variant_task,
        system=system or Path(original).stem,
        n_rows=len(paired),
        original=original_scores,
        varied=varied_scores,
        gaps={name: varied_scores[name] - original_scores[name] for name in names},
        intervals=intervals,
        consistency=float(np.mean(spec.consistency(first.answers, second.answers))),
        missing=first.missing + second.missing,
        paired=both,
    )


def robustness_table(result: RobustnessResult) -> Table:
    table = Table(title=f"{result.task} vs {result.variant} ({result.n_rows} paired rows); answer agreement {result.consistency:.2f}")
    for column in ("metric", "original", "unseen synonyms", "gap", f"gap {100 * (1 - DEFAULT_ALPHA):.0f}% interval (by manual)"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name in result.original:
        low, high = result.intervals[name]
        table.add_row(
            metric_label(name),
            f"{result.original[name]:.2f}",
            f"{result.varied[name]:.2f}",
            f"{result.gaps[name]:+.2f}",
            f"[{low:+.2f}, {high:+.2f}]",
        )
    return table


def robustness_markdown(documents: Sequence[Mapping[str, Any]], *, title: str | None = "# Synonym robustness") -> str:
    """A Markdown table of robustness results (``RobustnessResult.to_dict()`` documents); ``report`` uses it too."""
    lines = [title, ""] if title else []
    lines += [
        "| system | task | metric | original | unseen synonyms | gap | gap interval (by manual) | answer agreement |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for document in documents:
        for name, numbers in document["metrics"].items():
            lines.append(
                f"| {document['system']} | {document['task']} | {metric_label(name)} | {numbers['original']:.2f} | "
                f"{numbers['variant']:.2f} | {numbers['gap']:+.2f} | [{numbers['gap_low']:+.2f}, {numbers['gap_high']:+.2f}] | "
                f"{document['consistency']:.2f} |"
            )
    return "\n".join(lines) + "\n"
