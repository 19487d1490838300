"""``lego-arta parse``: a raw folder → the study's per-row JSON lines, with every skip counted."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.errors import stderr_console

HELP = "parse a folder of raw manuals into the study's per-row JSON lines"
GROUP = "parse"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    parser.add_argument("--strict", action="store_true", help="fail on the first unreadable manual or row")


def run(args: argparse.Namespace) -> int:
    from lego_arta.atomic import refuse_overlap
    from lego_arta.parse.manual import load_manuals
    from lego_arta.parse.records import write_records
    from lego_arta.parse.statistics import corpus_statistics, statistics_table

    console = Console()
    refuse_overlap(args.out, args.folder, source_name="FOLDER")
    manuals = load_manuals(args.folder, strict=args.strict)
    console.print(statistics_table(corpus_statistics(manuals), title=f"Parsed {args.folder}"))
    for kind, number in sorted(manuals.skip_counts().items()):
        stderr_console.print(f"[yellow]skipped {number} × {escape(kind)}[/yellow]")  # warnings: stderr, beside errors
    for skip in manuals.skips:
        stderr_console.print(f"  {escape(str(skip))}")
    count = write_records(manuals, args.out)
    console.print(f"wrote {count} records to {escape(str(args.out))}")
    return 0
