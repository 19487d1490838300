"""``lego-arta report``: results files → one Markdown table and PNG charts, the study's rows beside ours."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

HELP = "Markdown table and PNG charts of results beside the study's rows"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.report import DEFAULT_STEM

    parser.add_argument("--results", type=Path, nargs="+", required=True,
                        help="results files or folders: lego-arta score/baselines JSON, lmms-eval *_results.json")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help=f"folder for {DEFAULT_STEM}.md and the PNG charts")
    parser.add_argument("--title", default="LEGO-ARTA results")
    parser.add_argument("--no-study", dest="include_study", action="store_false", help="leave out the study's published rows")


def run(args: argparse.Namespace) -> int:
    """Read results, write the Markdown report and charts, list what was skipped."""
    from lego_arta.evaluation.report import report_preamble, write_report
    from lego_arta.evaluation.results import load_results

    console = Console(soft_wrap=True)
    loaded = load_results(args.results)
    for path in loaded.skipped_files:
        console.print(f"[yellow]skipped {escape(str(path))}: not a results file[/yellow]", highlight=False)
    for task in loaded.skipped_tasks:
        console.print(f"[yellow]skipped lmms-eval task {escape(str(task))}: not a LEGO-ARTA task[/yellow]", highlight=False)
    preamble = report_preamble(loaded)
    if len(loaded.known_versions()) > 1:
        console.print(f"[yellow]{escape(preamble[0])}[/yellow]", highlight=False)
    written = write_report(loaded.rows, args.out, title=args.title, preamble=preamble, include_study=args.include_study,
                           robustness=loaded.robustness)  # fmt: skip
    console.print(f"read {len(loaded.rows)} rows from {len(loaded.files)} files; wrote {escape(str(written[0]))} and {len(written) - 1} charts",
                  highlight=False)  # fmt: skip
    return 0
