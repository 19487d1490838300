"""``lego-arta quickstart``: the main job on the embedded default data (what ``make run`` runs).

It synthesizes the default manuals, builds every default config, and loads ``state`` (or, on a
build too small to have one, the first config it has) back with ``datasets.load_dataset`` to show
that the folder is a plain Hub-layout dataset.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import POSITIVE_INT, SEED, default_workers

HELP = "main job on the embedded default data: synthesize 6 manuals, build the configs, load one back"
GROUP = "start"

console = Console()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"), help="output folder (default: %(default)s)")
    parser.add_argument("--manuals", type=POSITIVE_INT, default=6, help="synthetic manuals (default: %(default)s)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--workers", type=POSITIVE_INT, default=default_workers(), help="worker processes (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from datasets import get_dataset_config_names, load_dataset

    from lego_arta.commands.synth import print_summary
    from lego_arta.dataset.pipeline import build, resolve_raw
    from lego_arta.dataset.recipe import BuildRecipe
    from lego_arta.dataset.report import build_table

    recipe = BuildRecipe().with_overrides(manuals=args.manuals, seed=args.seed)
    built = args.out / "lego-arta"
    raw = resolve_raw(recipe, built, workers=args.workers)
    print_summary(console, raw, strict=True)
    result = build(recipe, built, raw=raw, workers=args.workers, overwrite=True)
    console.print(build_table(result))
    configs = get_dataset_config_names(str(built))
    config = "state" if "state" in configs else configs[0]
    state = load_dataset(str(built), config, split="test")
    sample = state[0]
    console.print(f"[bold]load_dataset({escape(repr(str(built)))}, {config!r}, split='test')[/bold]: {len(state)} rows")
    console.print({key: value for key, value in sample.items() if key != "image"}, highlight=False)
    console.print(f"image: {sample['image'].size[0]}x{sample['image'].size[1]} {sample['image'].mode}")
    return 0
