"""``lego-arta report``: results files → one Markdown table and PNG charts, the study's rows beside ours."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.errors import stderr_console

HELP = "Markdown table and PNG charts of results beside the study's rows"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.hub_results import DEFAULT_DATASET_ID, DEFAULT_FRAMEWORK
    from lego_arta.evaluation.report import DEFAULT_STEM

    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        required=True,
        help="results files or folders: lego-arta score/baselines JSON, lmms-eval *_results.json",
    )
    parser.add_argument("--out", type=Path, default=None, help=f"folder for {DEFAULT_STEM}.md and the PNG charts")
    parser.add_argument("--title", default="LEGO-ARTA results")
    parser.add_argument("--no-study", dest="include_study", action="store_false", help="leave out the study's published rows")
    parser.add_argument(
        "--eval-results",
        type=Path,
        default=None,
        help="folder for the Hub's result files: <system>/.eval_results/*.yaml per model and task, and the benchmark's eval.yaml",
    )
    parser.add_argument(
        "--dataset-id", default=DEFAULT_DATASET_ID, help="the benchmark's Hub dataset id in the result files (default: %(default)s)"
    )
    parser.add_argument("--revision", default=None, help="the dataset revision (commit hash) the results were computed on")
    parser.add_argument("--framework", default=DEFAULT_FRAMEWORK, help="eval.yaml evaluation_framework (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Read results, write the Markdown report and charts, list what was skipped."""
    from lego_arta.evaluation.report import report_preamble, write_report
    from lego_arta.evaluation.results import load_results

    if args.out is None and args.eval_results is None:
        raise ValueError("report: name where to write, --out (Markdown and charts) and/or --eval-results (Hub result files)")
    console = Console(soft_wrap=True)
    loaded = load_results(args.results)
    for path in loaded.skipped_files:
        stderr_console.print(f"[yellow]skipped {escape(str(path))}: not a results file[/yellow]")  # warnings: stderr, beside errors
    for task in loaded.skipped_tasks:
        stderr_console.print(f"[yellow]skipped lmms-eval task {escape(str(task))}: not a LEGO-ARTA task[/yellow]")
    if args.eval_results is not None:
        from lego_arta.evaluation.hub_results import write_eval_results

        hub = write_eval_results(
            loaded.rows,
            args.eval_results,
            versions=loaded.versions,
            dataset_id=args.dataset_id,
            revision=args.revision,
            framework=args.framework,
        )
        console.print(f"wrote {len(hub) - 1} Hub result files and eval.yaml under {escape(str(args.eval_results))}", highlight=False)
    if args.out is None:
        return 0
    preamble = report_preamble(loaded)
    if len(loaded.known_versions()) > 1:
        stderr_console.print(f"[yellow]{escape(preamble[0])}[/yellow]")
    if loaded.box_formats:
        preamble += ["", "Object boxes read as (`--box-format`):", "", *(f"- {system}: `{fmt}`" for system, fmt in loaded.box_formats)]
    written = write_report(
        loaded.rows, args.out, title=args.title, preamble=preamble, include_study=args.include_study, robustness=loaded.robustness
    )
    console.print(
        f"read {len(loaded.rows)} rows from {len(loaded.files)} files; wrote {escape(str(written[0]))} and {len(written) - 1} charts",
        highlight=False,
    )
    return 0
