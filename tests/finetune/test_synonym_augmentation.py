"""ACE's synonym-augmented fine-tuning: seen synonyms only, antonym negatives, counts logged, a real run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.finetune.augment import SynonymAugmenter, replay_counts, sample_rng
from lego_arta.finetune.data import load_conversations
from lego_arta.finetune.train import FinetuneConfig, finetune
from lego_arta.tasks.synonym_variants import synonym_split
from lego_arta.tasks.synonyms import unseen_words


def _words(text: str) -> set[str]:
    return {word.strip(".,?!:").lower() for word in text.split()}


@pytest.fixture(scope="module")
def samples(built_data: Path):
    return load_conversations(built_data, "train").samples


@settings(max_examples=40, deadline=None)
@given(split_seed=st.integers(0, 2**31 - 1), seed=st.integers(0, 2**31 - 1), depth=st.sampled_from([1, 2]))
def test_no_unseen_synonym_ever_reaches_a_training_sample(samples, split_seed: int, seed: int, depth: int) -> None:
    augmenter = SynonymAugmenter(split_seed=split_seed, prob=1.0, depth=depth, negatives=0.3)
    held = {word.lower() for word in unseen_words(synonym_split(split_seed))}
    for index, sample in enumerate(samples[:40]):
        rng = sample_rng(seed, 0, index)
        for exchange in sample.exchanges:
            query, answer = augmenter(exchange.query, exchange.answer, task=sample.task, rng=rng)
            introduced = (_words(query) | _words(answer)) - _words(exchange.query) - _words(exchange.answer)
            assert not introduced & held, (sample.id, introduced & held)


def test_antonym_negatives_turn_yes_into_no_and_spare_other_answers() -> None:
    augmenter = SynonymAugmenter(split_seed=0, prob=0.0, negatives=1.0)
    query = "<image>\n[state] After I find 1 red brick 2x4. Did I do it correctly for Attach the brick 2x4 onto the plate 6x8? Just tell me Yes or No."
    assert augmenter(query, "Yes.", task="state", rng=np.random.default_rng(0)) == (query.replace("for Attach", "for Detach"), "No.")
    assert augmenter(query, "No.", task="state", rng=np.random.default_rng(0)) == (query, "No.")
    box = "<p>1 red brick 2x4</p>{<1><2><3><4>}"
    assert augmenter("<image>\n[object] Please identify …", box, task="object", rng=np.random.default_rng(0))[1] == box


def test_replayed_counts_are_reproducible_and_differ_between_epochs(samples) -> None:
    augmenter = SynonymAugmenter(split_seed=0, prob=0.5, negatives=0.25)
    counts = replay_counts(augmenter, samples, seed=3, epochs=2)
    assert counts == replay_counts(augmenter, samples, seed=3, epochs=2)
    assert all(epoch["synonym_replacements"] > 0 for epoch in counts) and counts[0] != counts[1]


@pytest.mark.slow
def test_a_tiny_model_fine_tunes_with_synonyms_and_logs_the_replacements(tiny_model: Path, built_data: Path, tmp_path: Path) -> None:
    config = FinetuneConfig(
        model=str(tiny_model),
        data=str(built_data),
        output=str(tmp_path / "lora"),
        precision="fp32",
        max_samples=8,
        batch_size=2,
        max_steps=2,
        seed=1,
        progress=False,
        augment="synonyms",
        synonym_prob=1.0,
        augment_negatives=0.5,
    )
    result = finetune(config)
    run_config = json.loads((tmp_path / "lora" / "run_config.json").read_text())
    counts = run_config["resolved"]["augmentation"]
    assert counts[0]["synonym_replacements"] > 0 and run_config["config"]["augment"] == "synonyms"
    log = [json.loads(line) for line in (tmp_path / "lora" / "train_log.jsonl").read_text().splitlines()]
    assert log[0] == {"step": 0, "augmentation": counts} and any("loss" in entry for entry in log)
    assert result.global_step == 2
