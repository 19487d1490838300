"""``lego-arta export LAYOUT --data BUILT --out DIR``: another layout of a built folder.

``llava``: conversations + image files for LLaVA-style trainers. ``vlmevalkit``: VLMEvalKit's TSV
per task and a dataset class whose prompts and scores are lego-arta's (docs/vlmevalkit.md).
``packed``: the build with its per-manual shards concatenated into Hub-sized ones, for
``lego-arta push`` of a large build (docs/scale.md).
The built folder is ``--data`` or, as before, the second positional argument.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import POSITIVE_INT

HELP = (
    "write another layout of a built folder (llava: conversations + images for trainers; vlmevalkit: TSVs + dataset class; "
    "packed: Hub-sized shards for upload)"
)
GROUP = "dataset"
LAYOUTS = ("llava", "vlmevalkit", "packed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", choices=LAYOUTS)
    parser.add_argument("built", type=Path, nargs="?", default=None, help="a folder written by `lego-arta build` (or --data)")
    parser.add_argument("--data", type=Path, default=None, help="a folder written by `lego-arta build`")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    parser.add_argument(
        "--max-shard-mb",
        type=POSITIVE_INT,
        default=None,
        help="packed: largest shard in MB (default: 500, what push_to_hub cuts at; a manual's file already larger stays alone)",
    )


def run(args: argparse.Namespace) -> int:
    if (args.built is None) == (args.data is None):
        raise ValueError("export: name the built folder once, as --data BUILT (or as the argument after the layout)")
    built = args.data if args.data is not None else args.built
    console = Console()
    if args.max_shard_mb is not None and args.layout != "packed":
        raise ValueError("export: --max-shard-mb is for the packed layout only")
    if args.layout == "packed":
        from lego_arta.dataset.pack import MAX_SHARD_BYTES, pack_build

        limit = MAX_SHARD_BYTES if args.max_shard_mb is None else args.max_shard_mb * 10**6
        shards = pack_build(built, args.out, max_shard_bytes=limit, overwrite=args.overwrite)
        console.print(
            f"wrote the packed build of {escape(str(built))} to {escape(str(args.out))}: "
            + "; ".join(f"{config}: " + ", ".join(f"{n} {split}" for split, n in splits.items()) for config, splits in shards.items())
            + " shards",
            highlight=False,
        )
        return 0
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
