"""``lego-arta export LAYOUT BUILT --out DIR``: another layout of a built folder (LLaVA conversations + image files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

HELP = "write another layout of a built folder (llava: conversations + image files for LLaVA-style trainers)"
GROUP = "dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", choices=("llava",))
    parser.add_argument("built", type=Path, help="a folder written by `lego-arta build`")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")


def run(args: argparse.Namespace) -> int:
    from lego_arta.dataset.export import export_llava

    counts = export_llava(args.built, args.out, overwrite=args.overwrite)
    Console().print(f"wrote the LLaVA layout of {escape(str(args.built))} to {escape(str(args.out))}: "
                    + ", ".join(f"{split} {n:,} conversations" for split, n in counts.items()), highlight=False)  # fmt: skip
    return 0
