"""LoRA fine-tuning of an image-text-to-text model on LEGO-ARTA conversations, through Accelerate.

One loop serves a laptop CPU and ``accelerate launch`` on several GPUs: Accelerate handles the
devices, mixed precision, gradient accumulation and the process group; this module owns what
makes a run trustworthy — a seeded data order, prompt-masked labels, a held-out loss, a JSON-lines
log with its plot, checkpoints that resume to the same adapter, and the exact config plus a data
fingerprint beside the adapter.

Output folder::

    run_config.json        the exact settings, versions and resolved LoRA targets
    data_fingerprint.json  checksums of the conversations, images and chosen samples
    train_log.jsonl        {"step", "epoch", "loss", "lr", "grad_norm", "samples"} / {"step", "eval_loss"}
    loss.png               the log as a plot
    checkpoints/step-NNNNNN/   accelerate state (adapter, optimizer, scheduler, RNG) + progress
    adapter/               adapter_config.json, adapter_model.safetensors, processor, run config, fingerprint

>>> result = finetune(FinetuneConfig(model="llava-hf/llava-1.5-7b-hf", data="out/built",
...                                  output="out/lora"))                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from lego_arta.atomic import atomic_directory, atomic_write_text
from lego_arta.finetune.augment import make_augmenter
from lego_arta.finetune.data import (
    IGNORE_INDEX,
    TASKS,
    ConversationCollator,
    ConversationDataset,
    load_conversations,
    split_holdout,
)
from lego_arta.finetune.fingerprint import data_fingerprint
from lego_arta.finetune.lora import LoraSettings, apply_lora
from lego_arta.finetune.training_log import TrainingLog, write_loss_plot
from lego_arta.finetune.vlm import PRECISION_DTYPES, PRECISION_MIXED, load_model, load_processor

logger = logging.getLogger(__name__)

RUN_CONFIG = "run_config.json"
FINGERPRINT = "data_fingerprint.json"
LOG_NAME = "train_log.jsonl"
PLOT_NAME = "loss.png"
ADAPTER_DIR = "adapter"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_PREFIX = "step-"
CHECKPOINT_ADAPTER = "adapter_state"
PROGRESS_FILE = "progress.json"
#: Held-out samples for the eval loss; capped at a tenth of the data so small sets still train.
DEFAULT_EVAL_SAMPLES = 32
HOLDOUT_MAX_SHARE = 10
SCHEDULERS: tuple[str, ...] = ("linear", "cosine", "constant_with_warmup")
#: Fields that may change when a run is resumed: they steer bookkeeping, not the optimisation.
#: (A moved run folder or built folder is fine: the data fingerprint must still match.)
RESUMABLE_FIELDS = frozenset(
    {"output", "data", "resume", "progress", "eval_every", "save_every", "log_every", "dataloader_workers", "overwrite"}
)


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything that shapes a run; saved verbatim in ``run_config.json``."""

    model: str
    data: str
    output: str
    tasks: tuple[str, ...] = TASKS
    lora: LoraSettings = field(default_factory=LoraSettings)
    learning_rate: float = 2e-4
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 1
    grad_accum: int = 1
    precision: str = "bf16"
    seed: int = 0
    eval_every: int = 0
    eval_samples: int = DEFAULT_EVAL_SAMPLES
    save_every: int = 0
    resume: str | None = None
    max_samples: int | None = None
    lr_scheduler: str = "linear"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    gradient_checkpointing: bool = False
    augment: str = "none"
    chat_template: str | None = None
    dataloader_workers: int = 0
    log_every: int = 1
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.precision not in PRECISION_DTYPES:
            raise ValueError(f"precision {self.precision!r}: expected one of {sorted(PRECISION_DTYPES)}")
        if self.lr_scheduler not in SCHEDULERS:
            raise ValueError(f"lr_scheduler {self.lr_scheduler!r}: expected one of {list(SCHEDULERS)}")
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown or not self.tasks:
            raise ValueError(f"tasks {list(self.tasks)}: expected a non-empty subset of {list(TASKS)}")
        for name in ("epochs", "batch_size", "grad_accum", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_every", "save_every", "eval_samples", "dataloader_workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        return data

    def identity(self) -> dict[str, Any]:
        """The fields a resumed run must share with the run it continues."""
        return {key: value for key, value in self.to_dict().items() if key not in RESUMABLE_FIELDS}


@dataclass
class TrainingProgress:
    """Where the loop is; checkpointed through Accelerate (``register_for_checkpointing``)."""

    global_step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    samples: int = 0

    def state_dict(self) -> dict[str, int]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, int]) -> None:
        for item in fields(self):
            setattr(self, item.name, int(state[item.name]))


@dataclass(frozen=True)
class FinetuneResult:
    output: Path
    adapter: Path
    global_step: int
    train_loss: float | None
    eval_loss: float | None
    train_samples: int
    train_seconds: float
    #: The trained peft model, still in memory (for a notebook's next cell, or a test's inspection).
    model: Any = field(default=None, repr=False, compare=False)
    #: False in the other processes of a multi-process launch (they should stay quiet).
    is_main_process: bool = True

    @property
    def samples_per_second(self) -> float:
        return self.train_samples / self.train_seconds if self.train_seconds > 0 else float("nan")


class EpochShuffleSampler:
    """A permutation per epoch drawn from ``default_rng([seed, epoch])``: resumable by (epoch, position)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.size).tolist())

    def __len__(self) -> int:
        return self.size


def environment_versions() -> dict[str, str]:
    """Library versions that change numerics; recorded with every run."""
    import accelerate
    import peft
    import torch
    import transformers

    from lego_arta import __version__

    return {"lego_arta": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "accelerate": accelerate.__version__}  # fmt: skip


def checkpoint_dirs(output: Path) -> list[Path]:
    """Complete checkpoints of a run folder, oldest first."""
    root = Path(output) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [path for path in root.glob(f"{CHECKPOINT_PREFIX}*") if (path / PROGRESS_FILE).is_file()]
    return sorted(found, key=lambda path: int(path.name[len(CHECKPOINT_PREFIX):]))


def resolve_resume(output: Path, resume: str | None) -> Path | None:
    """``--resume`` → a checkpoint folder: ``latest`` (or empty) is the newest under ``output``."""
    if resume is None:
        return None
    if resume in ("", "latest"):
        found = checkpoint_dirs(output)
        if not found:
            raise FileNotFoundError(f"{output}: no checkpoint to resume from (looked in {output / CHECKPOINTS_DIR})")
        return found[-1]
    path = Path(resume)
    if not (path / PROGRESS_FILE).is_file():
        raise FileNotFoundError(f"{path}: not a checkpoint folder (no {PROGRESS_FILE})")
    return path


def generation_stop_ids(model: Any) -> list[int]:
    """Token ids that end generation for ``model`` (its generation config's ``eos_token_id``)."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        return []
    return [int(eos)] if isinstance(eos, int) else [int(token) for token in eos]


def fresh_accelerator(config: FinetuneConfig):
    """An Accelerator with exactly this run's precision and accumulation.

    Accelerate keeps its settings in process-wide singletons and refuses a second run with other
    settings in the same process (a notebook, a test session); the distributed part (the process
    group ``accelerate launch`` set up) is kept, the rest is reset.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    return Accelerator(gradient_accumulation_steps=config.grad_accum, mixed_precision=PRECISION_MIXED[config.precision])


class _Run:
    """One fine-tuning run; :func:`finetune` is its public face."""

    def __init__(self, config: FinetuneConfig) -> None:
        from accelerate.utils import set_seed

        self.config = config
        self.output = Path(config.output)
        self.accelerator = fresh_accelerator(config)
        self.checkpoint = resolve_resume(self.output, config.resume)
        self._prepare_output()
        set_seed(config.seed)
        self.progress = TrainingProgress()
        self.log = TrainingLog(self.output / LOG_NAME)

    # --- setup -------------------------------------------------------------------------------

    def _prepare_output(self) -> None:
        accelerator = self.accelerator
        existing = (self.output / RUN_CONFIG).is_file()
        if existing and self.checkpoint is None:
            if not self.config.overwrite:
                raise FileExistsError(f"{self.output} already holds a run ({RUN_CONFIG}); pass --resume to continue it or --overwrite to start over")
            if accelerator.is_main_process:
                shutil.rmtree(self.output)
        accelerator.wait_for_everyone()
        self.output.mkdir(parents=True, exist_ok=True)

    def _load_data(self) -> None:
        config = self.config
        conversations = load_conversations(Path(config.data), "train", tasks=config.tasks, max_samples=config.max_samples, seed=config.seed)
        self.fingerprint = data_fingerprint(conversations)
        holdout = min(config.eval_samples, len(conversations.samples) // HOLDOUT_MAX_SHARE)
        self.train_samples, self.eval_samples = split_holdout(conversations.samples, holdout, config.seed)

    def _build_model(self) -> None:
        config = self.config
        chat_template = Path(config.chat_template).read_text(encoding="utf-8") if config.chat_template else None
        self.processor = load_processor(config.model, chat_template=chat_template)
        model = load_model(config.model, dtype=PRECISION_DTYPES[config.precision])
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        model.config.use_cache = False
        self.model = apply_lora(model, config.lora)
        self.target_modules = self.model.peft_config["default"].target_modules

    def _loaders(self):
        import torch

        config = self.config
        collator = ConversationCollator(self.processor, stop_token_ids=generation_stop_ids(self.model))
        self.train_dataset = ConversationDataset(self.train_samples, augmenter=make_augmenter(config.augment), seed=config.seed)
        self.sampler = EpochShuffleSampler(len(self.train_dataset), config.seed)
        # Its own generator: creating a loader iterator draws a seed, which must not come from the
        # global stream (dropout), or a resumed run would see other dropout masks than the original.
        train_loader = torch.utils.data.DataLoader(
            self.train_dataset, batch_size=config.batch_size, sampler=self.sampler, collate_fn=collator,
            num_workers=config.dataloader_workers, generator=torch.Generator().manual_seed(config.seed),
        )  # fmt: skip
        eval_loader = None
        if self.eval_samples:
            eval_loader = torch.utils.data.DataLoader(
                ConversationDataset(self.eval_samples, seed=config.seed), batch_size=config.batch_size,
                collate_fn=collator, num_workers=config.dataloader_workers, generator=torch.Generator().manual_seed(config.seed),
            )  # fmt: skip
        return train_loader, eval_loader

    def _optimisation(self, steps_per_epoch: int):
        import torch
        from transformers import get_scheduler

        config = self.config
        self.total_steps = config.max_steps or config.epochs * steps_per_epoch
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
        # The prepared scheduler steps once per process per optimizer step (Accelerate's convention).
        processes = self.accelerator.num_processes
        scheduler = get_scheduler(
            config.lr_scheduler, optimizer,
            num_warmup_steps=math.ceil(config.warmup_ratio * self.total_steps) * processes,
            num_training_steps=self.total_steps * processes,
        )  # fmt: skip
        return optimizer, scheduler

    def _write_run_files(self) -> None:
        config = self.config
        run_config = {
            "config": config.to_dict(),
            "resolved": {
                "target_modules": self.target_modules if isinstance(self.target_modules, str) else sorted(self.target_modules),
                "train_samples": len(self.train_samples),
                "eval_samples": len(self.eval_samples),
                "num_processes": self.accelerator.num_processes,
                "effective_batch_size": config.batch_size * config.grad_accum * self.accelerator.num_processes,
                "total_steps": self.total_steps,
                "chat_template_has_generation_blocks": self.collator_uses_blocks,
                "append_eos": self.collator_appends_eos,
            },
            "versions": environment_versions(),
        }
        if self.checkpoint is not None:
            self._check_resumable()
        if self.accelerator.is_main_process:
            atomic_write_text(self.output / RUN_CONFIG, json.dumps(run_config, indent=1, sort_keys=True) + "\n")
            atomic_write_text(self.output / FINGERPRINT, json.dumps(self.fingerprint, indent=1, sort_keys=True) + "\n")
        self.run_config = run_config

    def _check_resumable(self) -> None:
        """A checkpoint continues only the run that wrote it: same settings, same data."""
        saved_path = self.output / RUN_CONFIG
        if not saved_path.is_file():
            raise FileNotFoundError(f"{saved_path}: missing, so {self.checkpoint} cannot be checked against this run")
        saved = json.loads(saved_path.read_text(encoding="utf-8"))["config"]
        current = json.loads(json.dumps(self.config.identity()))
        differences = sorted(key for key, value in current.items() if saved.get(key) != value)
        if differences:
            raise ValueError(f"{self.checkpoint} was written by a run with other settings ({', '.join(differences)}); resume with the same ones")
        saved_fingerprint = json.loads((self.output / FINGERPRINT).read_text(encoding="utf-8"))["fingerprint"]
        if saved_fingerprint != self.fingerprint["fingerprint"]:
            raise ValueError(f"{self.checkpoint}: the training data changed since the checkpoint (data fingerprint differs)")

    # --- checkpoints -------------------------------------------------------------------------

    def _register_checkpoint_hooks(self) -> None:
        """Checkpoints hold the adapter only (not the frozen base, gigabytes for a 7B model)."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        accelerator = self.accelerator

        def save_adapter(models: list[Any], weights: list[Any], output_dir: str) -> None:
            if accelerator.is_main_process:
                for model in models:
                    accelerator.unwrap_model(model).save_pretrained(Path(output_dir) / CHECKPOINT_ADAPTER)
            weights.clear()

        def load_adapter(models: list[Any], input_dir: str) -> None:
            while models:
                model = accelerator.unwrap_model(models.pop())
                state = load_file(Path(input_dir) / CHECKPOINT_ADAPTER / "adapter_model.safetensors")
                result = set_peft_model_state_dict(model, state)
                if result.unexpected_keys:
                    raise ValueError(f"{input_dir}: adapter weights do not fit this model ({result.unexpected_keys[:3]} …)")

        accelerator.register_save_state_pre_hook(save_adapter)
        accelerator.register_load_state_pre_hook(load_adapter)
        accelerator.register_for_checkpointing(self.progress)

    def _save_checkpoint(self) -> Path:
        accelerator = self.accelerator
        root = self.output / CHECKPOINTS_DIR
        final = root / f"{CHECKPOINT_PREFIX}{self.progress.global_step:06d}"
        staging = root / f".{final.name}.tmp"
        if accelerator.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(staging))
        if accelerator.is_main_process:
            atomic_write_text(staging / PROGRESS_FILE, json.dumps(self.progress.state_dict(), indent=1) + "\n")
            shutil.rmtree(final, ignore_errors=True)
            staging.replace(final)
            write_loss_plot(self.log.entries(), self.output / PLOT_NAME)
        accelerator.wait_for_everyone()
        return final

    def _resume(self) -> None:
        self.accelerator.load_state(str(self.checkpoint))
        if self.accelerator.is_main_process:
            dropped = self.log.truncate_after(self.progress.global_step)
            if dropped:
                logger.info("dropped %d log entries written after %s", dropped, self.checkpoint)
        self.accelerator.wait_for_everyone()

    # --- loop --------------------------------------------------------------------------------

    def _evaluate(self, eval_loader) -> float:
        import torch

        self.model.eval()
        total = torch.zeros(2, dtype=torch.float64, device=self.accelerator.device)
        with torch.no_grad():
            for batch in eval_loader:
                loss = self.model(**batch).loss
                tokens = (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
                total += torch.stack([loss.double() * tokens, tokens.double()])
        self.model.train()
        total = self.accelerator.reduce(total, reduction="sum")
        return float(total[0] / total[1])

    def run(self) -> FinetuneResult:
        import torch
        from tqdm.auto import tqdm

        config, accelerator = self.config, self.accelerator
        self._load_data()
        self._build_model()
        train_loader, eval_loader = self._loaders()
        self.collator_uses_blocks = train_loader.collate_fn.uses_generation_blocks
        self.collator_appends_eos = train_loader.collate_fn.append_eos
        steps_per_epoch = math.ceil(math.ceil(len(train_loader) / accelerator.num_processes) / config.grad_accum)
        optimizer, scheduler = self._optimisation(steps_per_epoch)
        self._write_run_files()
        self._register_checkpoint_hooks()
        prepared = accelerator.prepare(self.model, optimizer, train_loader, scheduler, *([eval_loader] if eval_loader else []))
        model, optimizer, train_loader, scheduler = prepared[:4]
        eval_loader = prepared[4] if eval_loader else None
        self.model = model
        if self.checkpoint is not None:
            self._resume()
        model.train()
        bar = tqdm(total=self.total_steps, initial=self.progress.global_step, desc="fine-tune", unit="step",
                   disable=not (config.progress and accelerator.is_local_main_process))  # fmt: skip
        micro_losses: list[float] = []
        last_loss = last_eval = None
        train_seconds, train_samples = 0.0, 0
        done = self.progress.global_step >= self.total_steps
        while not done:
            epoch = self.progress.epoch
            self.sampler.set_epoch(epoch)
            self.train_dataset.set_epoch(epoch)
            train_loader.set_epoch(epoch)
            loader = accelerator.skip_first_batches(train_loader, self.progress.batches_in_epoch) if self.progress.batches_in_epoch else train_loader
            started = time.perf_counter()
            for batch in loader:
                with accelerator.accumulate(model):
                    loss = model(**batch).loss
                    accelerator.backward(loss)
                    micro_losses.append(loss.detach().float())
                    grad_norm = None
                    if accelerator.sync_gradients and config.max_grad_norm > 0:
                        grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    lr = optimizer.param_groups[0]["lr"]
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                batch_samples = int(batch["input_ids"].shape[0]) * accelerator.num_processes
                self.progress.batches_in_epoch += 1
                self.progress.samples += batch_samples
                train_samples += batch_samples
                if not accelerator.sync_gradients:
                    continue
                self.progress.global_step += 1
                step = self.progress.global_step
                last_loss = float(accelerator.reduce(torch.stack(micro_losses).mean(), reduction="mean"))
                micro_losses.clear()
                if accelerator.is_main_process and step % config.log_every == 0:
                    entry = {"step": step, "epoch": epoch, "loss": last_loss, "lr": lr, "samples": self.progress.samples}
                    if grad_norm is not None:
                        entry["grad_norm"] = float(grad_norm)
                    self.log.append(entry)
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr:.2e}")
                done = step >= self.total_steps
                train_seconds += time.perf_counter() - started
                if eval_loader is not None and ((config.eval_every and step % config.eval_every == 0) or done):
                    last_eval = self._evaluate(eval_loader)
                    if accelerator.is_main_process:
                        self.log.append({"step": step, "eval_loss": last_eval})
                        if config.progress:
                            bar.write(f"step {step}: held-out loss {last_eval:.4f}")
                if config.save_every and step % config.save_every == 0:
                    self._save_checkpoint()
                started = time.perf_counter()
                if done:
                    break
            else:
                train_seconds += time.perf_counter() - started
                self.progress.epoch += 1
                self.progress.batches_in_epoch = 0
        bar.close()
        adapter = self._save_adapter()
        return FinetuneResult(
            output=self.output, adapter=adapter, global_step=self.progress.global_step, train_loss=last_loss,
            eval_loss=last_eval, train_samples=train_samples, train_seconds=train_seconds,
            model=accelerator.unwrap_model(model), is_main_process=accelerator.is_main_process,
        )  # fmt: skip

    def _save_adapter(self) -> Path:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        target = self.output / ADAPTER_DIR
        if accelerator.is_main_process:
            with atomic_directory(target, overwrite=True) as tmp:
                accelerator.unwrap_model(self.model).save_pretrained(tmp)
                self.processor.save_pretrained(tmp)
                shutil.copyfile(self.output / RUN_CONFIG, tmp / RUN_CONFIG)
                shutil.copyfile(self.output / FINGERPRINT, tmp / FINGERPRINT)
            write_loss_plot(self.log.entries(), self.output / PLOT_NAME)
        accelerator.wait_for_everyone()
        return target


def finetune(config: FinetuneConfig) -> FinetuneResult:
    """Train a LoRA adapter as ``config`` says; write it and its records under ``config.output``."""
    return _Run(config).run()
