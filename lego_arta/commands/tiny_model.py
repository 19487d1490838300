"""``lego-arta tiny-model``: a tiny random VLM (or, with ``--kind vit|dinov2``, vision encoder) for tests and smoke runs, written offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from lego_arta.commands.options import POSITIVE_INT, SEED

HELP = "write a tiny random LLaVA (or ViT/DINOv2 probe backbone) for tests and smoke runs (no downloads)"
GROUP = "tools"
#: What ``--kind`` writes: the tiny LLaVA, or a tiny vision encoder (:data:`lego_arta.models.tiny_vision.VISION_KINDS`).
KINDS = ("llava", "vit", "dinov2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.models.tiny_vlm import DEFAULT_HIDDEN_SIZE, DEFAULT_IMAGE_SIZE

    parser.add_argument("--out", type=Path, required=True, help="folder to write the model and processor to")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="llava",
        help="llava: a tiny VLM for eval and finetune (default); vit or dinov2: a tiny vision encoder, a probe backbone",
    )
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--hidden-size", type=POSITIVE_INT, default=DEFAULT_HIDDEN_SIZE, help="default: %(default)s")
    parser.add_argument("--image-size", type=POSITIVE_INT, default=DEFAULT_IMAGE_SIZE, help="default: %(default)s")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a folder an earlier tiny-model of the same kind wrote (one holding tiny_vlm.json or tiny_vision.json)",
    )


def run(args: argparse.Namespace) -> int:
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    if args.kind != "llava":
        from lego_arta.models.tiny_vision import TinyVisionSpec, build_tiny_vision

        spec = TinyVisionSpec(kind=args.kind, seed=args.seed, hidden_size=args.hidden_size, image_size=args.image_size)
        path = build_tiny_vision(args.out, spec, overwrite=args.overwrite)
        print(f"wrote tiny {args.kind} encoder (seed {args.seed}) to {path}")
        return 0

    path = build_tiny_vlm(args.out, seed=args.seed, hidden_size=args.hidden_size, image_size=args.image_size, overwrite=args.overwrite)
    print(f"wrote tiny LLaVA (seed {args.seed}) to {path}")
    return 0
