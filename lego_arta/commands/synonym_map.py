"""``lego-arta synonym-map``: the verbs in a model's embedding space by concept, before and after LoRA (ACE Fig. 1)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import SEED

HELP = "PCA map and within/between-concept similarity of the verb synonyms, before and after LoRA (ACE Fig. 1)"
GROUP = "finetune"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.finetune.synonym_map import DEFAULT_FRAME, DEFAULT_SPLIT_SEED, JSON_NAME, PNG_NAME

    parser.add_argument("--model", required=True, help="Hub id or folder of the (base) model")
    parser.add_argument(
        "--adapter", type=Path, default=None, help="a LoRA adapter or `lego-arta finetune` output folder: adds the after-fine-tuning panel"
    )
    parser.add_argument("--out", type=Path, required=True, help=f"folder for {JSON_NAME} and {PNG_NAME}")
    parser.add_argument(
        "--frame", default=DEFAULT_FRAME, help="sentence each verb is embedded in; {verb} marks its place (default: %(default)r)"
    )
    parser.add_argument(
        "--split-seed", type=SEED, default=DEFAULT_SPLIT_SEED, help="seed of the seen/unseen synonym split (the build's seed)"
    )
    parser.add_argument(
        "--synonyms", type=Path, default=None, help="a synonym-tree YAML in the package's format (default: the package's trees)"
    )


def run(args: argparse.Namespace) -> int:
    from lego_arta.atomic import atomic_write_bytes, atomic_write_text
    from lego_arta.finetune.synonym_map import JSON_NAME, PNG_NAME, map_png, similarity_table, synonym_map
    from lego_arta.tasks.synonyms import load_trees

    result = synonym_map(
        args.model,
        adapter=args.adapter,
        frame=args.frame,
        split_seed=args.split_seed,
        vocabulary=load_trees(args.synonyms) if args.synonyms else None,
    )
    out = Path(args.out)
    atomic_write_text(out / JSON_NAME, json.dumps(result.to_dict(), indent=1, sort_keys=True) + "\n")
    atomic_write_bytes(out / PNG_NAME, map_png(result))
    console = Console(soft_wrap=True)
    console.print(similarity_table(result))
    console.print(f"wrote {escape(str(out / JSON_NAME))} and {escape(str(out / PNG_NAME))}", highlight=False)
    return 0
