"""``lego-arta finetune``: LoRA fine-tuning of a Hub VLM on the built conversations (peft + Accelerate).

Under ``accelerate launch`` it runs as ``accelerate launch -m lego_arta finetune …``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lego_arta.commands.options import NON_NEGATIVE_INT, POSITIVE_INT, SEED, comma_list, number

HELP = "LoRA fine-tuning of a Hub VLM on the built conversations (peft + Accelerate)"
GROUP = "finetune"
PRECISIONS: tuple[str, ...] = ("bf16", "fp32", "fp16")


def _tasks(value: str) -> tuple[str, ...]:
    from lego_arta.finetune.data import TASKS

    tasks = comma_list(value)
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown or not tasks:
        raise argparse.ArgumentTypeError(f"unknown task(s) {unknown}; expected a comma-separated subset of {','.join(TASKS)}")
    return tasks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.finetune.augment import AUGMENTERS
    from lego_arta.finetune.data import TASKS
    from lego_arta.finetune.lora import DEFAULT_ALPHA, DEFAULT_DROPOUT, DEFAULT_RANK
    from lego_arta.finetune.train import DEFAULT_EVAL_SAMPLES, SCHEDULERS

    parser.add_argument("--model", required=True, help="Hub id or local folder of an image-text-to-text model")
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="a built folder (its LLaVA export is made on first use, beside it in .lego-arta-llava/), a `lego-arta export llava` folder, or a conversations JSON file",
    )
    parser.add_argument("--out", type=Path, required=True, help="run folder: adapter/, checkpoints/, log, plot, config")
    parser.add_argument("--tasks", type=_tasks, default=TASKS, help=f"comma-separated subset of {','.join(TASKS)} (default: all of them)")
    lora = parser.add_argument_group("LoRA")
    lora.add_argument("--lora-rank", type=POSITIVE_INT, default=DEFAULT_RANK, help="default: %(default)s")
    lora.add_argument("--lora-alpha", type=POSITIVE_INT, default=DEFAULT_ALPHA, help="default: %(default)s")
    lora.add_argument(
        "--lora-dropout", type=number(float, low=0, high=1, high_open=True), default=DEFAULT_DROPOUT, help="default: %(default)s"
    )
    lora.add_argument(
        "--target-modules",
        default=None,
        help="regex (full match) or comma-separated names; default: the language model's q/k/v/o projections",
    )
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--learning-rate", type=number(float, low=0, low_open=True), default=2e-4, help="default: %(default)s")
    optim.add_argument("--epochs", type=POSITIVE_INT, default=1, help="default: %(default)s")
    optim.add_argument("--max-steps", type=POSITIVE_INT, default=None, help="stop after N optimizer steps (overrides --epochs)")
    optim.add_argument("--batch-size", type=POSITIVE_INT, default=1, help="per device")
    optim.add_argument("--grad-accum", type=POSITIVE_INT, default=1, help="micro-batches per optimizer step")
    optim.add_argument("--precision", choices=PRECISIONS, default="bf16", help="base weights and autocast dtype (LoRA weights stay fp32)")
    optim.add_argument("--lr-scheduler", choices=SCHEDULERS, default="linear")
    optim.add_argument("--warmup-ratio", type=number(float, low=0, high=1), default=0.03, help="default: %(default)s")
    optim.add_argument("--weight-decay", type=number(float, low=0), default=0.0, help="default: %(default)s")
    optim.add_argument("--max-grad-norm", type=number(float, low=0), default=1.0, help="gradient clipping (0: off)")
    optim.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for memory (7B+ models)")
    optim.add_argument("--seed", type=SEED, default=0)
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--eval-every", type=NON_NEGATIVE_INT, default=0, help="held-out loss every N steps (always at the end)")
    run_group.add_argument(
        "--eval-samples", type=NON_NEGATIVE_INT, default=DEFAULT_EVAL_SAMPLES, help="train samples held out for that loss (at most a tenth)"
    )
    run_group.add_argument("--save-every", type=NON_NEGATIVE_INT, default=0, help="checkpoint every N steps (0: no checkpoints)")
    run_group.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="CKPT",
        help="continue from CKPT, or from the newest checkpoint in --out",
    )
    run_group.add_argument("--overwrite", action="store_true", help="replace a finished or abandoned run in --out")
    run_group.add_argument("--max-samples", type=POSITIVE_INT, default=None, help="train on N samples (seeded choice), for smoke runs")
    run_group.add_argument("--augment", choices=sorted(AUGMENTERS), default="none", help="training-time text augmentation")
    run_group.add_argument(
        "--synonym-prob",
        type=number(float, low=0, high=1),
        default=0.5,
        help="--augment synonyms: share of exchanges whose verbs are replaced",
    )
    run_group.add_argument(
        "--synonym-depth", type=int, choices=(1, 2), default=2, help="--augment synonyms: first- or second-order synonyms"
    )
    run_group.add_argument(
        "--augment-negatives",
        nargs="?",
        type=number(float, low=0, high=1),
        const=0.25,
        default=0.0,
        metavar="P",
        help="--augment synonyms: turn a share P (default 0.25) of state Yes samples into antonym No samples",
    )
    run_group.add_argument("--chat-template", type=Path, default=None, help="Jinja file replacing the model's chat template")
    run_group.add_argument("--dataloader-workers", type=NON_NEGATIVE_INT, default=0)
    run_group.add_argument("--log-every", type=POSITIVE_INT, default=1, help="log every N optimizer steps")
    run_group.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def config_from_args(args: argparse.Namespace):
    """The :class:`FinetuneConfig` a parsed command line describes."""
    from lego_arta.finetune.lora import LoraSettings
    from lego_arta.finetune.train import FinetuneConfig

    return FinetuneConfig(
        model=str(args.model),
        data=str(args.data),
        output=str(args.out),
        tasks=tuple(args.tasks),
        lora=LoraSettings(rank=args.lora_rank, alpha=args.lora_alpha, dropout=args.lora_dropout, target_modules=args.target_modules),
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        precision=args.precision,
        seed=args.seed,
        eval_every=args.eval_every,
        eval_samples=args.eval_samples,
        save_every=args.save_every,
        resume=args.resume,
        max_samples=args.max_samples,
        lr_scheduler=args.lr_scheduler,
        warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay,
        max_grad_norm=args.max_grad_norm,
        gradient_checkpointing=args.gradient_checkpointing,
        augment=args.augment,
        synonym_prob=args.synonym_prob,
        synonym_depth=args.synonym_depth,
        augment_negatives=args.augment_negatives,
        chat_template=str(args.chat_template) if args.chat_template else None,
        dataloader_workers=args.dataloader_workers,
        log_every=args.log_every,
        overwrite=args.overwrite,
        progress=args.progress,
    )


def run(args: argparse.Namespace) -> int:
    """Train, then print where the adapter went and the final losses."""
    from lego_arta.finetune.train import finetune

    result = finetune(config_from_args(args))
    if not result.is_main_process:
        return 0
    losses = f"train loss {result.train_loss:.4f}" if result.train_loss is not None else "no training step"
    if result.eval_loss is not None:
        losses += f", held-out loss {result.eval_loss:.4f}"
    print(f"{result.global_step} steps, {losses}, {result.samples_per_second:.2f} samples/s")
    print(f"adapter: {result.adapter}")
    return 0
