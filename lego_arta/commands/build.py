"""``lego-arta build``: a recipe (and raw manuals) → one Hub-layout folder of every config, atomically."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from lego_arta.commands.options import POSITIVE_INT, SEED, add_executor_arguments, executor_from

HELP = "build the task configs (Hub-layout Parquet, card, manifest) from raw manuals"
GROUP = "dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", type=Path, help="a recipe YAML file, or a packaged recipe by name: quickstart, study, crawled, probe")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--manuals", type=POSITIVE_INT, default=None, help="override the recipe's number of synthetic manuals")
    parser.add_argument("--seed", type=SEED, default=None, help="override the recipe's seeds")
    parser.add_argument("--raw", type=Path, default=None, help="use this raw-manuals folder instead of the recipe's source")
    add_executor_arguments(parser)
    parser.add_argument(
        "--stats",
        type=Path,
        default=None,
        help="write what the run cost (wall, PNG-encode ratio, peak memory per worker) to this JSON file",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier build in --out")
    parser.add_argument("--strict", action="store_true", help="fail on the first unreadable manual or row")
    parser.add_argument("--exclude", type=Path, default=None, help="flagged.json of `lego-arta qa score`: leave those pair ids out")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the manuals an interrupted build of the same recipe finished (its staging area beside --out)",
    )
    parser.add_argument(
        "--staging",
        default=None,
        help="where workers write the rows before they are moved into --out: a folder or fsspec URL this "
        "machine can rename from (default: .NAME.staging beside --out NAME)",
    )


def run(args: argparse.Namespace) -> int:
    from lego_arta.atomic import atomic_write_text
    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.recipe import load_recipe
    from lego_arta.dataset.report import build_table, run_line

    console = Console()
    recipe = load_recipe(args.recipe).with_overrides(manuals=args.manuals, seed=args.seed)
    exclude = None
    if args.exclude is not None:
        from lego_arta.qa.scoring import read_flagged

        exclude = read_flagged(args.exclude)
    result = build(
        recipe,
        args.out,
        raw=args.raw,
        workers=args.workers,
        overwrite=args.overwrite,
        strict=args.strict,
        exclude=exclude,
        executor=executor_from(args),
        resume=args.resume,
        staging=args.staging,
    )
    if exclude is not None:
        console.print(f"removed by quality assurance: {result.manifest['removed_by_qa']['removed']} of {len(exclude)} flagged pairs")
    console.print(build_table(result))
    console.print(run_line(result.stats), highlight=False)
    if args.stats is not None:
        atomic_write_text(args.stats, json.dumps(result.stats, indent=1, sort_keys=True) + "\n")
    return 0
