"""``lego-arta tiny-model``: a tiny random VLM for tests and smoke runs, written offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from lego_arta.commands.options import POSITIVE_INT, SEED

HELP = "write a tiny random LLaVA for tests and smoke runs (no downloads)"
GROUP = "tools"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.models.tiny_vlm import DEFAULT_HIDDEN_SIZE, DEFAULT_IMAGE_SIZE

    parser.add_argument("--out", type=Path, required=True, help="folder to write the model and processor to")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--hidden-size", type=POSITIVE_INT, default=DEFAULT_HIDDEN_SIZE, help="default: %(default)s")
    parser.add_argument("--image-size", type=POSITIVE_INT, default=DEFAULT_IMAGE_SIZE, help="default: %(default)s")
    parser.add_argument("--overwrite", action="store_true", help="replace a folder an earlier tiny-model wrote (one holding tiny_vlm.json)")


def run(args: argparse.Namespace) -> int:
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    path = build_tiny_vlm(args.out, seed=args.seed, hidden_size=args.hidden_size, image_size=args.image_size, overwrite=args.overwrite)
    print(f"wrote tiny LLaVA (seed {args.seed}) to {path}")
    return 0
