"""``lego-arta compare``: two runs on the same rows, per-metric gaps with paired intervals and p-values by manual."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import add_box_format_argument, add_interval_arguments
from lego_arta.errors import stderr_console

HELP = "compare two runs on the same split: gaps with intervals and p-values by manual"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.scoring import DEFAULT_SPLIT
    from lego_arta.tasks import TASKS

    parser.add_argument("run_a", type=Path, help="answers of run A (JSONL or lmms-eval samples)")
    parser.add_argument("run_b", type=Path, help="answers of run B, the same rows")
    parser.add_argument("--data", required=True, help="built dataset folder (Hub layout) or Hub dataset id")
    parser.add_argument("--task", choices=list(TASKS), default=None, help="the task (default: the config whose split holds the ids)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=None, help="write the comparison as JSON to this file")
    add_interval_arguments(parser, seed_help="seed of the bootstrap and the permutations")
    parser.add_argument("--force", action="store_true", help="compare runs even when they were computed on different benchmark versions")
    add_box_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Print the table; with ``--out`` write the JSON."""
    from lego_arta.atomic import atomic_write_text
    from lego_arta.evaluation.compare import compare_runs, compare_table

    console = Console(soft_wrap=True)
    result = compare_runs(
        args.run_a,
        args.run_b,
        args.data,
        task=args.task,
        split=args.split,
        n_resamples=args.resamples,
        seed=args.seed,
        alpha=args.alpha,
        force=args.force,
        box_format=args.box_format,
    )
    name_a, name_b = Path(args.run_a).stem, Path(args.run_b).stem
    console.print(compare_table(result, name_a, name_b))
    for name, missing in ((name_a, result.missing_a), (name_b, result.missing_b)):
        if missing:
            stderr_console.print(f"[yellow]{escape(name)}: {missing} rows without an answer, scored as wrong[/yellow]")  # a warning: stderr
    if args.out is not None:
        document = result.to_dict(str(args.run_a), str(args.run_b))
        atomic_write_text(Path(args.out), json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")
        console.print(f"wrote {escape(str(args.out))}", highlight=False)
    return 0
