"""``lego-arta synth``: generate synthetic raw manuals (HTML + images + 3D truth) in the crawled layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import POSITIVE_INT, SEED, add_executor_arguments, executor_from, number
from lego_arta.errors import stderr_console

HELP = "generate synthetic raw manuals (HTML + images + truth)"
GROUP = "source"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manuals", type=POSITIVE_INT, default=6, help="number of manuals (default: %(default)s; study scale: 65)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width", type=number(int, low=32, high=8192), default=1024, help="image width in pixels (default: %(default)s)")
    parser.add_argument("--height", type=number(int, low=32, high=8192), default=473, help="image height in pixels (default: %(default)s)")
    add_executor_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--no-summary", dest="summary", action="store_false", help="skip the statistics table")


def print_summary(console: Console, folder: Path, *, strict: bool) -> None:
    """The corpus statistics of a raw folder beside the study's, and every skipped manual."""
    from lego_arta.parse.manual import load_manuals
    from lego_arta.parse.statistics import corpus_statistics, statistics_table

    manuals = load_manuals(folder, strict=strict)
    console.print(statistics_table(corpus_statistics(manuals), title=f"Raw manuals in {folder}"))
    for skip in manuals.skips:
        stderr_console.print(f"[yellow]skipped[/yellow] {escape(str(skip))}")  # warnings: stderr, beside errors


def run(args: argparse.Namespace) -> int:
    from lego_arta.source.synth.generator import SynthConfig, synthesize

    console = Console()
    config = SynthConfig(manuals=args.manuals, seed=args.seed, width=args.width, height=args.height)
    ids = synthesize(args.out, config, workers=args.workers, overwrite=args.overwrite, executor=executor_from(args))
    console.print(f"wrote {len(ids)} synthetic manuals to {escape(str(args.out))}")
    if args.summary:
        print_summary(console, args.out, strict=True)
    return 0
