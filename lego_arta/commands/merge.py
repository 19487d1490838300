"""``lego-arta merge``: fold a LoRA adapter into its base model, a folder lmms-eval and ``from_pretrained`` load."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "fold a LoRA adapter into its base model (a folder lmms-eval can load)"
GROUP = "finetune"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--adapter", type=Path, required=True, help="adapter folder or `lego-arta finetune` output folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the merged model and its processor")
    parser.add_argument("--base", default=None, help="base model (default: the one the adapter names)")
    parser.add_argument(
        "--dtype", default="auto", help="dtype to merge and save in: auto (as the base is stored), bfloat16, float16, float32"
    )
    parser.add_argument("--overwrite", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Fold an adapter into its base; the folder loads with plain ``from_pretrained``."""
    from lego_arta.finetune.merge import merge_adapter

    path = merge_adapter(args.adapter, args.out, base=args.base, dtype=args.dtype, overwrite=args.overwrite)
    print(f"merged model: {path}")
    return 0
