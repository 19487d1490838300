"""``lego-arta score``: a predictions file against a built split, with manual-clustered intervals."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import add_box_format_argument, add_interval_arguments
from lego_arta.errors import stderr_console

HELP = "score a predictions file (id -> answer) against a built split, with CIs"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.scoring import DEFAULT_SETTING, DEFAULT_SPLIT
    from lego_arta.tasks import TASKS

    parser.add_argument("--task", required=True, choices=list(TASKS))
    parser.add_argument(
        "--predictions", type=Path, required=True, help='JSON lines {"id": ..., "answer": ...} or an lmms-eval *_samples_*.jsonl'
    )
    parser.add_argument("--data", required=True, help="built dataset folder (Hub layout) or Hub dataset id")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default: %(default)s")
    parser.add_argument(
        "--ids", type=Path, default=None, help="score only these rows (one id per line), e.g. a human baseline's ids-<task>.txt"
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for <name>-<task>.results.json and .samples.jsonl")
    parser.add_argument("--name", default=None, help="system name in results and reports (default: the predictions file name)")
    parser.add_argument(
        "--setting",
        default=None,
        help=f"query setting recorded in the results (default: {DEFAULT_SETTING!r}; for predictions in own-history mode, the mode)",
    )
    add_interval_arguments(parser)
    add_box_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Print the score table; with ``--out`` write the results file and the per-sample log."""
    from lego_arta.atomic import name_part
    from lego_arta.evaluation.results import write_results
    from lego_arta.evaluation.scoring import (
        DEFAULT_SETTING,
        GOLD_HISTORY,
        leftover_lines,
        score_predictions,
        score_table,
        write_sample_log,
    )

    console = Console(soft_wrap=True)
    result = score_predictions(
        args.task,
        args.predictions,
        args.data,
        split=args.split,
        n_resamples=args.resamples,
        seed=args.seed,
        alpha=args.alpha,
        ids=args.ids,
        box_format=args.box_format,
    )
    name = args.name or Path(args.predictions).stem
    history = f", {result.mode}" if result.mode is not None else ""
    console.print(
        score_table(result, f"{name}: {args.task} ({args.split}, {result.n_rows} rows, boxes read as {args.box_format}{history})")
    )
    for line in leftover_lines(result):
        stderr_console.print(f"[yellow]{escape(line)}[/yellow]")  # warnings: stderr, beside errors; the table alone on stdout
    if args.out is not None:
        stem = Path(args.out) / f"{name_part(name)}-{args.task}"  # the name is text: it never leaves --out
        extra = {"ids": str(args.ids)} if args.ids is not None else {}
        setting = args.setting or (result.mode if result.mode not in (None, GOLD_HISTORY) else DEFAULT_SETTING)
        summary = result.run_summary(name, setting, predictions=str(args.predictions), data=str(args.data), **extra)
        write_results(Path(f"{stem}.results.json"), result.rows(name, setting), [summary])
        write_sample_log(Path(f"{stem}.samples.jsonl"), result)
        console.print(f"wrote {escape(str(stem))}.results.json and {escape(str(stem))}.samples.jsonl", highlight=False)
    return 0
