"""``lego-arta export LAYOUT --data BUILT --out DIR``: another layout of a built folder.

``llava``: conversations + image files for LLaVA-style trainers. ``vlmevalkit``: VLMEvalKit's TSV
per task and a dataset class whose prompts and scores are lego-arta's (docs/vlmevalkit.md).
The built folder is ``--data`` or, as before, the second positional argument.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

HELP = "write another layout of a built folder (llava: conversations + images for trainers; vlmevalkit: TSVs + dataset class)"
GROUP = "dataset"
LAYOUTS = ("llava", "vlmevalkit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", choices=LAYOUTS)
    parser.add_argument("built", type=Path, nargs="?", default=None, help="a folder written by `lego-arta build` (or --data)")
    parser.add_argument("--data", type=Path, default=None, help="a folder written by `lego-arta build`")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")


def run(args: argparse.Namespace) -> int:
    if (args.built is None) == (args.data is None):
        raise ValueError("export: name the built folder once, as --data BUILT (or as the argument after the layout)")
    built = args.data if args.data is not None else args.built
    console = Console()
    if args.layout == "vlmevalkit":
        from lego_arta.harness.vlmevalkit import export_vlmevalkit

        written = export_vlmevalkit(built, args.out, overwrite=args.overwrite)
        console.print(
            f"wrote VLMEvalKit's layout of {escape(str(built))} to {escape(str(args.out))}: " + ", ".join(path.name for path in written),
            highlight=False,
        )
        return 0
    from lego_arta.dataset.export import export_llava

    counts = export_llava(built, args.out, overwrite=args.overwrite)
    console.print(
        f"wrote the LLaVA layout of {escape(str(built))} to {escape(str(args.out))}: "
        + ", ".join(f"{split} {n:,} conversations" for split, n in counts.items()),
        highlight=False,
    )
    return 0
