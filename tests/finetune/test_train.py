"""The fine-tuning loop on the tiny LLaVA: learning, what changes, what is written, and resuming."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from lego_arta.finetune.data import ConversationCollator, ConversationDataset, load_conversations
from lego_arta.finetune.fingerprint import data_fingerprint
from lego_arta.finetune.lora import LoraSettings
from lego_arta.finetune.train import FinetuneConfig, finetune
from tests.finetune.conftest import PAIRS_JSON

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The shared run: 12 samples (1 held out) → 6 batches of 2 → 3 optimizer steps per epoch with
#: accumulation 2; 6 steps cross an epoch boundary; checkpoints every 2 steps (one mid-epoch).
RUN_STEPS = 6
RUN_SETTINGS = dict(
    precision="fp32",
    max_samples=12,
    batch_size=2,
    grad_accum=2,
    max_steps=RUN_STEPS,
    eval_every=3,
    save_every=2,
    learning_rate=1e-2,
    seed=3,
    progress=False,
)


def _config(model: Path, data: Path, output: Path, **changes) -> FinetuneConfig:
    return FinetuneConfig(model=str(model), data=str(data), output=str(output), **{**RUN_SETTINGS, **changes})


@pytest.fixture(scope="module")
def run(tiny_model: Path, built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    output = tmp_path_factory.mktemp("runs") / "lora"
    return finetune(_config(tiny_model, built_data, output))


def _log(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]


def _fresh_base(tiny_model: Path):
    from transformers import LlavaForConditionalGeneration

    return LlavaForConditionalGeneration.from_pretrained(tiny_model).eval()


def test_loss_falls_on_a_repeated_batch(tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    config = _config(
        tiny_model,
        built_data,
        tmp_path / "repeat",
        max_samples=2,
        batch_size=2,
        grad_accum=1,
        max_steps=8,
        eval_every=0,
        save_every=0,
        learning_rate=1e-2,
        lr_scheduler="constant_with_warmup",
        warmup_ratio=0.0,
        lora=LoraSettings(dropout=0.0),
    )
    result = finetune(config)
    losses = [entry["loss"] for entry in _log(result.output)]
    assert len(losses) == 8 and all(torch.isfinite(torch.tensor(losses)))
    # Plain descent on one batch: every step lowers the loss (at lr 2e-2 Adam overshot near the
    # floor on some batches: one step rose by 0.04 once the tiny vocabulary held the synonyms). The random model starts near
    # ln(vocabulary) ≈ 7 and cannot go far below (its LM head's logits span well under 1 nat).
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), str(losses)
    assert losses[-1] < losses[0] - 0.1


def test_only_lora_weights_change_and_the_vision_tower_is_untouched(run, tiny_model: Path) -> None:
    base = _fresh_base(tiny_model).state_dict()
    trained = {name.removeprefix("base_model.model."): value for name, value in run.model.state_dict().items()}
    lora = {name: value for name, value in trained.items() if ".lora_" in name}
    frozen = {name.replace(".base_layer.", "."): value for name, value in trained.items() if ".lora_" not in name}
    assert set(frozen) == set(base)
    changed = sorted(name for name in base if not torch.equal(base[name], frozen[name]))
    assert changed == []
    assert any(name.startswith("model.vision_tower.") for name in frozen)
    assert lora and all(name.startswith("model.language_model.") for name in lora)
    assert all(value.abs().sum() > 0 for name, value in lora.items() if ".lora_B." in name), "B starts at zero; training moved it"


def test_the_saved_adapter_reloads_to_identical_logits(run, tiny_model: Path, built_data: Path) -> None:
    from peft import PeftModel
    from transformers import AutoProcessor

    reloaded = PeftModel.from_pretrained(_fresh_base(tiny_model), str(run.adapter)).eval()
    samples = load_conversations(built_data, "test", max_samples=4).samples
    dataset = ConversationDataset(samples)
    batch = ConversationCollator(AutoProcessor.from_pretrained(run.adapter))([dataset[i] for i in range(len(dataset))])
    batch.pop("labels")
    run.model.eval()
    with torch.no_grad():
        assert torch.equal(run.model(**batch).logits, reloaded(**batch).logits)


def test_the_run_folder_records_config_fingerprint_log_plot_and_checkpoints(run, tiny_model: Path, built_data: Path) -> None:
    output = run.output
    recorded = json.loads((output / "run_config.json").read_text())
    assert recorded["config"]["learning_rate"] == 1e-2 and recorded["config"]["grad_accum"] == 2
    assert recorded["config"]["model"] == str(tiny_model) and recorded["config"]["tasks"] == ["scene", "object", "state", "order", "guide"]
    assert recorded["resolved"]["train_samples"] == 11 and recorded["resolved"]["eval_samples"] == 1
    assert recorded["resolved"]["effective_batch_size"] == 4 and recorded["resolved"]["total_steps"] == RUN_STEPS
    adapter_config = json.loads((run.adapter / "adapter_config.json").read_text())
    assert adapter_config["target_modules"] == recorded["resolved"]["target_modules"]
    assert adapter_config["base_model_name_or_path"] == str(tiny_model) and adapter_config["r"] == 8

    fingerprint = json.loads((output / "data_fingerprint.json").read_text())
    expected = data_fingerprint(load_conversations(built_data, "train", max_samples=12, seed=3))
    assert fingerprint == expected and fingerprint["images"]["checksums_from"] == "manifest.json"
    assert fingerprint["samples"]["count"] == 12

    log = _log(output)
    assert [entry["step"] for entry in log if "loss" in entry] == list(range(1, RUN_STEPS + 1))
    assert [entry["step"] for entry in log if "eval_loss" in entry] == [3, 6]
    assert [entry["epoch"] for entry in log if "loss" in entry] == [0, 0, 0, 1, 1, 1]
    assert [entry["samples"] for entry in log if "loss" in entry] == [4, 8, 11, 15, 19, 22]
    assert run.global_step == RUN_STEPS and run.eval_loss == log[-1]["eval_loss"]
    assert (output / "loss.png").read_bytes().startswith(PNG_MAGIC)
    assert sorted(path.name for path in (output / "checkpoints").iterdir()) == ["step-000002", "step-000004", "step-000006"]
    names = {path.name for path in run.adapter.iterdir()}
    assert {
        "adapter_config.json",
        "adapter_model.safetensors",
        "run_config.json",
        "data_fingerprint.json",
        "processor_config.json",
    } <= names


def test_fingerprint_follows_the_image_bytes(tmp_path: Path, built_data: Path, llava_data: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(llava_data / "llava", copy / "llava")
    original = data_fingerprint(load_conversations(copy, "train", max_samples=3))
    assert original["images"]["checksums_from"] == "files", "no manifest beside the copy: checksums are computed"
    assert original["fingerprint"] == data_fingerprint(load_conversations(built_data, "train", max_samples=3))["fingerprint"]
    image = load_conversations(copy, "train", max_samples=3).samples[0].images[0]
    image.write_bytes(image.read_bytes() + b"\0")
    assert data_fingerprint(load_conversations(copy, "train", max_samples=3))["fingerprint"] != original["fingerprint"]


def test_a_resumed_run_ends_with_the_same_adapter_and_log(run, tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(run.output, moved)
    shutil.rmtree(moved / "adapter")
    for late in ("step-000004", "step-000006"):
        shutil.rmtree(moved / "checkpoints" / late)
    with (moved / "train_log.jsonl").open("a") as log:  # what a crashed run might have left after its checkpoint
        log.write(json.dumps({"step": 3, "loss": 99.0}) + "\n")
    resumed = finetune(_config(tiny_model, built_data, moved, resume="latest"))
    assert resumed.global_step == RUN_STEPS
    assert resumed.train_samples == 22 - 8, "steps 3-6 only: 3 + 4 + 4 + 3 samples"
    assert _log(moved) == _log(run.output), "same steps, learning rates, losses and held-out losses"
    assert (moved / "adapter" / "adapter_model.safetensors").read_bytes() == (run.adapter / "adapter_model.safetensors").read_bytes()


def test_resume_refuses_other_settings_and_a_start_over_needs_overwrite(run, tiny_model: Path, built_data: Path) -> None:
    with pytest.raises(ValueError, match="other settings.*learning_rate"):
        finetune(_config(tiny_model, built_data, run.output, resume="latest", learning_rate=5e-3))
    with pytest.raises(FileExistsError, match="--resume.*--overwrite"):
        finetune(_config(tiny_model, built_data, run.output))
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        finetune(_config(tiny_model, built_data, run.output, resume=str(run.output / "adapter")))


def test_bad_settings_name_the_field(tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="precision 'int8'"):
        _config(tiny_model, built_data, tmp_path, precision="int8")
    with pytest.raises(ValueError, match="grad_accum must be at least 1"):
        replace(_config(tiny_model, built_data, tmp_path), grad_accum=0)
    with pytest.raises(ValueError, match="subset of"):
        _config(tiny_model, built_data, tmp_path, tasks=("scenes",))


def test_several_images_per_sample_train_in_bf16(tiny_model: Path, llava_data: Path, tmp_path: Path) -> None:
    config = _config(
        tiny_model,
        llava_data / "llava" / PAIRS_JSON,
        tmp_path / "pairs",
        precision="bf16",
        max_samples=None,
        max_steps=2,
        eval_every=0,
        save_every=0,
        grad_accum=1,
    )
    result = finetune(config)
    assert result.global_step == 2 and torch.isfinite(torch.tensor(result.train_loss))
    from safetensors.torch import load_file

    weights = load_file(result.adapter / "adapter_model.safetensors")
    assert weights and all(value.dtype == torch.float32 for value in weights.values()), "LoRA weights stay fp32 over a bf16 base"


@pytest.mark.slow
def test_the_command_runs_data_parallel_on_two_processes(tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    """``torchrun`` (what ``accelerate launch --multi_gpu`` runs) with Accelerate told to use the CPU (gloo)."""
    output = tmp_path / "launched"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "lego_arta",
        "finetune",
        "--model",
        str(tiny_model),
        "--data",
        str(built_data),
        "--out",
        str(output),
        "--precision",
        "fp32",
        "--max-samples",
        "12",
        "--batch-size",
        "2",
        "--max-steps",
        "3",
        "--save-every",
        "3",
        "--no-progress",
    ]
    environment = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.count("adapter:") == 1, "only the main process reports"
    recorded = json.loads((output / "run_config.json").read_text())
    assert recorded["resolved"]["num_processes"] == 2 and recorded["resolved"]["effective_batch_size"] == 4
    log = _log(output)
    assert [entry["samples"] for entry in log if "loss" in entry] == [4, 8, 12]
    assert [entry["step"] for entry in log] == [1, 2, 3, 3], "one log line per step, not one per process"
    # 3 steps, 1 of warm-up: the schedule peaks at step 2 whatever the number of processes.
    assert [entry["lr"] for entry in log if "lr" in entry] == pytest.approx([0.0, 2e-4, 1e-4])
    assert (output / "adapter" / "adapter_model.safetensors").is_file()
    assert sorted(path.name for path in (output / "checkpoints" / "step-000003").glob("random_states_*.pkl")) == [
        "random_states_0.pkl",
        "random_states_1.pkl",
    ]
