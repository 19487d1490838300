"""``lego-arta robustness``: answers on a task against answers on its unseen-synonym variant (after ACE)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from lego_arta.commands.options import add_interval_arguments

HELP = "compare answers on a task and on its unseen-synonym variant (<task>_syn)"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.scoring import DEFAULT_SPLIT

    parser.add_argument("--task", required=True, help="the original task (its variant <task>_syn must be built)")
    parser.add_argument("--original", type=Path, required=True, help="answers to the task (JSONL or lmms-eval samples)")
    parser.add_argument("--variant", type=Path, required=True, help="answers to <task>_syn (JSONL or lmms-eval samples)")
    parser.add_argument("--data", required=True, help="built dataset folder with both configs")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=None, help="folder for robustness-<task>.json and .md")
    add_interval_arguments(parser, alpha=False)
    parser.add_argument("--name", default=None, help="the system's name in reports (default: the --original file's stem)")


def run(args: argparse.Namespace) -> int:
    from lego_arta.atomic import atomic_write_text
    from lego_arta.evaluation.robustness import robustness, robustness_markdown, robustness_table

    result = robustness(
        args.task, args.original, args.variant, args.data, split=args.split, n_resamples=args.resamples, seed=args.seed, system=args.name
    )
    Console(soft_wrap=True).print(robustness_table(result))
    if args.out is not None:
        stem = Path(args.out) / f"robustness-{args.task}"
        atomic_write_text(Path(f"{stem}.json"), json.dumps(result.to_dict(), indent=1, sort_keys=True) + "\n")
        atomic_write_text(Path(f"{stem}.md"), robustness_markdown([result.to_dict()]))
    return 0
