"""``lego-arta qa score``: validated ratings → qa_scores.json, flagged.json and a Markdown report.

Per task and criterion, over the non-check items and the raters kept by the exclusion rule, a
flat object: the mean score with a seeded bootstrap interval over items, Fleiss' kappa,
Krippendorff's alpha, the mean pairwise Cohen's kappa, and how many items and raters it covers.
Checks are left out of every statistic; they decide which raters count (:data:`EXCLUSION_RULE`).
The study's means and kappa sit beside ours in the file and the report.

``flagged.json`` lists the pair ids the majority of kept raters judged bad (box Inaccurate,
entity Irrelevant, state relevance Low: each criterion's ``bad`` level); ``lego-arta build
--exclude flagged.json`` drops them.

Not run as a doctest: it needs a questionnaire and raters' files.

>>> result = score_ratings(Path("out/qa/items.json"), [Path("a.json"), Path("b.json")])  # doctest: +SKIP
>>> result.scores["tasks"]["object"]["boundary_precision"]["fleiss_kappa"]                # doctest: +SKIP
0.58
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from lego_arta.atomic import atomic_write_bytes, atomic_write_text
from lego_arta.inputs import read_json_file
from lego_arta.metrics.bootstrap import DEFAULT_ALPHA, DEFAULT_RESAMPLES, bootstrap_ci
from lego_arta.qa.agreement import agreement
from lego_arta.qa.criteria import CRITERIA
from lego_arta.qa.formats import Items, Ratings, load_items, load_ratings
from lego_arta.study import QA_KAPPA, study_qa_means

SCORES_NAME = "qa_scores.json"
FLAGGED_NAME = "flagged.json"
REPORT_NAME = "report.md"
DISTRIBUTION_CHART = "qa_distributions.png"
AGREEMENT_CHART = "qa_agreement.png"
#: A rater counts for a task when passing at least this share of its checks.
DEFAULT_MIN_CHECK_PASS = float(Fraction(2, 3))
EXCLUSION_RULE = (
    "A rater's scores of a task are left out of that task's means, agreement and flags when the rater passes "
    "fewer than {threshold:.0%} of the task's comprehension checks (a check passes when every criterion with a "
    "known answer gets that answer). With the study's 3 object and 5 state checks, one missed check is forgiven."
)
#: Agreement statistics, in report order.
AGREEMENT_KEYS = ("fleiss_kappa", "krippendorff_alpha", "cohen_kappa_mean")


@dataclass
class QAResult:
    """Everything ``qa score`` writes, plus the score matrices the charts draw."""

    scores: dict[str, Any]
    flagged: dict[str, Any]
    matrices: dict[tuple[str, str], np.ndarray]
    levels: dict[tuple[str, str], tuple[str, ...]]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def check_pass_rates(items: Items, ratings: Ratings) -> dict[str, float | None]:
    """Per task, the share of its checks this rater answered as known (``None``: the task has no checks)."""
    rates: dict[str, float | None] = {}
    for task in items.tasks:
        checks = [item for item in items.of_task(task) if item.check]
        passed = [all(ratings.scores[item.item, c] == s for c, s in (item.expected or {}).items()) for item in checks]
        rates[task] = sum(passed) / len(passed) if passed else None
    return rates


def criterion_stats(
    matrix: np.ndarray, levels: int, *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES, alpha: float = DEFAULT_ALPHA
) -> dict[str, Any]:
    """The flat object of one criterion from its items × raters matrix.

    >>> criterion_stats(np.array([[1, 1], [0, 0], [1, 1]]), 2, n_resamples=50)["mean"]
    0.666667
    """
    n_items, n_raters = matrix.shape
    if n_items == 0 or n_raters == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, **dict.fromkeys(AGREEMENT_KEYS), "n_items": n_items, "n_raters": n_raters}
    per_item = matrix.mean(axis=1)
    low, high = bootstrap_ci(list(per_item), n_resamples=n_resamples, seed=seed, alpha=alpha)
    stats = agreement(matrix, levels) if n_raters > 1 else dict.fromkeys(AGREEMENT_KEYS)
    return {
        "mean": _rounded(per_item.mean()),
        "ci_low": _rounded(low),
        "ci_high": _rounded(high),
        **{key: _rounded(stats[key]) for key in AGREEMENT_KEYS},
        "n_items": n_items,
        "n_raters": n_raters,
    }


def _bad_levels(items: Items, task: str) -> dict[str, int]:
    """Criterion → the level that flags a pair (from the package's criteria, when it declares the task)."""
    known = {c.name: c.bad for c in CRITERIA.get(task, ()) if c.bad is not None}
    return {name: level for name, level in known.items() if name in items.criteria[task]}


def score_ratings(
    items_path: Path,
    ratings_paths: list[Path],
    *,
    min_check_pass: float = DEFAULT_MIN_CHECK_PASS,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> QAResult:
    """Validate every file, apply the exclusion rule, and compute the statistics and flags."""
    if not 0.0 <= min_check_pass <= 1.0:
        raise ValueError(f"qa score: --min-check-pass must lie in [0, 1], got {min_check_pass}")
    items = load_items(items_path)
    raters = load_ratings(list(ratings_paths), items)
    rates = {r.rater: check_pass_rates(items, r) for r in raters}
    kept = {
        task: [r for r in raters if rates[r.rater][task] is None or rates[r.rater][task] >= min_check_pass - 1e-12]  # type: ignore[operator]
        for task in items.tasks
    }
    empty = [task for task in items.tasks if not kept[task]]
    if empty:  # no statistic can be computed from nobody: say so before anything is written
        rates_shown = "; ".join(f"{r.rater}: {', '.join(f'{t} {_rounded(v)}' for t, v in rates[r.rater].items())}" for r in raters[:10])
        raise ValueError(
            f"qa score: every rater is excluded from {', '.join(empty)} (check pass rate below {min_check_pass:g}; {rates_shown}); "
            "nothing written. Collect more ratings or lower --min-check-pass"
        )
    tasks: dict[str, dict[str, Any]] = {}
    matrices: dict[tuple[str, str], np.ndarray] = {}
    levels: dict[tuple[str, str], tuple[str, ...]] = {}
    flagged: list[dict[str, Any]] = []
    for task in items.tasks:
        rated = [item for item in items.of_task(task) if not item.check]
        tasks[task] = {}
        for criterion, labels in items.criteria[task].items():
            matrix = np.array([[r.scores[item.item, criterion] for r in kept[task]] for item in rated], dtype=int).reshape(
                len(rated), len(kept[task])
            )
            matrices[task, criterion], levels[task, criterion] = matrix, labels
            tasks[task][criterion] = criterion_stats(matrix, len(labels), seed=seed, n_resamples=n_resamples)
        bad = _bad_levels(items, task)
        for row, item in enumerate(rated):
            reasons = []
            for criterion, level in bad.items():
                votes = int(np.count_nonzero(matrices[task, criterion][row] == level))
                if kept[task] and 2 * votes > len(kept[task]):
                    reasons.append(
                        {
                            "criterion": criterion,
                            "score": level,
                            "label": levels[task, criterion][level],
                            "votes": votes,
                            "raters": len(kept[task]),
                        }
                    )
            if reasons and item.pair_id is not None:
                flagged.append({"pair_id": item.pair_id, "task": task, "item": item.item, "reasons": reasons})
    study = study_qa_means()
    scores = {
        "questionnaire": items.questionnaire,
        "min_check_pass": round(min_check_pass, 6),
        "exclusion_rule": EXCLUSION_RULE.format(threshold=min_check_pass),
        "tasks": tasks,
        "raters": {
            r.rater: {
                "file": r.path.name,
                "check_pass_rate": {task: _rounded(rate) for task, rate in rates[r.rater].items()},
                "excluded_from": [task for task in items.tasks if r not in kept[task]],
                "median_seconds": round(median(r.seconds.values()), 3) if r.seconds else None,
            }
            for r in raters
        },
        "study": {
            "means": {task: {c: mean for (t, c), mean in study.items() if t == task} for task in dict.fromkeys(t for t, _ in study)},
            "kappa": QA_KAPPA,
        },
    }
    document = {
        "questionnaire": items.questionnaire,
        "rule": "pair ids a strict majority of kept raters gave a criterion's bad level: "
        + ", ".join(f"{t}/{c} = {lv}" for t in items.tasks for c, lv in _bad_levels(items, t).items()),
        "pairs": flagged,
    }
    return QAResult(scores, document, matrices, levels)


def write_outputs(result: QAResult, out: Path) -> None:
    """qa_scores.json, flagged.json, report.md and its two charts, each written atomically."""
    from lego_arta.qa.report import agreement_png, distributions_png, render_report

    out = Path(out)
    atomic_write_text(out / SCORES_NAME, json.dumps(result.scores, indent=1, sort_keys=True) + "\n")
    atomic_write_text(out / FLAGGED_NAME, json.dumps(result.flagged, indent=1, sort_keys=True) + "\n")
    atomic_write_bytes(out / DISTRIBUTION_CHART, distributions_png(result))
    atomic_write_bytes(out / AGREEMENT_CHART, agreement_png(result))
    atomic_write_text(out / REPORT_NAME, render_report(result, DISTRIBUTION_CHART, AGREEMENT_CHART))


def read_flagged(path: Path) -> set[str]:
    """The pair ids of a flagged.json (what ``lego-arta build --exclude`` drops)."""
    document = read_json_file(Path(path), "flagged file")
    pairs = document.get("pairs") if isinstance(document, dict) else None
    if not isinstance(pairs, list) or not all(isinstance(p, dict) and isinstance(p.get("pair_id"), str) for p in pairs):
        raise ValueError(f"{path}: expected {{'pairs': [{{'pair_id': ...}}, ...]}} as qa score writes it")
    return {p["pair_id"] for p in pairs}
