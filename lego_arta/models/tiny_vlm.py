"""A tiny, randomly initialised LLaVA that stands in for a real VLM in tests and smoke runs.

Nothing can be downloaded here, yet the evaluation harness (lmms-eval's ``llava_hf``) and LoRA
fine-tuning need a model folder that ``AutoProcessor`` / ``LlavaForConditionalGeneration`` load
offline. This module writes one: a 1-layer CLIP vision tower, a 1-layer Llama (hidden 32), a
word-level tokenizer over a built-in LEGO-ARTA vocabulary with ``<image>`` as ONE special token,
and a chat template whose assistant turns sit in ``{% generation %}`` blocks (loss masking).

Not run as a doctest: it needs transformers to write a model (tests/models/test_tiny_vlm.py runs it).

>>> path = build_tiny_vlm(Path("out/tiny-vlm"), seed=0)   # doctest: +SKIP
>>> LlavaForConditionalGeneration.from_pretrained(path)   # doctest: +SKIP
"""

from __future__ import annotations

import json
import string
from dataclasses import asdict, dataclass
from pathlib import Path

from lego_arta.atomic import OutputKind, atomic_directory, atomic_write_text, check_output_folder
from lego_arta.tasks import TASKS
from lego_arta.tasks.synonyms import load_trees

#: Written into the model folder: the spec it was built from, and the mark ``--overwrite`` looks
#: for, so only a folder this command wrote is replaced (never a real model's folder).
TINY_RECORD = "tiny_vlm.json"
#: A tiny-model folder (only ``tiny-model`` writes :data:`TINY_RECORD`).
TINY_OUTPUT = OutputKind("tiny-model", TINY_RECORD, legacy=lambda record: True)

IMAGE_TOKEN = "<image>"
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN, IMAGE_TOKEN)

# Multi-character markup that must stay one token (answers and queries are built from them).
MARKUP_TOKENS: tuple[str, ...] = (*dict.fromkeys(spec.task_token for spec in TASKS.values()), "<p>", "</p>")

# Word-boundary marker of the Metaspace pre-tokenizer: decoding restores the original spacing.
WORD_START = "\u2581"

# Words of the three task templates, manual instructions, chat roles and LEGO vocabulary.
BUILTIN_WORDS: tuple[str, ...] = tuple(
    """
    USER ASSISTANT SYSTEM Yes No yes no
    after i find collect take put place attach add build turn rotate flip press push stack connect
    insert slide remove repeat use get then now next first second third last it them this that
    these those the a an and or of on to in into onto at by for with from under over between
    top bottom left right front back side middle center corner edge end row column
    tell me what do current situation did correctly just please identify highlight positions
    position providing format object coordinates normalized xleft ytop xright ybottom corner
    is are be was were has have so as if not you your my all each both other another same
    brick bricks plate plates tile tiles slope slopes round rounded flat smooth arch arches
    cone cones cylinder wedge wedges beam beams axle axles pin pins hinge hinges bracket
    brackets panel panels wheel wheels tire tires window windows door doors fence fences
    minifigure minifigures figure head torso legs hat hair stud studs hole holes bar bars clip
    clips technic jumper modified inverted curved corner piece pieces part parts element
    elements set model step steps bag box base platform stand tree flower leaf leaves animal
    car house tower roof wall floor boat plane train robot castle bridge
    red blue green yellow black white gray grey brown orange purple pink tan beige lime
    azure teal navy gold silver dark light bright medium sand transparent trans clear
    reddish bluish olive nougat lavender magenta coral
    one two three four five six seven eight nine ten eleven twelve
    """.split()
)

DEFAULT_HIDDEN_SIZE = 32
DEFAULT_IMAGE_SIZE = 32
DEFAULT_PATCH_SIZE = 8
DEFAULT_MAX_POSITIONS = 4096
CLS_TOKENS = 1  # CLIP prepends one class token; "default" feature selection drops it again.

# Renders plain-string and list content ({"type": "image"} / {"type": "text"}); assistant turns
# are wrapped in a generation block so apply_chat_template(return_assistant_tokens_mask=True)
# masks everything but the answer. BOS comes from the template (the tokenizer adds none).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "ASSISTANT: {% generation %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ eos_token }}{% endgeneration %}"
    "{% else %}"
    "{{ message['role'] | upper }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<image>{{ ' ' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ ' ' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT: {% endif %}"
)


@dataclass(frozen=True)
class TinyVlmSpec:
    """Shape of the tiny model; the defaults keep a forward pass in the millisecond range."""

    seed: int = 0
    hidden_size: int = DEFAULT_HIDDEN_SIZE
    image_size: int = DEFAULT_IMAGE_SIZE
    patch_size: int = DEFAULT_PATCH_SIZE
    layers: int = 1
    heads: int = 2
    max_positions: int = DEFAULT_MAX_POSITIONS

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be a multiple of heads {self.heads}")

    @property
    def image_tokens(self) -> int:
        """Image placeholder tokens per image: one per patch (the CLS token is dropped)."""
        return (self.image_size // self.patch_size) ** 2


def synonym_words() -> tuple[str, ...]:
    """Every verb of the synonym trees, lowercase and sorted: a synonym-augmented fine-tune of the
    tiny model (and ``lego-arta synonym-map``) must see real tokens for them, not the unknown token."""
    trees = load_trees()
    phrases = [word for tree in trees.trees.values() for word in tree.words()] + list(trees.antonyms.values())
    return tuple(sorted({part for phrase in phrases for part in phrase.lower().split()}))


def verdict_words() -> tuple[str, ...]:
    """The words of every two-way task's declared verdicts (``Yes``/``No``, ``Attached``/``Removed``), lowercase:
    the first answer token's logits give P(Yes) only if each verdict word has a token of its own.

    >>> "attached" in verdict_words() and "removed" in verdict_words()
    True
    """
    answers = [answer for spec in TASKS.values() if spec.verdicts for answer in spec.verdicts]
    return tuple(sorted({word for answer in answers for word in "".join(c if c.isalpha() else " " for c in answer).lower().split()}))


def tiny_vocabulary() -> list[str]:
    """Ordered token list: specials, markup, characters and words, each bare and word-initial.

    The order is fixed by the code (never by a set or a trainer's tie-breaking), so token ids,
    and with them the saved weights, are the same on every run.
    """
    characters = list(string.ascii_letters + string.digits + string.punctuation)
    words: list[str] = []
    for word in BUILTIN_WORDS + synonym_words() + verdict_words():
        words.extend((word, word.capitalize()))
    vocabulary = list(SPECIAL_TOKENS) + list(MARKUP_TOKENS) + [WORD_START]
    for piece in characters + words:
        vocabulary.extend((piece, WORD_START + piece))
    return list(dict.fromkeys(vocabulary))


def build_tokenizer():
    """Word-level fast tokenizer: Metaspace words, isolated punctuation, single digits."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocabulary = tiny_vocabulary()
    backend = Tokenizer(models.WordLevel({token: index for index, token in enumerate(vocabulary)}, unk_token=UNK_TOKEN))
    backend.normalizer = normalizers.Replace(Regex(r"\s+"), " ")
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=WORD_START, prepend_scheme="first"),
            pre_tokenizers.Punctuation(behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    backend.decoder = decoders.Metaspace(replacement=WORD_START, prepend_scheme="first")
    backend.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in SPECIAL_TOKENS])
    backend.add_tokens([AddedToken(token, special=False, normalized=False) for token in MARKUP_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        extra_special_tokens={"image_token": IMAGE_TOKEN},
        chat_template=CHAT_TEMPLATE,
        model_max_length=DEFAULT_MAX_POSITIONS,
    )


def build_processor(spec: TinyVlmSpec):
    """LlavaProcessor = word-level tokenizer + PIL CLIP image processor at ``spec.image_size``."""
    from transformers import CLIPImageProcessorPil, LlavaProcessor

    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": spec.image_size},
        crop_size={"height": spec.image_size, "width": spec.image_size},
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=build_tokenizer(),
        patch_size=spec.patch_size,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        image_token=IMAGE_TOKEN,
        num_additional_image_tokens=CLS_TOKENS,
    )


def build_model(spec: TinyVlmSpec, *, vocab_size: int, image_token_id: int, special_ids: dict[str, int]):
    """Randomly initialised LlavaForConditionalGeneration; the global RNG is left untouched."""
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    vision = CLIPVisionConfig(
        hidden_size=spec.hidden_size,
        intermediate_size=2 * spec.hidden_size,
        projection_dim=spec.hidden_size,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        image_size=spec.image_size,
        patch_size=spec.patch_size,
    )
    text = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=spec.hidden_size,
        intermediate_size=2 * spec.hidden_size,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.heads,
        max_position_embeddings=spec.max_positions,
        bos_token_id=special_ids["bos"],
        eos_token_id=special_ids["eos"],
        pad_token_id=special_ids["pad"],
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=image_token_id,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
        image_seq_length=spec.image_tokens,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = LlavaForConditionalGeneration(config)
    model.generation_config.bos_token_id = special_ids["bos"]
    model.generation_config.eos_token_id = special_ids["eos"]
    model.generation_config.pad_token_id = special_ids["pad"]
    return model.eval()


def build_tiny_vlm(
    out_dir: Path,
    *,
    seed: int = 0,
    hidden_size: int = DEFAULT_HIDDEN_SIZE,
    image_size: int = DEFAULT_IMAGE_SIZE,
    patch_size: int = DEFAULT_PATCH_SIZE,
    overwrite: bool = False,
) -> Path:
    """Write model + processor to ``out_dir`` (atomically) and return it.

    Same arguments ⇒ byte-identical files, so a test or a CI cache can compare hashes.
    """
    spec = TinyVlmSpec(seed=seed, hidden_size=hidden_size, image_size=image_size, patch_size=patch_size)
    out_dir = Path(out_dir)
    check_output_folder(out_dir, overwrite=overwrite, owner=TINY_OUTPUT)
    processor = build_processor(spec)
    tokenizer = processor.tokenizer
    special_ids = {
        "bos": tokenizer.bos_token_id,
        "eos": tokenizer.eos_token_id,
        "pad": tokenizer.pad_token_id,
    }
    model = build_model(spec, vocab_size=len(tokenizer), image_token_id=processor.image_token_id, special_ids=special_ids)
    with atomic_directory(out_dir, overwrite=overwrite, owner=TINY_OUTPUT) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        atomic_write_text(tmp / TINY_RECORD, json.dumps(TINY_OUTPUT.stamp(asdict(spec)), indent=1, sort_keys=True) + "\n")
    return out_dir
