"""``lego-arta``: one command-line entry point; each sub-command is a thin adapter over the package."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

console = Console()

Runner = Callable[[argparse.Namespace], int]


def _synth(args: argparse.Namespace) -> int:
    from lego_arta.source.synth.generator import SynthConfig, synthesize

    config = SynthConfig(manuals=args.manuals, seed=args.seed, width=args.width, height=args.height)
    ids = synthesize(args.out, config, workers=args.workers, overwrite=args.overwrite, executor=_executor(args))
    console.print(f"wrote {len(ids)} synthetic manuals to {escape(str(args.out))}")
    if args.summary:
        _print_summary(args.out, strict=True)
    return 0


def _print_summary(folder: Path, *, strict: bool) -> None:
    from lego_arta.parse.manual import load_manuals
    from lego_arta.parse.statistics import corpus_statistics, statistics_table

    manuals = load_manuals(folder, strict=strict)
    console.print(statistics_table(corpus_statistics(manuals), title=f"Raw manuals in {folder}"))
    for skip in manuals.skips:
        console.print(f"[yellow]skipped[/yellow] {escape(str(skip))}", highlight=False)


def _parse(args: argparse.Namespace) -> int:
    from lego_arta.atomic import refuse_overlap
    from lego_arta.parse.manual import load_manuals
    from lego_arta.parse.records import write_records
    from lego_arta.parse.statistics import corpus_statistics, statistics_table

    refuse_overlap(args.out, args.folder, source_name="FOLDER")
    manuals = load_manuals(args.folder, strict=args.strict)
    console.print(statistics_table(corpus_statistics(manuals), title=f"Parsed {args.folder}"))
    for kind, number in sorted(manuals.skip_counts().items()):
        console.print(f"[yellow]skipped {number} × {escape(kind)}[/yellow]", highlight=False)
    for skip in manuals.skips:
        console.print(f"  {escape(str(skip))}", highlight=False)
    count = write_records(manuals, args.out)
    console.print(f"wrote {count} records to {escape(str(args.out))}")
    return 0


def _executor(args: argparse.Namespace):
    from lego_arta.executor import make_executor

    return make_executor(args.executor, workers=args.workers, address=args.ray_address)


def _add_executor_arguments(p: argparse.ArgumentParser) -> None:
    from lego_arta.executor import EXECUTORS

    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (ray: tasks in flight per CPU slot)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="where the per-manual work runs: local processes, or Ray (pip install 'lego-arta[scale]')")
    p.add_argument("--ray-address", default=None, help="Ray cluster to join (ray.init(address=...)); default: a local Ray instance")


def _build(args: argparse.Namespace) -> int:
    import json

    from lego_arta.atomic import atomic_write_text
    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.recipe import load_recipe
    from lego_arta.dataset.report import build_table, run_line

    recipe = load_recipe(args.recipe).with_overrides(manuals=args.manuals, seed=args.seed)
    exclude = None
    if args.exclude is not None:
        from lego_arta.qa.scoring import read_flagged

        exclude = read_flagged(args.exclude)
    result = build(recipe, args.out, raw=args.raw, workers=args.workers, overwrite=args.overwrite, strict=args.strict, exclude=exclude,
                   executor=_executor(args))  # fmt: skip
    if exclude is not None:
        console.print(f"removed by quality assurance: {result.manifest['removed_by_qa']['removed']} of {len(exclude)} flagged pairs")
    console.print(build_table(result))
    console.print(run_line(result.stats), highlight=False)
    if args.stats is not None:
        atomic_write_text(args.stats, json.dumps(result.stats, indent=1, sort_keys=True) + "\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    from lego_arta.dataset.export import export_llava

    counts = export_llava(args.built, args.out, overwrite=args.overwrite)
    console.print(f"wrote the LLaVA layout of {escape(str(args.built))} to {escape(str(args.out))}: "
                  + ", ".join(f"{split} {n:,} conversations" for split, n in counts.items()), highlight=False)  # fmt: skip
    return 0


def _quickstart(args: argparse.Namespace) -> int:
    """The main job on the embedded default: synthesize manuals, build all configs, load one back."""
    from datasets import load_dataset

    from lego_arta.dataset.pipeline import build, resolve_raw
    from lego_arta.dataset.recipe import BuildRecipe
    from lego_arta.dataset.report import build_table

    recipe = BuildRecipe().with_overrides(manuals=args.manuals, seed=args.seed)
    built = args.out / "lego-arta"
    raw = resolve_raw(recipe, built, workers=args.workers)
    _print_summary(raw, strict=True)
    result = build(recipe, built, raw=raw, workers=args.workers, overwrite=True)
    console.print(build_table(result))
    state = load_dataset(str(built), "state", split="test")
    sample = state[0]
    console.print(f"[bold]load_dataset({escape(repr(str(built)))}, 'state', split='test')[/bold]: {len(state)} rows")
    console.print({key: value for key, value in sample.items() if key != "image"}, highlight=False)
    console.print(f"image: {sample['image'].size[0]}x{sample['image'].size[1]} {sample['image'].mode}")
    return 0


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate synthetic raw manuals (HTML + images + truth)")
    p.add_argument("--manuals", type=int, default=6, help="number of manuals (study scale: 65)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--height", type=int, default=473)
    _add_executor_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--no-summary", dest="summary", action="store_false", help="skip the statistics table")
    p.set_defaults(run=_synth)


def _add_parse(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="parse a folder of raw manuals into the study's per-row JSON lines")
    p.add_argument("folder", type=Path)
    p.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    p.add_argument("--strict", action="store_true", help="fail on the first unreadable manual or row")
    p.set_defaults(run=_parse)


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build the scene/object/state configs from raw manuals")
    p.add_argument("recipe", type=Path, help="build recipe YAML (see builders/)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--manuals", type=int, default=None, help="override the recipe's number of synthetic manuals")
    p.add_argument("--seed", type=int, default=None, help="override the recipe's seeds")
    p.add_argument("--raw", type=Path, default=None, help="use this raw-manuals folder instead of the recipe's source")
    _add_executor_arguments(p)
    p.add_argument("--stats", type=Path, default=None,
                   help="write what the run cost (wall, PNG-encode ratio, peak memory per worker) to this JSON file")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--strict", action="store_true", help="fail on the first unreadable manual or row")
    p.add_argument("--exclude", type=Path, default=None, help="flagged.json of `lego-arta qa score`: leave those pair ids out")
    p.set_defaults(run=_build)


#: Sub-commands whose arguments and runner live beside the code they drive:
#: (name, help, module, its add-arguments function, its run function). Imported when the parser is built.
DELEGATED: tuple[tuple[str, str, str, str, str], ...] = (
    ("crawl", "crawl the LEGO Audio & Braille site into the raw layout", "lego_arta.source.crawl", "add_crawl_arguments", "run_crawl"),
    ("push", "upload a built dataset folder to the Hugging Face Hub", "lego_arta.dataset.push", "add_push_arguments", "run_push"),
    ("tiny-model", "write a tiny random LLaVA for tests and smoke runs (no downloads)",
     "lego_arta.models.tiny_vlm", "add_tiny_model_arguments", "run_tiny_model"),
    ("score", "score a predictions file (id -> answer) against a built split, with CIs",
     "lego_arta.evaluation.scoring", "add_score_arguments", "run_score"),
    ("robustness", "compare answers on a task and on its unseen-synonym variant (<task>_syn)",
     "lego_arta.evaluation.robustness", "add_robustness_arguments", "run_robustness"),
    ("compare", "compare two runs on the same split: gaps with intervals and p-values by manual",
     "lego_arta.evaluation.compare", "add_compare_arguments", "run_compare"),
    ("baselines", "run the weight-free baselines on a built dataset and write their report",
     "lego_arta.evaluation.baselines", "add_baselines_arguments", "run_baselines"),
    ("report", "Markdown table and PNG charts of results beside the study's rows",
     "lego_arta.evaluation.report", "add_report_arguments", "run_report"),
    ("qa", "dataset quality assurance: a rating questionnaire (qa make) and its agreement statistics (qa score)",
     "lego_arta.qa.command", "add_qa_arguments", "run_qa"),
    ("finetune", "LoRA fine-tuning of a Hub VLM on the built conversations (peft + Accelerate)",
     "lego_arta.finetune.command", "add_finetune_arguments", "run_finetune"),
    ("merge", "fold a LoRA adapter into its base model (a folder lmms-eval can load)",
     "lego_arta.finetune.command", "add_merge_arguments", "run_merge"),
    ("synonym-map", "PCA map and within/between-concept similarity of the verb synonyms, before and after LoRA (ACE Fig. 1)",
     "lego_arta.finetune.synonym_map", "add_synonym_map_arguments", "run_synonym_map"),
    ("probe", "linear / attentive / STEP probes of a frozen vision backbone on the state and order tasks",
     "lego_arta.probe.command", "add_probe_arguments", "run_probe"),
)  # fmt: skip


def _add_delegated(sub: argparse._SubParsersAction, name: str, help_text: str, module: str, add: str, run: str) -> None:
    imported = importlib.import_module(module)
    p = sub.add_parser(name, help=help_text)
    getattr(imported, add)(p)
    p.set_defaults(run=getattr(imported, run))


def _merged_model_args(model_args: str, adapter: Path, work_dir: Path, *, offline: bool) -> str:
    """``model_args`` with ``pretrained=`` replaced by base + adapter merged (peft is a train extra).

    The merge may load the base from the Hub cache; offline, it must not reach the Hub either, so it
    runs under the same offline environment lmms-eval gets.
    """
    from lego_arta.finetune.merge import model_args_with_adapter
    from lego_arta.harness.lmms_eval_runner import OFFLINE_ENV

    saved = {key: os.environ.get(key) for key in OFFLINE_ENV}
    if offline:
        os.environ.update(OFFLINE_ENV)
    try:
        return model_args_with_adapter(model_args, adapter, work_dir)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _eval(args: argparse.Namespace) -> int:
    """Merge the adapter (when given) as its own step, then hand the harness plain model args.

    The harness sits below fine-tuning, so only this top adapter may join the two.
    """
    from lego_arta.harness.lmms_eval_runner import run_eval

    if args.adapter is not None:
        merged = _merged_model_args(args.model_args, args.adapter, Path(args.output) / "model", offline=not args.online)
        args = argparse.Namespace(**{**vars(args), "model_args": merged})
    return run_eval(args)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    from lego_arta.harness.lmms_eval_runner import add_eval_arguments

    p = sub.add_parser("eval", help="run lmms-eval on the LEGO-ARTA tasks and check every metric came out")
    add_eval_arguments(p)
    p.add_argument("--adapter", type=Path, default=None,
                   help="LoRA adapter (or `lego-arta finetune` output folder): merged into pretrained= under OUTPUT/model first")  # fmt: skip
    p.set_defaults(run=_eval)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write another layout of a built folder (llava: conversations + image files for LLaVA-style trainers)")
    p.add_argument("layout", choices=("llava",))
    p.add_argument("built", type=Path, help="a folder written by `lego-arta build`")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    p.set_defaults(run=_export)


def _add_quickstart(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="main job on the embedded default data")
    p.add_argument("--out", type=Path, default=Path("out/quickstart"))
    p.add_argument("--manuals", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.set_defaults(run=_quickstart)


LOCAL: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_quickstart, _add_synth, _add_parse, _add_build, _add_export, _add_eval)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lego-arta", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in LOCAL:
        add(sub)
    for spec in DELEGATED:
        _add_delegated(sub, *spec)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
