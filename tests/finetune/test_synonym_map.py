"""``lego-arta synonym-map``: the similarity numbers, the adapter's effect, and the written files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.cli import main
from lego_arta.finetune.lora import LoraSettings, apply_lora
from lego_arta.finetune.synonym_map import FORMAT, JSON_NAME, PNG_NAME, concept_similarity, synonym_map
from lego_arta.finetune.vlm import load_model
from lego_arta.models.tiny_vlm import build_tokenizer, synonym_words
from lego_arta.tasks.synonyms import load_trees


def _adapter(tiny_model: Path, out: Path, *, perturb: bool) -> Path:
    torch.manual_seed(0)
    model = apply_lora(load_model(tiny_model), LoraSettings())
    if perturb:  # a stand-in for training: LoRA's B starts at zero, so a fresh adapter changes nothing
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_B" in name:
                    parameter.copy_(torch.randn_like(parameter))
    model.save_pretrained(out)
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_orthogonal_concepts_give_within_one_and_between_zero(n_concepts: int, per_concept: int, seed: int) -> None:
    axes = np.eye(n_concepts)
    scale = np.random.default_rng(seed).uniform(0.1, 10, size=(n_concepts, per_concept))
    vectors = {f"w{c}-{k}": scale[c, k] * axes[c] for c in range(n_concepts) for k in range(per_concept)}
    concepts = {f"C{c}": [f"w{c}-{k}" for k in range(per_concept)] for c in range(n_concepts)}
    if per_concept == 1:
        with pytest.raises(ValueError, match="within a concept"):
            concept_similarity(vectors, concepts)
        return
    result = concept_similarity(vectors, concepts)
    assert result.within == pytest.approx(1.0) and result.between == pytest.approx(0.0)
    assert result.separation == pytest.approx(1.0)


def test_a_word_in_two_trees_is_within_both_concepts() -> None:
    vectors = {"put": np.array([1.0, 0.0]), "set": np.array([0.0, 1.0]), "lay": np.array([1.0, 1.0])}
    # put–set share concept P, set–lay share S: both pairs are within; put–lay is the only between pair.
    result = concept_similarity(vectors, {"P": ["put", "set"], "S": ["set", "lay"]})
    assert result.within == pytest.approx((0.0 + 2**-0.5) / 2)
    assert result.between == pytest.approx(2**-0.5)


def test_every_synonym_is_a_real_token_of_the_tiny_model() -> None:
    tokenizer = build_tokenizer()
    for word in synonym_words():
        for form in (word, word.capitalize()):
            assert tokenizer.unk_token_id not in tokenizer(form)["input_ids"], form


def test_a_fresh_adapter_changes_nothing_and_a_changed_one_moves_the_words(tiny_model: Path, tmp_path: Path) -> None:
    fresh = synonym_map(tiny_model, adapter=_adapter(tiny_model, tmp_path / "fresh", perturb=False))
    for word, vector in fresh.vectors["base"].items():
        np.testing.assert_allclose(fresh.vectors["adapter"][word], vector, rtol=1e-5, atol=1e-6)
    moved = synonym_map(tiny_model, adapter=_adapter(tiny_model, tmp_path / "moved", perturb=True))
    shifts = [np.linalg.norm(moved.vectors["adapter"][w] - v) for w, v in moved.vectors["base"].items()]
    assert min(shifts) > 1e-3
    assert moved.models["adapter"] != moved.models["base"]
    trees = load_trees()
    assert set(moved.vectors["base"]) == {word for tree in trees.trees.values() for word in tree.words()}


def test_the_command_writes_the_numbers_and_the_picture_byte_identically(tiny_model: Path, tmp_path: Path) -> None:
    adapter = _adapter(tiny_model, tmp_path / "adapter", perturb=True)
    written = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(["synonym-map", "--model", str(tiny_model), "--adapter", str(adapter), "--out", str(out)]) == 0
        written.append(((out / JSON_NAME).read_bytes(), (out / PNG_NAME).read_bytes()))
    assert written[0] == written[1]
    document = json.loads(written[0][0])
    assert document["format"] == FORMAT and set(document["models"]) == {"base", "adapter"}
    for numbers in document["models"].values():
        assert numbers["separation"] == pytest.approx(numbers["within"] - numbers["between"])
        assert -1 <= numbers["between"] <= 1 and -1 <= numbers["within"] <= 1
    assert set(document["unseen"]) <= {w for words in document["concepts"].values() for w in words}
    assert written[0][1][:8] == b"\x89PNG\r\n\x1a\n"


def test_a_frame_without_the_verb_placeholder_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    assert main(["synonym-map", "--model", str(tiny_model), "--out", str(tmp_path), "--frame", "the brick"]) == 2
