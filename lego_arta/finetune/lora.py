"""Where LoRA goes: the language model's attention projections, found per architecture.

peft matches a *list* of names against the end of every module name, so the usual
``["q_proj", "v_proj"]`` also adapts the vision tower's attention (CLIP names its projections
the same). The study adapted the language model only, so the default here is a regex anchored
at the language model's own module path, which this module looks up on the loaded model
(``model.get_decoder()``) instead of guessing it from the architecture name (not run as a doctest: it
needs a loaded model):

>>> default_target_modules(llava)          # doctest: +SKIP
'model\\\\.language_model\\\\..*\\\\.(q_proj|k_proj|v_proj|o_proj)'

``--target-modules`` overrides it with a regex (full match, as peft does) or a comma-separated
list of module-name suffixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: Attention projection names of the language models LLaVA, Qwen2-VL, Idefics, Gemma, Mistral … use.
ATTENTION_PROJECTIONS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
DEFAULT_RANK = 8
DEFAULT_ALPHA = 16
DEFAULT_DROPOUT = 0.05
#: Characters that make a ``--target-modules`` value a regex rather than a list of names.
_REGEX_CHARACTERS = re.compile(r"[\\^$.*+?()\[\]{}|]")


@dataclass(frozen=True)
class LoraSettings:
    """The adapter's shape; ``target_modules`` None means :func:`default_target_modules`."""

    rank: int = DEFAULT_RANK
    alpha: int = DEFAULT_ALPHA
    dropout: float = DEFAULT_DROPOUT
    target_modules: str | None = None

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"LoRA rank must be at least 1, got {self.rank}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"LoRA dropout must be in [0, 1), got {self.dropout}")


def module_name(model: Any, module: Any) -> str:
    """The qualified name of ``module`` inside ``model`` (``""`` for the model itself)."""
    for name, candidate in model.named_modules():
        if candidate is module:
            return name
    raise ValueError(f"{type(module).__name__} is not a submodule of {type(model).__name__}")


def language_model_path(model: Any) -> str:
    """Qualified name of the text decoder inside a VLM, e.g. ``model.language_model``."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    if decoder is None or decoder is model:
        raise ValueError(
            f"{type(model).__name__}: cannot find its language model (get_decoder() gave none); "
            "pass --target-modules with a regex over its module names"
        )
    return module_name(model, decoder)


def default_target_modules(model: Any, projections: tuple[str, ...] = ATTENTION_PROJECTIONS) -> str:
    """A peft ``target_modules`` regex: the attention projections under the language model only."""
    names = "|".join(re.escape(name) for name in projections)
    return rf"{re.escape(language_model_path(model))}\..*\.({names})"


def parse_target_modules(value: str) -> str | list[str]:
    """``--target-modules``: a regex stays a string; ``a,b,c`` becomes a list of suffixes."""
    value = value.strip()
    if not value:
        raise ValueError("--target-modules is empty")
    if _REGEX_CHARACTERS.search(value):
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"--target-modules {value!r} is not a valid regex ({error})") from error
        return value
    return [name.strip() for name in value.split(",") if name.strip()]


def matched_modules(model: Any, target: str | list[str]) -> list[str]:
    """Names of the modules peft would adapt for ``target`` (its own matching rule)."""
    from peft import LoraConfig
    from peft.tuners.tuners_utils import check_target_module_exists

    config = LoraConfig(target_modules=target)
    return [name for name, _ in model.named_modules() if name and check_target_module_exists(config, name)]


def resolve_target_modules(model: Any, spec: str | None) -> str | list[str]:
    """The target actually used, checked to hit at least one module (else: what the model has)."""
    target = default_target_modules(model) if spec is None else parse_target_modules(spec)
    if not matched_modules(model, target):
        linear = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if type(module).__name__ == "Linear"})
        raise ValueError(f"--target-modules {target!r} matches no module of {type(model).__name__}; its linear layers are named {linear}")
    return target


def apply_lora(model: Any, settings: LoraSettings) -> Any:
    """Wrap ``model`` in a peft model with fresh LoRA weights; everything else is frozen.

    peft initialises LoRA ``A`` from torch's global generator: seed it first (training does).
    """
    from peft import LoraConfig, get_peft_model

    target = resolve_target_modules(model, settings.target_modules)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=target,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
