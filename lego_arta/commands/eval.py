"""``lego-arta eval``: run lmms-eval on the LEGO-ARTA tasks and refuse a run that silently failed.

With ``--adapter`` the LoRA adapter is merged into its base first, as a step of its own: the
harness sits below fine-tuning, so only this adapter may join the two.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lego_arta.commands.options import POSITIVE_INT, add_box_format_argument
from lego_arta.errors import print_error

HELP = "run lmms-eval on the LEGO-ARTA tasks and check every metric came out"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.harness.lmms_eval_runner import TASKS_DIR_ENV

    parser.add_argument("--data", required=True, help="built dataset folder (Hub layout) or Hub dataset id")
    parser.add_argument("--model", required=True, help="lmms-eval model name, e.g. llava_hf, dummy, openai")
    parser.add_argument("--model-args", dest="model_args", default="", help="lmms-eval model_args string (key=value,...)")
    parser.add_argument("--tasks", default="lego_arta", help="tasks or tags, comma-separated (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder for results JSON, samples and the log")
    parser.add_argument("--limit", type=POSITIVE_INT, default=None, help="first N test rows per task (smoke runs only)")
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=1, help="default: %(default)s")
    parser.add_argument(
        "--tasks-dir", type=Path, default=None, help=f"task YAML folder (default: ${TASKS_DIR_ENV}, else rendered from the task specs)"
    )
    parser.add_argument("--online", action="store_true", help="allow Hugging Face Hub downloads (models or a Hub dataset)")
    parser.add_argument(
        "--adapter",
        type=Path,
        default=None,
        help="LoRA adapter (or `lego-arta finetune` output folder): merged into pretrained= under OUT/model first",
    )
    add_box_format_argument(parser)
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: extra lmms-eval arguments")


def merged_model_args(model_args: str, adapter: Path, work_dir: Path, *, offline: bool) -> str:
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


def run(args: argparse.Namespace) -> int:
    """Run lmms-eval and print the metric table (and a served model's usage); 1 when lmms-eval failed or samples stayed unanswered."""
    from lego_arta.harness.api_usage import usage_lines
    from lego_arta.harness.lmms_eval_runner import ABSENT, LmmsEvalError, metric_rows, run_lmms_eval, served_usage

    model_args = args.model_args
    if args.adapter is not None:
        model_args = merged_model_args(model_args, args.adapter, Path(args.out) / "model", offline=not args.online)
    extra = [item for item in args.extra if item != "--"]
    try:
        path = run_lmms_eval(
            data=args.data,
            model=args.model,
            model_args=model_args,
            tasks=args.tasks,
            output=args.out,
            limit=args.limit,
            batch_size=args.batch_size,
            extra=extra,
            tasks_dir=args.tasks_dir,
            offline=not args.online,
            box_format=args.box_format,
        )
    except LmmsEvalError as error:
        print_error(str(error))
        return 1
    for task, metric, value in metric_rows(path):
        print(f"{task:32s} {metric:16s} {ABSENT if value is None else f'{value:.2f}':>8s}")
    usage = served_usage(path)
    for line in usage_lines(usage) if usage else ():
        print(f"usage: {line}")
    print(f"results: {path}")
    return 1 if usage and usage["this_run"].get("failed") else 0
