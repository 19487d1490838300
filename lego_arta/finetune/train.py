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

Not run as a doctest: it needs a model and a build, and trains.

>>> result = finetune(FinetuneConfig(model="llava-hf/llava-1.5-7b-hf", data="out/built",
...                                  output="out/lora"))                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from lego_arta.atomic import atomic_directory, atomic_write_text, output_lock
from lego_arta.dataset.layout import MANIFEST
from lego_arta.finetune.augment import TextAugmenter, make_augmenter, replay_counts
from lego_arta.finetune.data import (
    IGNORE_INDEX,
    TASKS,
    ConversationCollator,
    ConversationDataset,
    ConversationSample,
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
    synonym_prob: float = 0.5
    synonym_depth: int = 2
    augment_negatives: float = 0.0
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

    return {
        "lego_arta": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
    }


def checkpoint_dirs(output: Path) -> list[Path]:
    """Complete checkpoints of a run folder, oldest first."""
    root = Path(output) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [path for path in root.glob(f"{CHECKPOINT_PREFIX}*") if (path / PROGRESS_FILE).is_file()]
    return sorted(found, key=lambda path: int(path.name[len(CHECKPOINT_PREFIX) :]))


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


@dataclass(frozen=True)
class _Data:
    """The conversations a run trains on: training and held-out samples, and the fingerprint a resume is checked against."""

    fingerprint: dict[str, Any]
    train: list[ConversationSample]
    held_out: list[ConversationSample]


@dataclass(frozen=True)
class _Loaders:
    """The loaders of a run, and what the loop steers per epoch (the sampler's and the dataset's epoch)."""

    train_loader: Any
    eval_loader: Any | None
    dataset: ConversationDataset
    sampler: EpochShuffleSampler
    collator: ConversationCollator


@dataclass(frozen=True)
class _Training:
    """What the loop works on, as :meth:`Accelerator.prepare` returned it (wrapped for the devices)."""

    model: Any
    optimizer: Any
    scheduler: Any
    train_loader: Any
    eval_loader: Any | None
    dataset: ConversationDataset
    sampler: EpochShuffleSampler


@dataclass(frozen=True)
class _Outcome:
    """What the loop measured in this call (a resumed run counts only what it trained itself).

    ``train_samples`` counts every process's samples; ``train_seconds`` leaves out evaluation and checkpoints.
    """

    train_loss: float | None
    eval_loss: float | None
    train_samples: int
    train_seconds: float


def _resolved_targets(model: Any) -> str | list[str]:
    """The LoRA targets peft resolved, as ``run_config.json`` records them (a regex, or sorted names)."""
    targets = model.peft_config["default"].target_modules
    return targets if isinstance(targets, str) else sorted(targets)


class _Run:
    """One fine-tuning run; :func:`finetune` is its public face.

    The attributes are fixed for the whole run (settings, folder, accelerator, checkpoint to resume,
    progress, log); everything a step makes is handed to the next one as a return value, so
    :meth:`run` reads as the order of work::

        data → model, processor → loaders → optimizer, scheduler → run files → prepare → resume → loop → adapter
    """

    def __init__(self, config: FinetuneConfig) -> None:
        from accelerate.utils import set_seed

        self.config = config
        self.output = Path(config.output)
        self.accelerator = fresh_accelerator(config)
        self.checkpoint = resolve_resume(self.output, config.resume)
        self._prepare_output()
        set_seed(config.seed)
        #: Mutated by the loop and saved with every checkpoint (registered with the accelerator).
        self.progress = TrainingProgress()
        self.log = TrainingLog(self.output / LOG_NAME)

    def run(self) -> FinetuneResult:
        data = self._load_data()
        model, processor = self._build_model()
        loaders = self._loaders(data, model, processor)
        total_steps = self._total_steps(len(loaders.train_loader))
        optimizer, scheduler = self._optimisation(model, total_steps)
        self._write_run_files(data, model, loaders.collator, total_steps)
        self._register_checkpoint_hooks()
        training = self._prepare(model, optimizer, scheduler, loaders)
        if self.checkpoint is not None:
            self._resume()
        outcome = self._train(training, total_steps)
        adapter = self._save_adapter(training.model, processor)
        return FinetuneResult(
            output=self.output,
            adapter=adapter,
            global_step=self.progress.global_step,
            train_loss=outcome.train_loss,
            eval_loss=outcome.eval_loss,
            train_samples=outcome.train_samples,
            train_seconds=outcome.train_seconds,
            model=self.accelerator.unwrap_model(training.model),
            is_main_process=self.accelerator.is_main_process,
        )

    # --- setup -------------------------------------------------------------------------------

    def _prepare_output(self) -> None:
        """Start in an empty or new folder, or in one of this command's runs (it holds :data:`RUN_CONFIG`).

        A run writes into its folder and ``--overwrite`` deletes it, so a folder holding anything
        else (a mistyped ``--out``) is refused, with or without ``--overwrite``.
        """
        accelerator = self.accelerator
        existing = (self.output / RUN_CONFIG).is_file()
        if self.output.exists() and not existing:
            if not self.output.is_dir() or self.output.is_symlink():
                raise FileExistsError(f"refusing to write a run to {self.output}: it is not a folder")
            if any(self.output.iterdir()):
                raise FileExistsError(
                    f"refusing to write a run to {self.output}: it holds files but no {RUN_CONFIG}, so it is not a "
                    "finetune run; choose an empty or new --out"
                )
        if existing and self.checkpoint is None:
            if not self.config.overwrite:
                raise FileExistsError(
                    f"{self.output} already holds a run ({RUN_CONFIG}); pass --resume to continue it or --overwrite to start over"
                )
            if accelerator.is_main_process:
                shutil.rmtree(self.output)
        accelerator.wait_for_everyone()
        self.output.mkdir(parents=True, exist_ok=True)

    def _load_data(self) -> _Data:
        config = self.config
        conversations = load_conversations(Path(config.data), "train", tasks=config.tasks, max_samples=config.max_samples, seed=config.seed)
        holdout = min(config.eval_samples, len(conversations.samples) // HOLDOUT_MAX_SHARE)
        train, held_out = split_holdout(conversations.samples, holdout, config.seed)
        return _Data(fingerprint=data_fingerprint(conversations), train=train, held_out=held_out)

    def _build_model(self) -> tuple[Any, Any]:
        """The base model with LoRA applied, and its processor (with the run's chat template, if any)."""
        config = self.config
        chat_template = Path(config.chat_template).read_text(encoding="utf-8") if config.chat_template else None
        processor = load_processor(config.model, chat_template=chat_template)
        model = load_model(config.model, dtype=PRECISION_DTYPES[config.precision])
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        model.config.use_cache = False
        return apply_lora(model, config.lora), processor

    def _loaders(self, data: _Data, model: Any, processor: Any) -> _Loaders:
        import torch

        config = self.config
        collator = ConversationCollator(processor, stop_token_ids=generation_stop_ids(model))
        dataset = ConversationDataset(data.train, augmenter=self._augmenter(), seed=config.seed)
        sampler = EpochShuffleSampler(len(dataset), config.seed)
        # Its own generator: creating a loader iterator draws a seed, which must not come from the
        # global stream (dropout), or a resumed run would see other dropout masks than the original.
        train_loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=config.batch_size,
            sampler=sampler,
            collate_fn=collator,
            num_workers=config.dataloader_workers,
            generator=torch.Generator().manual_seed(config.seed),
        )
        eval_loader = None
        if data.held_out:
            eval_loader = torch.utils.data.DataLoader(
                ConversationDataset(data.held_out, seed=config.seed),
                batch_size=config.batch_size,
                collate_fn=collator,
                num_workers=config.dataloader_workers,
                generator=torch.Generator().manual_seed(config.seed),
            )
        return _Loaders(train_loader=train_loader, eval_loader=eval_loader, dataset=dataset, sampler=sampler, collator=collator)

    def _augmenter(self) -> TextAugmenter:
        """The configured augmenter; synonym replacement uses the split of the build's own seed."""
        config = self.config
        if config.augment != "synonyms":
            return make_augmenter(config.augment)
        manifest = json.loads((Path(config.data) / MANIFEST).read_text(encoding="utf-8"))
        return make_augmenter(
            "synonyms",
            split_seed=int(manifest["seed"]),
            prob=config.synonym_prob,
            depth=config.synonym_depth,
            negatives=config.augment_negatives,
        )

    def _total_steps(self, batches_per_epoch: int) -> int:
        """Optimizer steps of the run: ``max_steps``, else every epoch's batches split over processes and accumulation.

        12 batches on 2 processes with ``grad_accum=2`` are ceil(ceil(12 / 2) / 2) = 3 steps per epoch.
        """
        config = self.config
        steps_per_epoch = math.ceil(math.ceil(batches_per_epoch / self.accelerator.num_processes) / config.grad_accum)
        return config.max_steps or config.epochs * steps_per_epoch

    def _optimisation(self, model: Any, total_steps: int) -> tuple[Any, Any]:
        import torch
        from transformers import get_scheduler

        config = self.config
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
        # The prepared scheduler steps once per process per optimizer step (Accelerate's convention).
        processes = self.accelerator.num_processes
        scheduler = get_scheduler(
            config.lr_scheduler,
            optimizer,
            num_warmup_steps=math.ceil(config.warmup_ratio * total_steps) * processes,
            num_training_steps=total_steps * processes,
        )
        return optimizer, scheduler

    def _write_run_files(self, data: _Data, model: Any, collator: ConversationCollator, total_steps: int) -> None:
        """``run_config.json`` and the data fingerprint; a resumed run is first checked against the saved ones."""
        config = self.config
        run_config = {
            "config": config.to_dict(),
            "resolved": {
                "target_modules": _resolved_targets(model),
                "train_samples": len(data.train),
                "eval_samples": len(data.held_out),
                "num_processes": self.accelerator.num_processes,
                "effective_batch_size": config.batch_size * config.grad_accum * self.accelerator.num_processes,
                "total_steps": total_steps,
                "chat_template_has_generation_blocks": collator.uses_generation_blocks,
                "append_eos": collator.append_eos,
                "augmentation": replay_counts(self._augmenter(), data.train, seed=config.seed, epochs=config.epochs),
            },
            "versions": environment_versions(),
        }
        if self.checkpoint is not None:
            self._check_resumable(data.fingerprint)
        if self.accelerator.is_main_process:
            atomic_write_text(self.output / RUN_CONFIG, json.dumps(run_config, indent=1, sort_keys=True) + "\n")
            atomic_write_text(self.output / FINGERPRINT, json.dumps(data.fingerprint, indent=1, sort_keys=True) + "\n")
            if config.augment != "none" and self.checkpoint is None:
                self.log.append({"step": 0, "augmentation": run_config["resolved"]["augmentation"]})

    def _check_resumable(self, fingerprint: dict[str, Any]) -> None:
        """A checkpoint continues only the run that wrote it: same settings, same data."""
        saved_path = self.output / RUN_CONFIG
        if not saved_path.is_file():
            raise FileNotFoundError(f"{saved_path}: missing, so {self.checkpoint} cannot be checked against this run")
        saved = json.loads(saved_path.read_text(encoding="utf-8"))["config"]
        current = json.loads(json.dumps(self.config.identity()))
        differences = sorted(key for key, value in current.items() if saved.get(key) != value)
        if differences:
            raise ValueError(
                f"{self.checkpoint} was written by a run with other settings ({', '.join(differences)}); resume with the same ones"
            )
        saved_fingerprint = json.loads((self.output / FINGERPRINT).read_text(encoding="utf-8"))["fingerprint"]
        if saved_fingerprint != fingerprint["fingerprint"]:
            raise ValueError(f"{self.checkpoint}: the training data changed since the checkpoint (data fingerprint differs)")

    def _prepare(self, model: Any, optimizer: Any, scheduler: Any, loaders: _Loaders) -> _Training:
        """Hand model, optimizer, loaders and scheduler to Accelerate; the loop uses only what it returns."""
        extra = [loaders.eval_loader] if loaders.eval_loader is not None else []
        prepared = self.accelerator.prepare(model, optimizer, loaders.train_loader, scheduler, *extra)
        model, optimizer, train_loader, scheduler = prepared[:4]
        return _Training(
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            train_loader=train_loader,
            eval_loader=prepared[4] if extra else None,
            dataset=loaders.dataset,
            sampler=loaders.sampler,
        )

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

    def _train(self, training: _Training, total_steps: int) -> _Outcome:
        """Optimizer steps from :attr:`progress` (0, or where the checkpoint left off) to ``total_steps``."""
        import torch
        from tqdm.auto import tqdm

        config, accelerator, progress = self.config, self.accelerator, self.progress
        training.model.train()
        bar = tqdm(
            total=total_steps,
            initial=progress.global_step,
            desc="fine-tune",
            unit="step",
            disable=not (config.progress and accelerator.is_local_main_process),
        )
        micro_losses: list[Any] = []
        last_loss = last_eval = None
        train_seconds, train_samples = 0.0, 0
        done = progress.global_step >= total_steps
        while not done:
            batches = self._epoch_batches(training)
            started = time.perf_counter()
            for batch in batches:
                loss, grad_norm, lr = self._micro_step(training, batch)
                micro_losses.append(loss)
                batch_samples = int(batch["input_ids"].shape[0]) * accelerator.num_processes
                progress.batches_in_epoch += 1
                progress.samples += batch_samples
                train_samples += batch_samples
                if not accelerator.sync_gradients:
                    continue
                progress.global_step += 1
                step = progress.global_step
                last_loss = float(accelerator.reduce(torch.stack(micro_losses).mean(), reduction="mean"))
                micro_losses.clear()
                if accelerator.is_main_process and step % config.log_every == 0:
                    entry = {"step": step, "epoch": progress.epoch, "loss": last_loss, "lr": lr, "samples": progress.samples}
                    if grad_norm is not None:
                        entry["grad_norm"] = float(grad_norm)
                    self.log.append(entry)
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr:.2e}")
                done = step >= total_steps
                train_seconds += time.perf_counter() - started
                if training.eval_loader is not None and ((config.eval_every and step % config.eval_every == 0) or done):
                    last_eval = self._held_out_loss(training, step, bar)
                if config.save_every and step % config.save_every == 0:
                    self._save_checkpoint()
                started = time.perf_counter()
                if done:
                    break
            else:
                train_seconds += time.perf_counter() - started
                progress.epoch += 1
                progress.batches_in_epoch = 0
        bar.close()
        return _Outcome(train_loss=last_loss, eval_loss=last_eval, train_samples=train_samples, train_seconds=train_seconds)

    def _epoch_batches(self, training: _Training) -> Any:
        """The batches of :attr:`progress`'s epoch, without those a resumed run already trained on."""
        epoch, done = self.progress.epoch, self.progress.batches_in_epoch
        training.sampler.set_epoch(epoch)
        training.dataset.set_epoch(epoch)
        training.train_loader.set_epoch(epoch)
        return self.accelerator.skip_first_batches(training.train_loader, done) if done else training.train_loader

    def _micro_step(self, training: _Training, batch: dict[str, Any]) -> tuple[Any, Any | None, float]:
        """Forward and backward one batch; the optimizer steps when Accelerate says the accumulation is complete.

        Returns the batch's (detached) loss, the gradient norm before clipping (``None`` between
        optimizer steps or without clipping) and the learning rate the step used.
        """
        accelerator, model, optimizer = self.accelerator, training.model, training.optimizer
        with accelerator.accumulate(model):
            loss = model(**batch).loss
            accelerator.backward(loss)
            detached = loss.detach().float()
            grad_norm = None
            if accelerator.sync_gradients and self.config.max_grad_norm > 0:
                grad_norm = accelerator.clip_grad_norm_(model.parameters(), self.config.max_grad_norm)
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            training.scheduler.step()
            optimizer.zero_grad()
        return detached, grad_norm, lr

    def _held_out_loss(self, training: _Training, step: int, bar: Any) -> float:
        """The held-out loss at ``step``, logged (and shown beside the bar)."""
        eval_loss = self._evaluate(training.model, training.eval_loader)
        if self.accelerator.is_main_process:
            self.log.append({"step": step, "eval_loss": eval_loss})
            if self.config.progress:
                bar.write(f"step {step}: held-out loss {eval_loss:.4f}")
        return eval_loss

    def _evaluate(self, model: Any, eval_loader: Any) -> float:
        import torch

        model.eval()
        total = torch.zeros(2, dtype=torch.float64, device=self.accelerator.device)
        with torch.no_grad():
            for batch in eval_loader:
                loss = model(**batch).loss
                tokens = (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
                total += torch.stack([loss.double() * tokens, tokens.double()])
        model.train()
        total = self.accelerator.reduce(total, reduction="sum")
        return float(total[0] / total[1])

    def _save_adapter(self, model: Any, processor: Any) -> Path:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        target = self.output / ADAPTER_DIR
        if accelerator.is_main_process:
            with atomic_directory(target, overwrite=True) as tmp:
                accelerator.unwrap_model(model).save_pretrained(tmp)
                processor.save_pretrained(tmp)
                shutil.copyfile(self.output / RUN_CONFIG, tmp / RUN_CONFIG)
                shutil.copyfile(self.output / FINGERPRINT, tmp / FINGERPRINT)
            write_loss_plot(self.log.entries(), self.output / PLOT_NAME)
        accelerator.wait_for_everyone()
        return target


def finetune(config: FinetuneConfig) -> FinetuneResult:
    """Train a LoRA adapter as ``config`` says; write it and its records under ``config.output``.

    The main process holds ``config.output``'s one-writer lock for the whole run (the other ranks
    of an ``accelerate launch`` write into the same run), so a second run into it refuses at once.
    """
    main_process = os.environ.get("RANK", "0") in ("", "0")
    with output_lock(Path(config.output)) if main_process else contextlib.nullcontext():
        return _Run(config).run()
