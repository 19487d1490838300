"""Merging an adapter into its base for the harness, and the "w/ LoRA" run through real lmms-eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lego_arta.atomic import OutputBusyError
from lego_arta.finetune.data import ConversationCollator, ConversationDataset, load_conversations
from lego_arta.finetune.merge import MERGE_RECORD, find_adapter, merge_adapter, model_args_with_adapter, prepare_model_for_eval
from lego_arta.finetune.train import FinetuneConfig, finetune
from tests.support.cli import run_command
from tests.support.folders import folder_files
from tests.support.lock_holder import hold_output

# Written out here: the state task's metrics as its task card promises them.
STATE_METRICS = ("f1", "tnr", "fpr", "invalid_rate")


@pytest.fixture(scope="module")
def run(tiny_model: Path, built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """A short run whose adapter has moved away from zero (large steps), so merging changes outputs."""
    config = FinetuneConfig(
        model=str(tiny_model),
        data=str(built_data),
        output=str(tmp_path_factory.mktemp("merge-runs") / "lora"),
        precision="fp32",
        max_samples=8,
        batch_size=2,
        max_steps=3,
        learning_rate=5e-2,
        seed=1,
        progress=False,
    )
    return finetune(config)


def _batch(processor_dir: Path, built_data: Path) -> dict:
    from transformers import AutoProcessor

    dataset = ConversationDataset(load_conversations(built_data, "test", max_samples=3).samples)
    batch = ConversationCollator(AutoProcessor.from_pretrained(processor_dir))([dataset[i] for i in range(len(dataset))])
    batch.pop("labels")
    return batch


def test_without_an_adapter_the_base_is_evaluated_as_is(tmp_path: Path) -> None:
    assert prepare_model_for_eval("llava-hf/llava-1.5-7b-hf", None, tmp_path / "work") == "llava-hf/llava-1.5-7b-hf"
    assert not (tmp_path / "work").exists()


def test_the_merged_folder_computes_what_base_plus_adapter_computes(run, tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    merged_path = Path(prepare_model_for_eval(str(tiny_model), run.output, tmp_path / "work"))
    assert merged_path == (tmp_path / "work" / "merged").resolve()
    merged = LlavaForConditionalGeneration.from_pretrained(merged_path).eval()
    base = LlavaForConditionalGeneration.from_pretrained(tiny_model).eval()
    adapted = PeftModel.from_pretrained(LlavaForConditionalGeneration.from_pretrained(tiny_model), str(run.adapter)).eval()
    batch = _batch(merged_path, built_data)
    with torch.no_grad():
        merged_logits, adapted_logits, base_logits = (model(**batch).logits for model in (merged, adapted, base))
    torch.testing.assert_close(merged_logits, adapted_logits, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(merged_logits, base_logits, atol=1e-4), "the adapter must matter, or this test proves nothing"
    assert AutoProcessor.from_pretrained(merged_path).chat_template == AutoProcessor.from_pretrained(run.adapter).chat_template
    record = json.loads((merged_path / MERGE_RECORD).read_text())
    assert record["base"] == str(tiny_model) and record["adapter"] == str(run.adapter.resolve())


def test_a_current_merge_is_reused_and_a_changed_adapter_is_merged_again(run, tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    work = tmp_path / "work"
    first = Path(prepare_model_for_eval(str(tiny_model), run.adapter, work))
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert Path(prepare_model_for_eval(str(tiny_model), run.adapter, work)) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    changed = tmp_path / "changed-adapter"
    shutil.copytree(run.adapter, changed)
    from safetensors.torch import load_file, save_file

    weights = {name: value * 2 for name, value in load_file(changed / "adapter_model.safetensors").items()}
    save_file(weights, changed / "adapter_model.safetensors")
    before = (first / "model.safetensors").read_bytes()
    prepare_model_for_eval(str(tiny_model), changed, work)
    assert (first / "model.safetensors").read_bytes() != before


def test_model_args_get_the_merged_folder_in_place_of_the_base(run, tiny_model: Path, tmp_path: Path) -> None:
    merged = str((tmp_path / "work" / "merged").resolve())
    assert model_args_with_adapter("device=cpu", None, tmp_path / "work") == "device=cpu"
    rewritten = model_args_with_adapter(f"pretrained={tiny_model},device=cpu,device_map=cpu", run.output, tmp_path / "work")
    assert rewritten == f"pretrained={merged},device=cpu,device_map=cpu"
    assert model_args_with_adapter("device=cpu", run.adapter, tmp_path / "work") == f"pretrained={merged},device=cpu"


def test_a_folder_without_an_adapter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no adapter_config.json"):
        find_adapter(tmp_path)
    with pytest.raises(FileNotFoundError, match="no adapter_config.json"):
        prepare_model_for_eval("base", tmp_path, tmp_path / "work")


def test_merge_command_writes_a_from_pretrained_folder(run, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from transformers import AutoModelForImageTextToText

    assert run_command("merge", ["--adapter", str(run.output), "--out", str(tmp_path / "merged")]) == 0
    assert "merged model:" in capsys.readouterr().out
    model = AutoModelForImageTextToText.from_pretrained(tmp_path / "merged")
    assert not any("lora_" in name for name, _ in model.named_parameters())
    with pytest.raises(FileExistsError):
        merge_adapter(run.output, tmp_path / "merged")
    assert run_command("merge", ["--adapter", str(run.output), "--out", str(tmp_path / "merged"), "--overwrite"]) == 0


def test_a_merge_into_a_folder_another_writer_holds_refuses_at_once_naming_it(run, tmp_path: Path) -> None:
    """Issue 28: one writer per output folder. A second merge (here: any holder of the lock) running into
    ``--out`` makes the merge refuse before it loads a model, and nothing is written there or beside it."""
    out = tmp_path / "merged"
    holder = hold_output(out)
    try:
        for extra in ([], ["--overwrite"]):
            with pytest.raises(OutputBusyError, match=f"PID {holder.pid}"):
                run_command("merge", ["--adapter", str(run.output), "--out", str(out), *extra])
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert run_command("merge", ["--adapter", str(run.output), "--out", str(out)]) == 0  # a killed holder frees it
    assert (out / MERGE_RECORD).is_file()


def test_merge_overwrite_refuses_a_folder_it_did_not_write(run, tiny_model: Path, tmp_path: Path) -> None:
    """Issue 16: ``merge --out <the base model> --overwrite`` would have deleted the base model."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep")
    for foreign in (tiny_model, notes):
        before = folder_files(foreign)
        with pytest.raises(FileExistsError, match=f"holds no {MERGE_RECORD}"):
            run_command("merge", ["--adapter", str(run.output), "--out", str(foreign), "--overwrite"])
        assert folder_files(foreign) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"], "nothing half-written beside"


@pytest.mark.slow
def test_eval_with_an_adapter_runs_the_merged_model_through_lmms_eval(run, tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    """`lego-arta eval --adapter`: the user's w/-LoRA command, end to end through the real CLI."""
    from lego_arta.cli import main

    output = tmp_path / "eval"
    status = main(
        [
            "eval",
            "--data",
            str(built_data),
            "--model",
            "llava_hf",
            "--model-args",
            f"pretrained={tiny_model},device=cpu,device_map=cpu",
            "--tasks",
            "lego_arta_state",
            "--out",
            str(output),
            "--limit",
            "2",
            "--adapter",
            str(run.output),
        ]
    )
    assert status == 0
    (path,) = sorted(output.rglob("*_results.json"))
    results = json.loads(path.read_text())
    assert results["n-samples"]["lego_arta_state"]["effective"] == 2
    scores = results["results"]["lego_arta_state"]
    assert all(isinstance(scores[f"{metric},none"], float) for metric in STATE_METRICS)
    merged = output / "model" / "merged"
    assert f"pretrained={merged.resolve()}" in results["config"]["model_args"]
    record = json.loads((merged / "merged_from.json").read_text())
    assert record["base"] == str(tiny_model)
