"""``lego-arta baselines``: the weight-free floors of every task, scored, with a report and charts."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import add_interval_arguments
from lego_arta.errors import stderr_console

HELP = "run the weight-free baselines on a built dataset and write their report"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.baselines import REPORT_STEM, RESULTS_NAME
    from lego_arta.evaluation.scoring import DEFAULT_SPLIT

    parser.add_argument("--data", required=True, help="built dataset folder (Hub layout) or Hub dataset id")
    parser.add_argument("--out", type=Path, required=True, help=f"folder for {RESULTS_NAME}, {REPORT_STEM}.md and the charts")
    parser.add_argument(
        "--runs", type=Path, default=None, help="folder for predictions and per-sample logs (default: <out>/baselines-runs)"
    )
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default: %(default)s")
    add_interval_arguments(parser, seed_help="seed of the random baselines and of the bootstrap")


def run(args: argparse.Namespace) -> int:
    """Run, score, print the table, write results + report with charts."""
    from lego_arta.evaluation.baselines import REPORT_STEM, RESULTS_NAME, baselines_preamble, baselines_table, evaluate_baselines
    from lego_arta.evaluation.report import write_report
    from lego_arta.evaluation.results import write_results

    console = Console(soft_wrap=True)
    out = Path(args.out)
    runs_dir = args.runs if args.runs is not None else out / "baselines-runs"
    results = evaluate_baselines(args.data, runs_dir, split=args.split, seed=args.seed, n_resamples=args.resamples, alpha=args.alpha)
    console.print(baselines_table(results))
    for run_ in results.runs:
        if run_["missing"] or run_["unknown"]:
            stderr_console.print(  # a warning: stderr, beside errors
                f"[yellow]{escape(str(run_['task']))}/{escape(str(run_['system']))}: {run_['missing']} missing, "
                f"{run_['unknown']} unknown ids[/yellow]"
            )
    write_results(out / RESULTS_NAME, results.rows, results.runs)
    command = f"lego-arta baselines --data {args.data} --split {args.split} --seed {args.seed} --resamples {args.resamples}"
    written = write_report(results.rows, out, stem=REPORT_STEM, title="LEGO-ARTA baselines", preamble=baselines_preamble(results, command))
    console.print(
        escape(f"wrote {out / RESULTS_NAME}, {len(written)} report files under {out}, predictions under {runs_dir}"), highlight=False
    )
    return 0
