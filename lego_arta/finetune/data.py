"""LLaVA-style conversations of a built folder → chat messages → model batches with prompt-masked labels.

A LLaVA export of a build (``lego-arta export llava``, made on demand from a built folder) holds
``llava/<split>.json``: a list of ``{"id", "task", "image", "conversations"}``
where ``image`` is one path or a list (relative to ``llava/``) and the human turns carry one
``<image>`` placeholder per image. Each sample becomes chat messages in the Hugging Face format
(``{"type": "image"}`` items where the placeholders were), rendered by the model's OWN chat
template, so a fine-tuned model sees exactly the prompt format it is later evaluated with.

Only answer tokens carry loss. With a template whose assistant turns sit in
``{% generation %}`` blocks the processor reports them (``return_assistant_tokens_mask=True``).
Most Hub templates have no such block (the mask would silently be all zeros), so for those the
answer's character span is found by rendering the conversation with and without each answer
(``add_generation_prompt=True`` renders the prompt up to where the answer starts) and mapped
onto tokens through the processor's offsets, image-token expansion included.

Not run as a doctest: it needs a build and a model's processor.

>>> samples = load_conversations(Path("out/built"), "train", tasks=("state",))   # doctest: +SKIP
>>> collator = ConversationCollator(processor)                                      # doctest: +SKIP
>>> batch = collator([ConversationDataset(samples)[0]])                             # doctest: +SKIP
>>> batch["labels"]   # -100 everywhere but the answer (and its end-of-turn token)  # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lego_arta.dataset.export import llava_view
from lego_arta.dataset.layout import LLAVA_DIR, MANIFEST, llava_json_name
from lego_arta.finetune.augment import IMAGE_PLACEHOLDER, IdentityAugmenter, TextAugmenter, augment_exchange, sample_rng
from lego_arta.tasks import TASKS as TASKS_REGISTRY

#: Tasks with a train split (an evaluation-only variant has none): what fine-tuning can learn from.
TASKS: tuple[str, ...] = tuple(name for name, spec in TASKS_REGISTRY.items() if "train" in spec.splits)
HUMAN, GPT = "human", "gpt"
#: Label value the loss ignores (``torch.nn.CrossEntropyLoss`` default).
IGNORE_INDEX = -100
GENERATION_BLOCK = re.compile(r"\{%-?\s*generation\s*-?%\}")
#: A tiny exchange rendered once per collator to learn whether the template ends an answer with EOS.
_PROBE_QUERY, _PROBE_ANSWER = "probe", "yes"


@dataclass(frozen=True)
class Exchange:
    """One human turn (with its ``<image>`` placeholders) and the answer that follows it."""

    query: str
    answer: str


@dataclass(frozen=True)
class ConversationSample:
    """One training sample: its images (absolute paths) and its exchanges, in order."""

    id: str
    task: str
    images: tuple[Path, ...]
    exchanges: tuple[Exchange, ...]


@dataclass(frozen=True)
class ConversationSet:
    """Samples loaded from one JSON file, and how many of each task were left out (by ``tasks``/``max_samples``)."""

    source: Path
    samples: tuple[ConversationSample, ...]
    left_out: dict[str, int] = field(default_factory=dict)

    def task_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(sample.task for sample in self.samples).items()))


def llava_json_path(data: Path, split: str) -> Path:
    """``data`` may be a built folder, a LLaVA export (``lego-arta export llava``), its ``llava/``
    folder, or a conversations JSON file. A build stores its images once, in Parquet: its LLaVA
    export is made on first use and reused (:func:`~lego_arta.dataset.export.llava_view`)."""
    data = Path(data)
    if data.is_file():
        return data
    if (data / MANIFEST).is_file() and not (data / LLAVA_DIR).is_dir() and any(data.glob("*/*.parquet")):
        data = llava_view(data)
    for candidate in (data / LLAVA_DIR / llava_json_name(split), data / llava_json_name(split)):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{data}: no {LLAVA_DIR}/{llava_json_name(split)} (expected a folder written by `lego-arta build` or "
        f"`lego-arta export llava`, its {LLAVA_DIR}/ folder, or a LLaVA conversations JSON file)"
    )


def _string(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return value


def _image_paths(entry: Mapping[str, Any], root: Path, where: str) -> tuple[Path, ...]:
    value = entry.get("image")
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"{where}: field 'image' must be a path or a list of paths, got {value!r}")
    paths = tuple((root / name).resolve() for name in names)
    for name, path in zip(names, paths):
        if not path.is_file():
            raise FileNotFoundError(f"{where}: image {name!r} not found (looked for {path})")
    return paths


def _exchanges(entry: Mapping[str, Any], where: str) -> tuple[Exchange, ...]:
    turns = entry.get("conversations")
    if not isinstance(turns, list) or not turns or len(turns) % 2:
        raise ValueError(f"{where}: field 'conversations' must be a non-empty list of human/gpt turn pairs")
    exchanges = []
    for index in range(0, len(turns), 2):
        pair = turns[index : index + 2]
        for offset, (turn, role) in enumerate(zip(pair, (HUMAN, GPT))):
            if not isinstance(turn, Mapping) or turn.get("from") != role or not isinstance(turn.get("value"), str):
                raise ValueError(f"{where}: conversations[{index + offset}] must be {{'from': {role!r}, 'value': <text>}}, got {turn!r}")
        if IMAGE_PLACEHOLDER in pair[1]["value"]:
            raise ValueError(f"{where}: conversations[{index + 1}] (an answer) contains {IMAGE_PLACEHOLDER}")
        exchanges.append(Exchange(query=pair[0]["value"], answer=pair[1]["value"]))
    return tuple(exchanges)


def parse_llava_entry(entry: Any, *, root: Path, where: str) -> ConversationSample:
    """One JSON entry → :class:`ConversationSample`; errors name ``where`` and the field."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    task = _string(entry, "task", where)
    images = _image_paths(entry, root, where)
    exchanges = _exchanges(entry, where)
    placeholders = sum(exchange.query.count(IMAGE_PLACEHOLDER) for exchange in exchanges)
    if placeholders != len(images):
        raise ValueError(f"{where}: {len(images)} image(s) but {placeholders} {IMAGE_PLACEHOLDER} placeholder(s) in the human turns")
    return ConversationSample(id=_string(entry, "id", where), task=task, images=images, exchanges=exchanges)


def choose_subset(count: int, limit: int, seed: int) -> list[int]:
    """``limit`` of ``count`` indices, seeded, in their original order (so every task keeps its share)."""
    if limit >= count:
        return list(range(count))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(count, size=limit, replace=False))


def load_conversations(
    data: Path,
    split: str = "train",
    *,
    tasks: Sequence[str] | None = None,
    max_samples: int | None = None,
    seed: int = 0,
) -> ConversationSet:
    """Read and validate ``<data>/llava/<split>.json``; keep ``tasks`` and at most ``max_samples`` (seeded)."""
    path = llava_json_path(data, split)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of conversations, got {type(entries).__name__}")
    wanted = set(tasks) if tasks else None
    samples: list[ConversationSample] = []
    left_out: Counter[str] = Counter()
    for index, entry in enumerate(entries):
        sample = parse_llava_entry(entry, root=path.parent, where=f"{path}[{index}]")
        if wanted is not None and sample.task not in wanted:
            left_out[f"task {sample.task}"] += 1
            continue
        samples.append(sample)
    if not samples:
        raise ValueError(f"{path}: no conversations for tasks {sorted(wanted or ())} (found {sorted(left_out)})")
    if max_samples is not None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples}")
        kept = choose_subset(len(samples), max_samples, seed)
        left_out["max_samples"] += len(samples) - len(kept)
        samples = [samples[i] for i in kept]
    return ConversationSet(source=path, samples=tuple(samples), left_out=dict(sorted(left_out.items())))


def split_holdout(
    samples: Sequence[ConversationSample], count: int, seed: int
) -> tuple[list[ConversationSample], list[ConversationSample]]:
    """(train, held-out): ``count`` samples set aside (seeded) to watch the loss on unseen data."""
    if count <= 0:
        return list(samples), []
    if count >= len(samples):
        raise ValueError(f"cannot hold out {count} of {len(samples)} samples: nothing would be left to train on")
    held = set(choose_subset(len(samples), count, seed + 1))
    return [s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in held]


def query_content(query: str, images: Sequence[Any]) -> list[dict[str, Any]]:
    """A human turn as content items: an image item where each ``<image>`` was, text between.

    >>> [item["type"] for item in query_content("<image>\\n<image>\\nWhich one?", ["a", "b"])]
    ['image', 'image', 'text']
    """
    pieces = query.split(IMAGE_PLACEHOLDER)
    content: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        if index:
            content.append({"type": "image", "image": images[index - 1]})
        if piece.strip():
            content.append({"type": "text", "text": piece.strip()})
    return content


def to_messages(
    sample: ConversationSample,
    images: Sequence[Any],
    *,
    augmenter: TextAugmenter | None = None,
    rng: np.random.Generator | None = None,
) -> list[dict[str, Any]]:
    """Chat messages of one sample with ``images`` (loaded, in order) in place of the placeholders."""
    augmenter = augmenter or IdentityAugmenter()
    rng = rng if rng is not None else np.random.default_rng(0)
    messages: list[dict[str, Any]] = []
    used = 0
    for number, exchange in enumerate(sample.exchanges):
        query, answer = augment_exchange(
            augmenter, exchange.query, exchange.answer, task=sample.task, rng=rng, where=f"sample {sample.id} exchange {number}"
        )
        count = query.count(IMAGE_PLACEHOLDER)
        messages.append({"role": "user", "content": query_content(query, images[used : used + count])})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        used += count
    return messages


def load_image(path: Path):
    """An RGB PIL image; unreadable files name themselves."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"{path}: not a readable image ({error})") from error


class ConversationDataset:
    """Map-style dataset of chat messages; augmentation is seeded per (epoch, index).

    Call :meth:`set_epoch` at the start of every epoch so augmented text differs between epochs
    yet is identical when a run is resumed.
    """

    def __init__(self, samples: Sequence[ConversationSample], *, augmenter: TextAugmenter | None = None, seed: int = 0) -> None:
        self.samples = list(samples)
        self.augmenter = augmenter or IdentityAugmenter()
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        images = [load_image(path) for path in sample.images]
        rng = sample_rng(self.seed, self.epoch, index)
        return {"id": sample.id, "messages": to_messages(sample, images, augmenter=self.augmenter, rng=rng)}


def has_generation_blocks(chat_template: str | None) -> bool:
    """Whether the template marks assistant text with ``{% generation %}`` (masks come for free)."""
    return bool(chat_template and GENERATION_BLOCK.search(chat_template))


def _template(processor: Any) -> str:
    template = getattr(processor, "chat_template", None) or getattr(getattr(processor, "tokenizer", None), "chat_template", None)
    if isinstance(template, Mapping):
        template = template.get("default")
    if not isinstance(template, str) or not template:
        raise ValueError(
            f"{type(processor).__name__} has no chat template: fine-tuning renders conversations with the model's own template"
        )
    return template


def assistant_char_spans(processor: Any, messages: Sequence[Mapping[str, Any]], *, where: str) -> tuple[str, list[tuple[int, int]]]:
    """(rendered text, character span of every answer) without generation blocks.

    The prompt rendered with ``add_generation_prompt=True`` must be a prefix of the conversation
    with the answer (true for templates that render turns left to right); otherwise the
    template is unusable for masking and the error says so.
    """
    full = processor.apply_chat_template(list(messages), tokenize=False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = processor.apply_chat_template(list(messages[:index]), tokenize=False, add_generation_prompt=True)
        upto = processor.apply_chat_template(list(messages[: index + 1]), tokenize=False)
        if not (full.startswith(prompt) and full.startswith(upto) and len(upto) > len(prompt)):
            raise ValueError(
                f"{where}: the chat template does not render turns as prefixes of the conversation, so the answer "
                f"tokens cannot be located; use a template with {{% generation %}} blocks (pass --chat-template)"
            )
        spans.append((len(prompt), len(upto)))
    return full, spans


def spans_to_token_mask(
    spans: Sequence[tuple[int, int]], offsets: Sequence[tuple[int, int]], replacements: Sequence[Mapping[str, Any]]
) -> list[int]:
    """1 for every token overlapping a span; spans are shifted past expanded image placeholders first."""
    ends = [r["span"][1] for r in replacements]
    gained = [0] + [r["new_span"][1] - r["span"][1] for r in replacements]
    mask = [0] * len(offsets)
    for span in spans:
        start, end = (char + gained[bisect.bisect_right(ends, char)] for char in span)
        for position, (token_start, token_end) in enumerate(offsets):
            if token_start < end and token_end > start:
                mask[position] = 1
    return mask


class ConversationCollator:
    """Batch chat messages into model inputs with ``labels`` (-100 outside the answers).

    ``append_eos`` (default: decided once from the template) adds the tokenizer's EOS to the
    last answer when the template ends answers with none of the ``stop_token_ids`` (the
    tokenizer's EOS plus, from training, the model's generation-config EOS ids such as Qwen's
    ``<|im_end|>``), so the model learns to stop.
    """

    def __init__(self, processor: Any, *, append_eos: bool | None = None, stop_token_ids: Sequence[int] = ()) -> None:
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.template = _template(processor)
        self.uses_generation_blocks = has_generation_blocks(self.template)
        self.eos_token = self.tokenizer.eos_token
        self.stop_token_ids = frozenset(stop_token_ids) | (
            {self.tokenizer.convert_tokens_to_ids(self.eos_token)} if self.eos_token else set()
        )
        self.append_eos = (not self._template_ends_answers_with_eos()) if append_eos is None else append_eos
        if self.append_eos and self.eos_token is None:
            raise ValueError(f"{type(self.tokenizer).__name__} has no eos_token to end answers with")

    def _template_ends_answers_with_eos(self) -> bool:
        if not self.stop_token_ids:
            return True
        messages = [
            {"role": "user", "content": [{"type": "text", "text": _PROBE_QUERY}]},
            {"role": "assistant", "content": [{"type": "text", "text": _PROBE_ANSWER}]},
        ]
        encoded, masks = self._encode([messages], ["template probe"])
        ids = encoded["input_ids"][0].tolist()
        answer_ids = {token for token, keep in zip(ids, masks[0]) if keep}
        return bool(answer_ids & self.stop_token_ids)

    def _with_eos(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        last = dict(messages[-1])
        last["content"] = [*last["content"][:-1], {"type": "text", "text": last["content"][-1]["text"] + self.eos_token}]
        return [*messages[:-1], last]

    def _encode(self, conversations: list[list[dict[str, Any]]], ids: Sequence[str]) -> tuple[Any, list[list[int]]]:
        processor_kwargs = {"padding": True, "padding_side": "right"}
        if self.uses_generation_blocks:
            encoded = self.processor.apply_chat_template(
                conversations,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                return_assistant_tokens_mask=True,
                processor_kwargs=processor_kwargs,
            )
            return encoded, encoded.pop("assistant_masks").tolist()
        texts, spans = [], []
        for messages, sample_id in zip(conversations, ids):
            text, sample_spans = assistant_char_spans(self.processor, messages, where=f"sample {sample_id}")
            texts.append(text)
            spans.append(sample_spans)
        images = [[item["image"] for m in messages for item in m["content"] if item["type"] == "image"] for messages in conversations]
        encoded = self.processor(
            text=texts,
            images=images if any(images) else None,
            return_tensors="pt",
            return_offsets_mapping=True,
            return_text_replacement_offsets=True,
            add_special_tokens=not texts[0].startswith(self.tokenizer.bos_token or "\0"),
            **processor_kwargs,
        )
        offsets = encoded.pop("offset_mapping").tolist()
        replacements = encoded.pop("text_replacement_offsets", None) or [[] for _ in texts]
        masks = [spans_to_token_mask(s, o, r) for s, o, r in zip(spans, offsets, replacements)]
        return encoded, masks

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        conversations = [list(feature["messages"]) for feature in features]
        ids = [str(feature.get("id", index)) for index, feature in enumerate(features)]
        if self.append_eos:
            conversations = [self._with_eos(messages) for messages in conversations]
        encoded, masks = self._encode(conversations, ids)
        mask = torch.tensor(masks, dtype=torch.bool) & encoded["attention_mask"].bool()
        for row, sample_id in enumerate(ids):
            if not mask[row].any():
                raise ValueError(f"sample {sample_id}: no answer tokens to train on (empty answer, or a template that hides it)")
        batch = dict(encoded)
        batch["labels"] = encoded["input_ids"].masked_fill(~mask, IGNORE_INDEX)
        return batch
