"""``lego-arta report``: our results beside the study's published ones, as Markdown and bar charts.

For every task with results of ours the report has one table — our rows (with their bootstrap
intervals), then the study's nine VLMs zero-shot and LoRA (marked ``study``) — and one PNG bar
chart per metric. When one of our systems was run under several query settings, a query-setting
table puts them beside the study's Qwen-VL study (Table 8.4).

Outputs are deterministic: rows keep their input order, numbers have two decimals (the study's
precision), charts are drawn with the Agg backend and saved without the Software stamp, so the
same results give byte-identical files.

>>> rows = [ResultRow(task="state", system="dummy", setting="baseline", metric="f1", value=50.0)]
>>> write_report(rows, Path("out/report"))
[PosixPath('out/report/report.md'), PosixPath('out/report/report-state-f1.png')]
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lego_arta.atomic import atomic_write_bytes, atomic_write_text
from lego_arta.dataset.benchmark import UNKNOWN
from lego_arta.evaluation.results import (
    OURS,
    STUDY,
    LoadedResults,
    ResultRow,
    metric_label,
    reported_metrics,
    study_query_settings,
    study_rows,
    task_metrics,
)
from lego_arta.evaluation.robustness import robustness_markdown
from lego_arta.evaluation.scoring import format_interval
from lego_arta.harness.api_usage import usage_lines
from lego_arta.tasks import TASKS

#: Printed where the study published no number for a metric it reports (its mark for "no valid answer").
NO_VALUE = "/"
#: Printed for a number nobody measured: a metric the study never reported (valid-box and invalid
#: rates are ours), or a task a run of ours did not cover.
NOT_REPORTED = "–"
#: Bar colours: ours, study zero-shot, study LoRA (colour-blind-safe Okabe–Ito hues).
OUR_COLOUR = "#0072B2"
STUDY_COLOURS = {"zero-shot": "#999999", "LoRA": "#E69F00"}
OTHER_STUDY_COLOUR = "#CC79A7"
#: Chart geometry: inches per bar, fixed extra height, legend strip, width, resolution.
BAR_HEIGHT_IN = 0.26
CHART_MARGIN_IN = 1.5
LEGEND_HEIGHT_IN = 0.3
CHART_WIDTH_IN = 7.5
CHART_DPI = 110
DEFAULT_STEM = "report"

Key = tuple[str, str, str]  # (source, system, setting)


def _label(key: Key) -> str:
    source, system, setting = key
    return f"{system} ({source}, {setting})"


def _table_keys(rows: Iterable[ResultRow]) -> list[Key]:
    """Distinct (source, system, setting) in first-seen order."""
    return list(dict.fromkeys((row.source, row.system, row.setting) for row in rows))


def _cells(rows: Iterable[ResultRow]) -> dict[tuple[Key, str], ResultRow]:
    return {((row.source, row.system, row.setting), row.metric): row for row in rows}


def _cell(row: ResultRow | None, source: str, metric: str) -> str:
    if row is not None:
        return format_interval(row.value, row.low, row.high)
    if source == STUDY and metric in {r.metric for r in study_rows()}:
        return NO_VALUE
    return NOT_REPORTED


def markdown_table(rows: Sequence[ResultRow], metrics: Sequence[str]) -> list[str]:
    """A Markdown table: one line per (source, system, setting), one column per metric; ``n`` is
    shown when all of a line's numbers come from the same number of rows."""
    cells = _cells(rows)
    counts: dict[Key, set[int]] = {}
    for row in rows:
        if row.n is not None:
            counts.setdefault((row.source, row.system, row.setting), set()).add(row.n)
    sizes = {key: next(iter(ns)) for key, ns in counts.items() if len(ns) == 1}
    header = ["system", "source", "setting", "n", *(metric_label(m) for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 4 + ["---:"] * len(metrics)) + "|"]
    for key in _table_keys(rows):
        size = sizes.get(key)
        values = [_cell(cells.get((key, metric)), key[0], metric) for metric in metrics]
        lines.append("| " + " | ".join([key[1], key[0], key[2], "" if size is None else str(size), *values]) + " |")
    return lines


def _ordered_study(task: str) -> list[ResultRow]:
    """The study's rows of one task: models in published order, zero-shot before LoRA."""
    rows = [row for row in study_rows() if row.task == task]
    models = list(dict.fromkeys(row.system for row in rows))
    order = {"zero-shot": 0, "LoRA": 1}
    return sorted(rows, key=lambda row: (models.index(row.system), order.get(row.setting, 2)))


def chart_png(task: str, metric: str, rows: Sequence[ResultRow]) -> bytes:
    """A horizontal bar chart of one metric: ours (with interval whiskers) over the study's bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    chosen = [row for row in rows if row.task == task and row.metric == metric]
    labels = [_label((row.source, row.system, row.setting)) for row in chosen]
    values = [row.value for row in chosen]
    colours = [OUR_COLOUR if row.source == OURS else STUDY_COLOURS.get(row.setting, OTHER_STUDY_COLOUR) for row in chosen]
    height = CHART_MARGIN_IN + BAR_HEIGHT_IN * max(len(chosen), 1)
    figure = Figure(figsize=(CHART_WIDTH_IN, height))
    axes = figure.add_subplot()
    positions = list(range(len(chosen)))
    axes.barh(positions, values, color=colours)
    ranged = [(p, row) for p, row in zip(positions, chosen) if row.low is not None and row.high is not None]
    if ranged:
        # A percentile interval need not hold the point estimate (few manuals, float noise of shares): no whisker then.
        errors = [[max(0.0, row.value - row.low) for _, row in ranged], [max(0.0, row.high - row.value) for _, row in ranged]]  # type: ignore[operator]
        axes.errorbar(
            [row.value for _, row in ranged], [p for p, _ in ranged], xerr=errors, fmt="none", ecolor="black", capsize=2, elinewidth=0.8
        )
    axes.set_yticks(positions, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 105)
    axes.set_xlabel(f"{metric_label(metric)} (percent)")
    axes.set_title(f"LEGO-ARTA {task}: {metric_label(metric)}")
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for position, row in zip(positions, chosen):
        end = max(row.value, row.high if row.high is not None else row.value)
        axes.text(min(end, 100.0) + 1.0, position, f"{row.value:.1f}", va="center", fontsize=7)
    legend = [Patch(color=OUR_COLOUR, label="ours (95% interval)")]
    legend += [
        Patch(color=colour, label=f"study, {setting}")
        for setting, colour in STUDY_COLOURS.items()
        if any(row.source == STUDY and row.setting == setting for row in chosen)
    ]
    figure.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=7, frameon=False)
    figure.tight_layout(rect=(0.0, LEGEND_HEIGHT_IN / height, 1.0, 1.0))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _query_setting_rows(ours: Sequence[ResultRow]) -> list[ResultRow]:
    """Our model rows of systems run under more than one query setting, then the study's Table 8.4."""
    settings: dict[str, set[str]] = {}
    for row in ours:
        if row.setting != "baseline":
            settings.setdefault(row.system, set()).add(row.setting)
    chosen = [row for row in ours if len(settings.get(row.system, ())) > 1]
    return chosen + list(study_query_settings()) if chosen else []


def render_markdown(
    ours: Sequence[ResultRow],
    *,
    stem: str,
    title: str,
    preamble: Sequence[str] = (),
    include_study: bool = True,
    robustness: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The report text; ``preamble`` (Markdown lines) follows the title; charts are ``<stem>-<task>-<metric>.png``."""
    tasks = [task for task in TASKS if any(row.task == task for row in ours)]
    lines = [f"# {title}", ""]
    if preamble:
        lines += [*preamble, ""]
    lines += [
        "Scores in percent. Ours: point estimate [95% percentile-bootstrap interval, resampling manuals] over "
        "the test rows (`n`); answers missing from a run count as wrong. Study: the original study's published "
        f"numbers (Tables 8.1–8.3), zero-shot and LoRA; `{NO_VALUE}` marks a number the study did not "
        f"publish (its mark for no valid answer to score); `{NOT_REPORTED}` marks a number nobody measured "
        "(a metric the study did not report, a task a run did not cover).",
        "",
    ]
    for task in tasks:
        task_rows = [row for row in ours if row.task == task] + (_ordered_study(task) if include_study else [])
        lines += [f"## {task}", "", *markdown_table(task_rows, reported_metrics(task, ours)), ""]
        for metric in reported_metrics(task, ours):
            if any(row.metric == metric for row in ours if row.task == task):
                lines += [f"![{task} {metric_label(metric)}]({stem}-{task}-{metric}.png)", ""]
    query_rows = _query_setting_rows(ours) if include_study else []
    if query_rows:
        metrics = [metric for task in TASKS for metric in task_metrics(task) if any(row.metric == metric for row in query_rows)]
        lines += [
            "## Query settings",
            "",
            "With and without the manual instruction in the query, with and without in-context examples "
            "(the study: Qwen-VL, Table 8.4, two examples).",
            "",
            *markdown_table(query_rows, metrics),
            "",
        ]
    if robustness:
        lines += [
            "## Synonym robustness",
            "",
            "Each task asked again with its verbs replaced by synonyms held out of training (`<task>_syn`, "
            "after ACE): the gap is variant − original with a paired bootstrap interval over manuals; answer "
            "agreement is the per-sample consistency of the two answers (`lego-arta robustness`).",
            "",
            robustness_markdown(robustness, title=None).rstrip("\n"),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_report(
    ours: Sequence[ResultRow],
    out: Path,
    *,
    stem: str = DEFAULT_STEM,
    title: str = "LEGO-ARTA results",
    preamble: Sequence[str] = (),
    include_study: bool = True,
    robustness: Sequence[Mapping[str, Any]] = (),
) -> list[Path]:
    """Write ``<stem>.md`` and one ``<stem>-<task>-<metric>.png`` per metric with results of ours."""
    mine = [row for row in ours if row.source == OURS]
    if not mine and not robustness:
        raise ValueError(
            "no results of ours to report (expected rows from lego-arta score/baselines or lmms-eval, or lego-arta robustness JSON)"
        )
    out = Path(out)
    written: list[Path] = []
    markdown = out / f"{stem}.md"
    atomic_write_text(
        markdown, render_markdown(mine, stem=stem, title=title, preamble=preamble, include_study=include_study, robustness=robustness)
    )
    written.append(markdown)
    for task in TASKS:
        chart_rows = [row for row in mine if row.task == task] + (_ordered_study(task) if include_study else [])
        for metric in reported_metrics(task, mine):
            if any(row.task == task and row.metric == metric for row in mine):
                path = out / f"{stem}-{task}-{metric}.png"
                atomic_write_bytes(path, chart_png(task, metric, chart_rows))
                written.append(path)
    return written


def version_lines(loaded: LoadedResults) -> list[str]:
    """The report's first lines: the benchmark version of the data its results were computed on, or a warning when they differ.

    >>> version_lines(LoadedResults((), ("a.json",), (), (), versions={"a.json": "1.0.0"}))
    ['Benchmark version: 1.0.0 (of the data the results were computed on; CHANGELOG.md).', '']
    """
    known = loaded.known_versions()
    if len(known) > 1:
        return [
            f"**Warning: these results were computed on different benchmark versions ({', '.join(known)}); "
            "numbers across versions are not comparable.**",
            "",
        ]
    return [f"Benchmark version: {known[0] if known else UNKNOWN} (of the data the results were computed on; CHANGELOG.md).", ""]


def report_preamble(loaded: LoadedResults) -> list[str]:
    """The lines under the report's title: the benchmark version (or a warning on a mix), then each file read with its version."""
    lines = version_lines(loaded) + [
        "Results read from:",
        "",
        *(f"- `{path}` (benchmark {loaded.versions.get(path, UNKNOWN)})" for path in loaded.files),
    ]
    for path, usage in loaded.usage:  # what a served or API model's run cost
        lines += ["", f"API usage of `{path}`:", "", *(f"- {line}" for line in usage_lines(usage))]
    return lines
