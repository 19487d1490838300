"""The tiny LLaVA: loads offline with the Auto classes, generates, masks answers, is reproducible."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from lego_arta.models.tiny_vlm import TINY_RECORD, build_tiny_vlm
from tests.support.cli import run_command
from tests.support.folders import folder_files

QUERY = "[state] After I find 2 bright red bricks 2x4. Did I do it correctly? Just tell me Yes or No."
ANSWER = "Yes."


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "model", seed=0)


def _image(width: int = 50, height: int = 40) -> Image.Image:
    return Image.new("RGB", (width, height), (200, 30, 30))


def _messages(image: Image.Image, *, answer: str | None = None) -> list[dict]:
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": QUERY}]}]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def test_loads_with_auto_classes_and_generates(tiny_dir: Path) -> None:
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(tiny_dir)
    model = LlavaForConditionalGeneration.from_pretrained(tiny_dir)
    assert type(processor.image_processor).__name__ == "CLIPImageProcessorPil"
    prompt = processor.apply_chat_template(_messages(_image()), add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[_image()], text=prompt, return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert output.shape[1] == inputs["input_ids"].shape[1] + 4


def test_image_is_one_token_that_expands_to_one_per_patch(tiny_dir: Path) -> None:
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(tiny_dir)
    model = LlavaForConditionalGeneration.from_pretrained(tiny_dir)
    assert len(processor.tokenizer.encode("<image>", add_special_tokens=False)) == 1
    assert model.config.image_token_id == processor.image_token_id
    patches_per_side = 32 // 8  # default image_size 32, patch_size 8; CLIP's CLS token is dropped
    for size in ((50, 40), (13, 77)):  # any input size is resized and cropped to 32x32
        prompt = processor.apply_chat_template(_messages(_image(*size)), add_generation_prompt=True, tokenize=False)
        inputs = processor(images=[_image(*size)], text=prompt, return_tensors="pt")
        assert int((inputs["input_ids"] == processor.image_token_id).sum()) == patches_per_side**2
        assert tuple(inputs["pixel_values"].shape) == (1, 3, 32, 32)
        model(**inputs)  # raises when image features and placeholder tokens disagree


def test_assistant_mask_covers_exactly_the_answer_and_eos(tiny_dir: Path) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_dir)
    encoded = processor.apply_chat_template(
        _messages(_image(), answer=ANSWER), tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = encoded["input_ids"][0], encoded["assistant_masks"][0]
    answer_ids = [token for token, keep in zip(ids, mask) if keep]
    assert processor.tokenizer.decode(answer_ids, skip_special_tokens=True).strip() == ANSWER
    assert answer_ids[-1] == processor.tokenizer.eos_token_id
    assert ids[0] == processor.tokenizer.bos_token_id and ids.count(processor.tokenizer.bos_token_id) == 1


@pytest.mark.parametrize(
    "text",
    [QUERY, "<p>1 light purple brick</p>{<57><15><82><35>}", "[object] Please identify and highlight the positions of 2 red plates."],
)
def test_tokenizer_round_trips_benchmark_text_without_unknowns(tiny_dir: Path, text: str) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path, tiny_dir: Path) -> None:
    import torch

    global_state = torch.random.get_rng_state()
    again = build_tiny_vlm(tmp_path / "again", seed=0)
    assert torch.equal(torch.random.get_rng_state(), global_state), "building must not consume the global RNG"
    other = build_tiny_vlm(tmp_path / "other", seed=1)
    assert _digests(again) == _digests(tiny_dir)
    assert _digests(other)["model.safetensors"] != _digests(tiny_dir)["model.safetensors"]
    assert _digests(other)["tokenizer.json"] == _digests(tiny_dir)["tokenizer.json"]


def test_cli_adapter_builds_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "cli-model"
    assert run_command("tiny-model", ["--out", str(out), "--seed", "3"]) == 0
    assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()
    with pytest.raises(FileExistsError):
        run_command("tiny-model", ["--out", str(out)])


def test_overwrite_replaces_only_a_folder_tiny_model_wrote(tmp_path: Path, tiny_dir: Path) -> None:
    """Issue 16: ``--overwrite`` deleted any folder; a real model's folder (config.json, weights) included."""
    real_model = tmp_path / "llava-7b"
    real_model.mkdir()
    (real_model / "config.json").write_text('{"model_type": "llava"}')
    (real_model / "model.safetensors").write_bytes(b"weights")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep")
    for foreign in (real_model, notes):
        before = folder_files(foreign)
        with pytest.raises(FileExistsError, match=f"holds no {TINY_RECORD}"):
            run_command("tiny-model", ["--out", str(foreign), "--overwrite"])
        assert folder_files(foreign) == before
    mine = tmp_path / "mine"
    assert run_command("tiny-model", ["--out", str(mine), "--seed", "1"]) == 0
    assert json.loads((mine / TINY_RECORD).read_text())["seed"] == 1
    assert run_command("tiny-model", ["--out", str(mine), "--overwrite"]) == 0
    assert folder_files(mine) == folder_files(tiny_dir), "seed 0 again: the replaced folder is the seed-0 model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llava-7b", "mine", "notes"], "nothing half-written beside"
