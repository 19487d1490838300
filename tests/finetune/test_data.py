"""Conversations → messages → batches: validation, image placement, and labels only on answer tokens."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.dataset.export import llava_view
from lego_arta.finetune.augment import IMAGE_PLACEHOLDER, augment_exchange, make_augmenter
from lego_arta.finetune.data import (
    IGNORE_INDEX,
    ConversationCollator,
    ConversationDataset,
    load_conversations,
    query_content,
    split_holdout,
)
from tests.finetune.conftest import PAIR_SAMPLES, PAIRS_JSON

#: The tiny model's <image> expands to (image_size / patch_size)^2 = (32 / 8)^2 placeholder tokens.
TINY_IMAGE_TOKENS = 16


@pytest.fixture(scope="module")
def processor(tiny_model: Path):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_model)


def _without_generation_blocks(processor):
    stripped = copy.deepcopy(processor)
    template = processor.chat_template.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    stripped.chat_template = template
    stripped.tokenizer.chat_template = template
    return stripped


def _write_json(tmp_path: Path, built: Path, entries: list) -> Path:
    """A conversations file beside the exported images (so relative image paths still resolve)."""
    path = built / "llava" / f"case-{tmp_path.name}.json"
    path.write_text(json.dumps(entries))
    return path


def _first_image(built: Path) -> str:
    return json.loads((built / "llava" / "train.json").read_text())[0]["image"]


def _entry(image: str, changes: dict) -> dict:
    entry = {
        "id": "x",
        "task": "state",
        "image": image,
        "conversations": [{"from": "human", "value": "<image>\nDid I?"}, {"from": "gpt", "value": "Yes."}],
    }
    return {**entry, **changes}


# --- loading ---------------------------------------------------------------------------------


def _sample_subset(built: Path, per_task: int):
    """The first ``per_task`` train samples of every task."""
    samples = load_conversations(built, "train").samples
    return [s for task in ("scene", "object", "state") for s in [s for s in samples if s.task == task][:per_task]]


def test_built_folder_loads_every_task_with_absolute_existing_images(built_data: Path, manifest_counts: dict) -> None:
    loaded = load_conversations(built_data, "train")
    assert loaded.task_counts() == {task: manifest_counts[task]["train"] for task in ("object", "scene", "state")}
    assert all(len(sample.images) == 1 and sample.images[0].is_absolute() and sample.images[0].is_file() for sample in loaded.samples)
    assert load_conversations(built_data, "test").task_counts() == {
        task: manifest_counts[task]["test"] for task in ("object", "scene", "state")
    }
    pairs = load_conversations(llava_view(built_data) / "llava" / PAIRS_JSON).samples
    assert len(pairs) == PAIR_SAMPLES and all(len(sample.images) == 2 for sample in pairs)


def test_task_filter_and_sample_cap_count_what_they_leave_out(built_data: Path, manifest_counts: dict) -> None:
    state = load_conversations(built_data, "train", tasks=["state"])
    assert set(state.task_counts()) == {"state"}
    assert state.left_out == {"task object": manifest_counts["object"]["train"], "task scene": manifest_counts["scene"]["train"]}
    capped = load_conversations(built_data, "train", max_samples=5, seed=3)
    again = load_conversations(built_data, "train", max_samples=5, seed=3)
    assert [s.id for s in capped.samples] == [s.id for s in again.samples] and len(capped.samples) == 5
    assert capped.left_out == {"max_samples": sum(counts["train"] for counts in manifest_counts.values()) - 5}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image": ["FIRST", "FIRST"]}, r"2 image\(s\) but 1 <image> placeholder"),
        ({"image": "images/missing.png"}, "image 'images/missing.png' not found"),
        (
            {"conversations": [{"from": "gpt", "value": "Yes."}, {"from": "human", "value": "<image>"}]},
            r"conversations\[0\] must be \{'from': 'human'",
        ),
        ({"conversations": [{"from": "human", "value": "<image>\nDid I?"}]}, "human/gpt turn pairs"),
        ({"id": ""}, "field 'id' must be a non-empty string"),
        ({"image": 7}, "field 'image' must be a path or a list"),
    ],
)
def test_malformed_entries_name_the_file_index_and_field(tmp_path: Path, built_data: Path, changes: dict, message: str) -> None:
    image = _first_image(llava_view(built_data))
    if changes.get("image") == ["FIRST", "FIRST"]:
        changes = {"image": [image, image]}
    path = _write_json(tmp_path, llava_view(built_data), [_entry(image, {"id": "fine"}), _entry(image, changes)])
    with pytest.raises((ValueError, FileNotFoundError), match=message) as error:
        load_conversations(path)
    assert f"{path}[1]" in str(error.value)


def test_a_missing_split_says_what_folder_was_expected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="lego-arta build"):
        load_conversations(tmp_path, "train")


def test_holdout_is_seeded_disjoint_and_leaves_training_data(built_data: Path) -> None:
    samples = load_conversations(built_data, "train").samples
    train, held = split_holdout(samples, 4, seed=0)
    assert len(held) == 4 and len(train) == len(samples) - 4
    assert not {s.id for s in train} & {s.id for s in held}
    assert [s.id for s in split_holdout(samples, 4, seed=0)[1]] == [s.id for s in held]
    with pytest.raises(ValueError, match="nothing would be left"):
        split_holdout(samples, len(samples), seed=0)


# --- messages --------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_characters="<"), max_size=12)


@settings(max_examples=80, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=5))
def test_each_placeholder_becomes_one_image_item_in_order(pieces: list[str]) -> None:
    query = IMAGE_PLACEHOLDER.join(pieces)
    images = [f"image-{i}" for i in range(len(pieces) - 1)]
    content = query_content(query, images)
    assert [item["image"] for item in content if item["type"] == "image"] == images
    texts = [item["text"] for item in content if item["type"] == "text"]
    assert texts == [piece.strip() for piece in pieces if piece.strip()]
    assert all(text == text.strip() and text for text in texts)


class _Shout:
    """Upper-cases the answer and appends a random digit: visible, seeded augmentation."""

    def __call__(self, query: str, answer: str, *, task: str, rng: np.random.Generator) -> tuple[str, str]:
        return query, f"{answer.upper()} {int(rng.integers(10))}"


class _DropImages:
    def __call__(self, query: str, answer: str, *, task: str, rng: np.random.Generator) -> tuple[str, str]:
        return query.replace(IMAGE_PLACEHOLDER, ""), answer


def _answers(dataset: ConversationDataset) -> list[str]:
    return [item["messages"][-1]["content"][0]["text"] for item in (dataset[i] for i in range(len(dataset)))]


def test_augmenter_sees_every_exchange_seeded_by_epoch_and_index(built_data: Path) -> None:
    samples = load_conversations(built_data, "train", tasks=["state"]).samples[:12]
    dataset = ConversationDataset(samples, augmenter=_Shout(), seed=5)
    first = _answers(dataset)
    assert first == _answers(ConversationDataset(samples, augmenter=_Shout(), seed=5))
    assert all(answer.split()[0] == sample.exchanges[0].answer.upper() for answer, sample in zip(first, samples))
    dataset.set_epoch(1)
    assert _answers(dataset) != first, "a new epoch draws new augmentations"
    assert _answers(ConversationDataset(samples, seed=5)) == [s.exchanges[0].answer for s in samples]


def test_an_augmenter_that_loses_a_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sample-7.*changed the number of <image> placeholders \(1 → 0\)"):
        augment_exchange(_DropImages(), "<image>\nq", "a", task="state", rng=np.random.default_rng(0), where="sample-7")
    with pytest.raises(ValueError, match=r"unknown augmenter 'shout'; expected one of \['none', 'synonyms'\]"):
        make_augmenter("shout")


# --- batches and labels ----------------------------------------------------------------------


def _labelled_runs(labels: torch.Tensor) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of positions whose label is not ignored."""
    keep = (labels != IGNORE_INDEX).tolist() + [False]
    runs, start = [], None
    for position, flag in enumerate(keep):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            runs.append((start, position))
            start = None
    return runs


def test_labels_are_exactly_the_answer_tokens_and_eos(processor, built_data: Path) -> None:
    samples = _sample_subset(built_data, 8)
    dataset = ConversationDataset(samples)
    tokenizer = processor.tokenizer
    collator = ConversationCollator(processor)
    assert collator.uses_generation_blocks and not collator.append_eos
    readable = 0
    for start in range(0, len(samples), 4):
        features = [dataset[i] for i in range(start, min(start + 4, len(samples)))]
        batch = collator(features)
        for row, feature in enumerate(features):
            answer = samples[start + row].exchanges[-1].answer
            labels, ids = batch["labels"][row], batch["input_ids"][row]
            runs = _labelled_runs(labels)
            assert len(runs) == 1, f"{feature['id']}: one answer, one labelled run"
            begin, end = runs[0]
            expected = tokenizer(answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
            assert labels[begin:end].tolist() == expected == ids[begin:end].tolist()
            if tokenizer.unk_token_id not in expected:  # the tiny vocabulary lacks some words
                assert tokenizer.decode(labels[begin:end]) == answer + tokenizer.eos_token
                readable += 1
            assert tokenizer.decode(ids[:begin]).rstrip().endswith("ASSISTANT:")
            assert int(batch["attention_mask"][row].sum()) == end, "the answer ends the sequence (right padding)"
    assert readable >= len(samples) // 2, "most answers must decode back to their text"


def test_templates_without_generation_blocks_give_the_same_batch(processor, built_data: Path) -> None:
    samples = _sample_subset(built_data, 2)
    dataset = ConversationDataset(samples)
    features = [dataset[i] for i in range(len(dataset))]
    tagged = ConversationCollator(processor)(features)
    plain_collator = ConversationCollator(_without_generation_blocks(processor))
    assert not plain_collator.uses_generation_blocks
    plain = plain_collator(features)
    assert tagged.keys() == plain.keys()
    for key in tagged:
        assert torch.equal(tagged[key], plain[key]), key


def test_a_template_that_never_ends_answers_gets_eos_appended(processor) -> None:
    stripped = _without_generation_blocks(processor)
    template = stripped.chat_template.replace("{{ eos_token }}", "")
    stripped.chat_template = stripped.tokenizer.chat_template = template
    collator = ConversationCollator(stripped)
    assert collator.append_eos
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Did I do it correctly?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "No."}]},
    ]
    labels = collator([{"id": "q", "messages": messages}])["labels"][0]
    assert processor.tokenizer.decode(labels[labels != IGNORE_INDEX]) == "No." + processor.tokenizer.eos_token


def test_a_model_specific_end_of_turn_token_counts_as_the_answer_end(processor) -> None:
    """Like Qwen's ``<|im_end|>``: not the tokenizer's EOS, but in the model's generation config."""
    stripped = _without_generation_blocks(processor)
    template = stripped.chat_template.replace("{{ eos_token }}", "{{ bos_token }}")
    stripped.chat_template = stripped.tokenizer.chat_template = template
    assert ConversationCollator(stripped).append_eos
    end_of_turn = processor.tokenizer.bos_token_id
    collator = ConversationCollator(stripped, stop_token_ids=[end_of_turn])
    assert not collator.append_eos
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Did I?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Yes."}]},
    ]
    labels = collator([{"id": "q", "messages": messages}])["labels"][0]
    assert labels[labels != IGNORE_INDEX].tolist()[-1] == end_of_turn


def test_a_template_that_reorders_turns_is_a_clear_error(processor) -> None:
    reordering = _without_generation_blocks(processor)
    template = "{% for message in messages | reverse %}{{ message['role'] }}: {{ message['content'][0]['text'] }} {% endfor %}"
    reordering.chat_template = reordering.tokenizer.chat_template = template
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "q"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
    ]
    with pytest.raises(ValueError, match=r"sample z: .*generation"):
        ConversationCollator(reordering, append_eos=False)([{"id": "z", "messages": messages}])


def test_several_images_per_sample_expand_in_place(processor, built_data: Path) -> None:
    pair = load_conversations(llava_view(built_data) / "llava" / PAIRS_JSON).samples[0]
    single = load_conversations(built_data, "train", tasks=["state"]).samples[0]
    dataset = ConversationDataset([pair, single])
    batch = ConversationCollator(processor)([dataset[0], dataset[1]])
    image_token = processor.image_token_id
    assert batch["pixel_values"].shape[0] == 3
    assert [int((row == image_token).sum()) for row in batch["input_ids"]] == [2 * TINY_IMAGE_TOKENS, TINY_IMAGE_TOKENS]
    assert not (batch["labels"] == image_token).any()
