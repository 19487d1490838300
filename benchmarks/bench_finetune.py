"""Training throughput of ``lego_arta.finetune`` against a plain transformers + peft loop.

Both train the same LoRA (the language model's q/k/v/o projections, rank 8) on the tiny random
LLaVA over the same LEGO-ARTA conversations, batch for batch: images loaded with PIL, the chat
template applied by the processor with ``return_assistant_tokens_mask=True``, AdamW, a linear
schedule. Only the training loop is timed (model loading and the final save are not). After a
warm-up pass of each, every variant runs ``--repeats`` times, alternating; the best time counts.

    .venv/bin/python benchmarks/bench_finetune.py                     # builds a small dataset first
    .venv/bin/python benchmarks/bench_finetune.py --data out/built --steps 100 --batch-size 8

Target: our wrapper (Accelerate, prompt-masking collator, logging, seeded sampler) within 1.25x
of the plain loop's time, i.e. a samples/s ratio ours / plain of at least 0.8.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_RATIO = 0.8
WARMUP_STEPS = 5
IGNORE_INDEX = -100


def make_data(folder: Path) -> Path:
    """A small real build: four synthetic manuals (about 30 s)."""
    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.recipe import BuildRecipe, SourceSpec

    recipe = BuildRecipe(
        name="bench-finetune", source=SourceSpec(manuals=4, seed=7, width=256, height=118), collage_width=128, collage_height=59
    )
    out = folder / "lego-arta"
    build(recipe, out, progress=False)
    return out


def ours(model: Path, data: Path, output: Path, *, steps: int, batch_size: int, seed: int) -> float:
    """Samples per second of the training loop inside :func:`lego_arta.finetune.train.finetune`."""
    from lego_arta.finetune.lora import LoraSettings
    from lego_arta.finetune.train import FinetuneConfig, finetune

    config = FinetuneConfig(
        model=str(model),
        data=str(data),
        output=str(output),
        precision="fp32",
        max_steps=steps,
        batch_size=batch_size,
        eval_samples=0,
        save_every=0,
        seed=seed,
        progress=False,
        overwrite=True,
        lora=LoraSettings(dropout=0.0),
    )
    return finetune(config).samples_per_second


def _messages(entry: dict, root: Path) -> list[dict]:
    from PIL import Image

    images = entry["image"] if isinstance(entry["image"], list) else [entry["image"]]
    human, gpt = entry["conversations"]
    content = [{"type": "image", "image": Image.open(root / name).convert("RGB")} for name in images]
    content.append({"type": "text", "text": human["value"].replace("<image>", "").strip()})
    return [{"role": "user", "content": content}, {"role": "assistant", "content": [{"type": "text", "text": gpt["value"]}]}]


def plain(model_path: Path, data: Path, *, steps: int, batch_size: int, seed: int) -> float:
    """Samples per second of a hand-written transformers + peft loop doing the same work."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoProcessor, LlavaForConditionalGeneration, get_scheduler

    torch.manual_seed(seed)
    processor = AutoProcessor.from_pretrained(model_path)
    model = LlavaForConditionalGeneration.from_pretrained(model_path, dtype=torch.float32)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=r"model\.language_model\..*\.(q_proj|k_proj|v_proj|o_proj)")
    model = get_peft_model(model, lora)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=1, num_training_steps=steps)
    root = data / "llava"
    entries = json.loads((root / "train.json").read_text())
    order = np.random.default_rng([seed, 0]).permutation(len(entries)).tolist()  # the batches ours sees, in order
    started = time.perf_counter()
    for step in range(steps):
        chosen = [entries[order[(step * batch_size + i) % len(order)]] for i in range(batch_size)]
        batch = processor.apply_chat_template(
            [_messages(entry, root) for entry in chosen],
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            return_assistant_tokens_mask=True,
            processor_kwargs={"padding": True, "padding_side": "right"},
        )
        mask = batch.pop("assistant_masks").bool() & batch["attention_mask"].bool()
        batch["labels"] = batch["input_ids"].masked_fill(~mask, IGNORE_INDEX)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return steps * batch_size / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="built LEGO-ARTA folder (default: build a small one)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the throughputs as JSON here (benchmarks/run_all.py reads it)")
    args = parser.parse_args(argv)

    import transformers

    from lego_arta.models.tiny_vlm import build_tiny_vlm

    transformers.logging.set_verbosity_error()
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as scratch:
        scratch_path = Path(scratch)
        data = args.data or make_data(scratch_path)
        model = build_tiny_vlm(scratch_path / "tiny-llava", seed=0)
        # Warm-up: read every image once (cold files cost more than training the tiny model), then a
        # short pass of each variant for lazy imports and kernel set-up.
        for image in sorted((data / "llava" / "images").iterdir()):
            image.read_bytes()
        plain(model, data, steps=WARMUP_STEPS, batch_size=args.batch_size, seed=args.seed)
        ours(model, data, scratch_path / "run", steps=WARMUP_STEPS, batch_size=args.batch_size, seed=args.seed)
        ours_best, plain_best = 0.0, 0.0
        for repeat in range(args.repeats):
            plain_best = max(plain_best, plain(model, data, steps=args.steps, batch_size=args.batch_size, seed=args.seed))
            ours_best = max(
                ours_best, ours(model, data, scratch_path / "run", steps=args.steps, batch_size=args.batch_size, seed=args.seed)
            )
            print(f"repeat {repeat + 1}: ours {ours_best:7.1f} samples/s   plain {plain_best:7.1f} samples/s (best so far)")
    ratio = ours_best / plain_best
    print(f"\ntiny LLaVA, LoRA r=8, batch {args.batch_size}, {args.steps} steps, fp32 on CPU")
    print(f"{'lego_arta.finetune':24s} {ours_best:8.1f} samples/s")
    print(f"{'plain transformers+peft':24s} {plain_best:8.1f} samples/s")
    print(f"{'ratio ours / plain':24s} {ratio:8.2f}   (target >= {TARGET_RATIO})")
    if args.json is not None:
        result = {
            "benchmark": "bench_finetune",
            "steps": args.steps,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "ours_samples_per_s": ours_best,
            "plain_samples_per_s": plain_best,
            "ratio": ratio,
            "target_ratio": TARGET_RATIO,
        }
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
