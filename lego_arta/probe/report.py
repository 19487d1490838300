"""What a probe run writes for people and for ``lego-arta report``: result rows, the Markdown table, where features are cached.

>>> probe_table({"results": [], "features": {"shared_pass": {}, "images_per_task": {"order": 4}}})[0].startswith("| task | probe |")
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Environment variable of the feature cache folder (default: ``~/.cache/lego-arta/probe-features``).
CACHE_ENV = "LEGO_ARTA_PROBE_CACHE"
RESULTS_NAME = "results.json"
REPORT_STEM = "probe"


def default_cache() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lego-arta" / "probe-features"


def result_rows(document: dict[str, Any]) -> list[Any]:
    """The probes' task metrics as :class:`~lego_arta.evaluation.results.ResultRow` values (setting ``frozen features``)."""
    from lego_arta.evaluation.results import ResultRow

    backbone = Path(document["backbone"]["id"]).name or document["backbone"]["id"]
    return [
        ResultRow(
            task=r["task"],
            system=f"{r['probe']} probe · {backbone}",
            setting="frozen features",
            metric=metric,
            value=value,
            n=r["test_items"],
        )
        for r in document["results"]
        for metric, value in r["scores"].items()
    ]


def probe_table(document: dict[str, Any]) -> list[str]:
    """Markdown rows: task, probe, accuracy, reversed, flip rate, per-kind accuracy, parameters."""
    lines = [
        "| task | probe | accuracy | accuracy, frames reversed | flip rate | per kind | trainable parameters |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for r in document["results"]:
        kinds = ", ".join(f"{kind} {value:.1f}" for kind, value in r["per_kind_accuracy"].items())
        lines.append(
            f"| {r['task']} | {r['probe']} | {r['accuracy']:.1f} | {r['accuracy_reversed']:.1f} | {r['flip_rate']:.1f} | {kinds} | {r['trainable_parameters']:,} |"
        )
    shared = document["features"]["shared_pass"]
    if len(document["features"]["images_per_task"]) > 1:
        lines += [
            "",
            f"One backbone pass for all tasks: {shared['images_encoded_once']} images instead of {shared['images_if_separate']} "
            f"({shared['forwards_saved']} forwards, {shared['compute_saved_percent']:.1f}% of the backbone compute, saved).",
        ]
    return lines
