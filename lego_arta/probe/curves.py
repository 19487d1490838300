"""How many epochs each probe trained for, and why: the held-out table and chart of ``probe.md``.

The epoch count is chosen on held-out train manuals (:func:`lego_arta.probe.train.choose_epochs`);
the report shows the choice beside the numbers it produced, so a reader can tell a probe that
learned nothing from one that was stopped too early. The chart is drawn with the Agg backend and
saved without the Software stamp, so the same results give a byte-identical file.

>>> result = {"task": "order", "probe": "step", "epochs": {"chosen": 2, "max": 200, "held_out_manuals": ["m1"], "held_out_items": 8,
...           "curve": [{"epoch": 1, "loss": 0.7, "accuracy": 50.0}, {"epoch": 2, "loss": 0.6, "accuracy": 62.5},
...                     {"epoch": 3, "loss": 0.65, "accuracy": 62.5}]}}
>>> epochs_table({"results": [result]})[2]
'| order · step | 1 (8 items) | 2 of 200 | 3 | 0.600 | 62.5 |'
>>> heldout_chart({"results": [result]})[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

#: File name of the held-out chart beside ``probe.md``.
CHART_NAME = "probe-heldout.png"
CHART_DPI = 100


def epochs_table(document: Mapping[str, Any]) -> list[str]:
    """Markdown rows: per task and probe, the held-out manuals, the chosen epoch, where the search stopped, and the held-out loss and accuracy there."""
    lines = [
        "| task · probe | held-out manuals | epochs chosen | epochs run | held-out loss | held-out accuracy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in document["results"]:
        epochs = r["epochs"]
        if not epochs["curve"]:
            lines.append(f"| {r['task']} · {r['probe']} | none | {epochs['chosen']} of {epochs['max']} (fixed) | {epochs['chosen']} | | |")
            continue
        best = epochs["curve"][epochs["chosen"] - 1]
        lines.append(
            f"| {r['task']} · {r['probe']} | {len(epochs['held_out_manuals'])} ({epochs['held_out_items']} items) | {epochs['chosen']} of {epochs['max']} "
            f"| {len(epochs['curve'])} | {best['loss']:.3f} | {best['accuracy']:.1f} |"
        )
    return lines


def heldout_chart(document: Mapping[str, Any]) -> bytes | None:
    """A PNG of every probe's held-out loss by epoch, the chosen epoch marked; None without any curve."""
    curves = [r for r in document["results"] if r["epochs"]["curve"]]
    if not curves:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 4.0))
    axes = figure.add_subplot()
    for r in curves:
        points = r["epochs"]["curve"]
        line = axes.plot([p["epoch"] for p in points], [p["loss"] for p in points], linewidth=1.0, label=f"{r['task']} · {r['probe']}")[0]
        chosen = points[r["epochs"]["chosen"] - 1]
        axes.plot([chosen["epoch"]], [chosen["loss"]], marker="o", color=line.get_color())
    axes.set_xlabel("epoch (training on the other train manuals)")
    axes.set_ylabel("held-out cross-entropy")
    axes.set_title("Probe epochs chosen on held-out train manuals (dot: chosen)")
    axes.grid(color="#dddddd", linewidth=0.6)
    axes.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()
