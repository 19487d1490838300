"""LoRA placement: the language model's attention projections by default, never the vision tower."""

from __future__ import annotations

from pathlib import Path

import pytest

from lego_arta.finetune.lora import LoraSettings, apply_lora, matched_modules, parse_target_modules, resolve_target_modules


@pytest.fixture()
def model(tiny_model: Path):
    from transformers import LlavaForConditionalGeneration

    return LlavaForConditionalGeneration.from_pretrained(tiny_model)


def _attention_projections(model, prefix: str) -> list[str]:
    """Written from the LLaVA layout, not from lora.py: q/k/v/o projections under ``prefix``."""
    return sorted(
        name
        for name, _ in model.named_modules()
        if name.startswith(prefix) and name.rsplit(".", 1)[-1] in {"q_proj", "k_proj", "v_proj", "o_proj"}
    )


def test_default_targets_are_the_language_model_attention_projections_only(model) -> None:
    target = resolve_target_modules(model, None)
    assert sorted(matched_modules(model, target)) == _attention_projections(model, "model.language_model.")
    peft_model = apply_lora(model, LoraSettings())
    adapted = sorted(
        {name.split(".lora_")[0].removeprefix("base_model.model.") for name, _ in peft_model.named_parameters() if ".lora_" in name}
    )
    assert adapted == _attention_projections(model, "model.language_model.")
    trainable = [name for name, parameter in peft_model.named_parameters() if parameter.requires_grad]
    assert trainable and all(".lora_A." in name or ".lora_B." in name for name in trainable)
    assert not any("vision_tower" in name or "multi_modal_projector" in name for name in trainable)


def test_a_plain_name_list_hits_the_vision_tower_too_as_peft_defines_it(model) -> None:
    target = parse_target_modules("q_proj, v_proj")
    assert target == ["q_proj", "v_proj"]
    hit = matched_modules(model, target)
    assert any(name.startswith("model.vision_tower.") for name in hit) and any(name.startswith("model.language_model.") for name in hit)


def test_a_regex_override_is_used_verbatim(model) -> None:
    target = resolve_target_modules(model, r"model\.language_model\..*\.(gate_proj|up_proj)")
    assert sorted(matched_modules(model, target)) == sorted(
        name for name, _ in model.named_modules() if name.startswith("model.language_model.") and name.endswith(("gate_proj", "up_proj"))
    )


def test_targets_that_match_nothing_list_the_linear_layer_names(model) -> None:
    with pytest.raises(ValueError, match=r"matches no module.*'o_proj'.*'q_proj'"):
        resolve_target_modules(model, "wqkv")
    with pytest.raises(ValueError, match="not a valid regex"):
        parse_target_modules("model.(q_proj")


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rank"):
        LoraSettings(rank=0)
    with pytest.raises(ValueError, match="dropout"):
        LoraSettings(dropout=1.0)
