"""The Markdown report of ``qa score`` and its two charts, beside the study's numbers.

Charts are drawn with the Agg backend and saved without the Software stamp, so the same ratings
give byte-identical files (as :mod:`lego_arta.evaluation.report` does for results).

Not run as a doctest: it needs scored ratings.

>>> render_report(result, "qa_distributions.png", "qa_agreement.png").splitlines()[0]  # doctest: +SKIP
'# Quality assurance: questionnaire qa-…'
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from lego_arta.study import QA_KAPPA

if TYPE_CHECKING:
    from lego_arta.qa.scoring import QAResult

CHART_DPI = 100
AGREEMENT_LABELS = {
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "cohen_kappa_mean": "Cohen's kappa (pairwise mean)",
}
AGREEMENT_COLOURS = {"fleiss_kappa": "#2a7ae2", "krippendorff_alpha": "#e2892a", "cohen_kappa_mean": "#3a9d5d"}


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})  # type: ignore[attr-defined]
    return buffer.getvalue()


def distributions_png(result: QAResult) -> bytes:
    """One panel per (task, criterion): the share of scores at each level, over kept raters."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    keys = list(result.matrices)
    figure = Figure(figsize=(3.2 * max(len(keys), 1), 3.0))
    for index, key in enumerate(keys):
        axes = figure.add_subplot(1, max(len(keys), 1), index + 1)
        matrix, labels = result.matrices[key], result.levels[key]
        counts = np.bincount(matrix.ravel(), minlength=len(labels)) if matrix.size else np.zeros(len(labels), int)
        shares = counts / max(int(counts.sum()), 1)
        axes.bar(range(len(labels)), shares, color="#2a7ae2")
        axes.set_xticks(range(len(labels)), [f"{n} {label}" for n, label in enumerate(labels)], fontsize=7)
        axes.set_ylim(0, 1)
        axes.set_title(f"{key[0]}: {key[1]}", fontsize=9)
        axes.set_ylabel("share of scores", fontsize=8)
    figure.tight_layout()
    return _png(figure)


def agreement_png(result: QAResult) -> bytes:
    """Grouped bars of the three agreement statistics per criterion, the study's kappa dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = [(task, criterion, stats) for task, criteria in result.scores["tasks"].items() for criterion, stats in criteria.items()]
    figure = Figure(figsize=(max(6.0, 1.6 * len(rows)), 3.6))
    axes = figure.add_subplot()
    width = 0.26
    for offset, key in enumerate(AGREEMENT_LABELS):
        values = [stats[key] if stats[key] is not None else 0.0 for _, _, stats in rows]
        axes.bar(np.arange(len(rows)) + (offset - 1) * width, values, width, label=AGREEMENT_LABELS[key], color=AGREEMENT_COLOURS[key])
    axes.axhline(QA_KAPPA, color="black", linestyle="--", linewidth=0.8, label=f"study kappa {QA_KAPPA}")
    axes.set_xticks(range(len(rows)), [f"{t}\n{c}" for t, c, _ in rows], fontsize=8)
    axes.set_ylim(min(-0.2, *(s[k] or 0.0 for _, _, s in rows for k in AGREEMENT_LABELS)), 1.05)
    axes.set_ylabel("agreement")
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(AGREEMENT_LABELS) + 1, frameon=False)
    figure.tight_layout()
    return _png(figure)


def render_report(result: QAResult, distribution_chart: str, agreement_chart: str) -> str:
    """The report: scores beside the study, raters and their checks, the flagged pairs, the charts."""
    scores = result.scores
    study = scores["study"]["means"]
    lines = [
        f"# Quality assurance: questionnaire {scores['questionnaire']}",
        "",
        "Means over the non-check items and the kept raters, with 95% bootstrap intervals over items; "
        f"agreement on the same scores. The study reports kappa ≈ {scores['study']['kappa']}.",
        "",
        "| task | criterion | mean [95% CI] | study mean | Fleiss' kappa | Krippendorff's alpha | Cohen's kappa (mean) | items | raters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, criteria in scores["tasks"].items():
        for criterion, s in criteria.items():
            interval = f"{_number(s['mean'])} [{_number(s['ci_low'])}, {_number(s['ci_high'])}]"
            lines.append(
                f"| {task} | {criterion} | {interval} | {_number(study.get(task, {}).get(criterion))} | "
                f"{_number(s['fleiss_kappa'])} | {_number(s['krippendorff_alpha'])} | {_number(s['cohen_kappa_mean'])} | "
                f"{s['n_items']} | {s['n_raters']} |"
            )
    tasks = list(scores["tasks"])
    lines += [
        "",
        "## Raters and comprehension checks",
        "",
        scores["exclusion_rule"],
        "",
        "| rater | file | " + " | ".join(f"{t} checks passed" for t in tasks) + " | excluded from | median seconds per item |",
        "|---|---|" + "---|" * len(tasks) + "---|---|",
    ]
    for rater, info in scores["raters"].items():
        passed = " | ".join(_number(info["check_pass_rate"].get(t)) for t in tasks)
        lines.append(
            f"| {rater} | {info['file']} | {passed} | {', '.join(info['excluded_from']) or '–'} | {_number(info['median_seconds'], 1)} |"
        )
    pairs = result.flagged["pairs"]
    lines += [
        "",
        "## Flagged pairs",
        "",
        f"{len(pairs)} pair(s): {result.flagged['rule']}. `lego-arta build … --exclude flagged.json` drops them.",
        "",
    ]
    if pairs:
        lines += ["| task | item | pair id | why |", "|---|---|---|---|"]
        for pair in pairs:
            why = "; ".join(f"{r['criterion']} {r['score']} {r['label']} ({r['votes']}/{r['raters']})" for r in pair["reasons"])
            lines.append(f"| {pair['task']} | {pair['item']} | `{pair['pair_id']}` | {why} |")
    lines += [
        "",
        "## Charts",
        "",
        f"![score distributions]({distribution_chart})",
        "",
        f"![agreement per criterion]({agreement_chart})",
        "",
    ]
    return "\n".join(lines)
