"""Load any Hub (or local) image-text-to-text model with its processor, the way fine-tuning and merging need it.

``AutoModelForImageTextToText`` covers LLaVA, Qwen2-VL, Idefics, Gemma 3 …; older checkpoints
registered only as ``AutoModelForVision2Seq`` (or plain LLaVA folders) are tried next, so one
call serves every model the study compared.

Not run as a doctest: it needs a Hub model.

>>> model, processor = load_vlm("llava-hf/llava-1.5-7b-hf", dtype="bfloat16")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: ``--precision`` → the dtype the frozen base weights are loaded in (LoRA weights stay float32).
PRECISION_DTYPES: dict[str, str] = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
#: ``--precision`` → accelerate's mixed-precision mode (autocast for the forward pass).
PRECISION_MIXED: dict[str, str] = {"bf16": "bf16", "fp16": "fp16", "fp32": "no"}


def _model_classes() -> list[Any]:
    import transformers

    names = ("AutoModelForImageTextToText", "AutoModelForVision2Seq", "LlavaForConditionalGeneration")
    return [getattr(transformers, name) for name in names if hasattr(transformers, name)]


def load_model(model: str | Path, *, dtype: str = "float32", **kwargs: Any) -> Any:
    """The model behind ``model`` (Hub id or folder), trying the auto classes from most to least general.

    ``dtype`` is a torch dtype name, or ``"auto"`` for the dtype the checkpoint was saved in.
    """
    import torch

    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    errors = []
    for cls in _model_classes():
        try:
            return cls.from_pretrained(str(model), dtype=torch_dtype, **kwargs)
        except (ValueError, KeyError) as error:  # "Unrecognized configuration class …" for this auto class
            errors.append(f"{cls.__name__}: {error}")
            logger.debug("%s cannot load %s: %s", cls.__name__, model, error)
    raise ValueError(f"{model}: not loadable as an image-text-to-text model:\n  " + "\n  ".join(errors))


def load_processor(model: str | Path, *, chat_template: str | None = None) -> Any:
    """The model's processor; ``chat_template`` (Jinja text) replaces its template when given."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(str(model))
    if chat_template is not None:
        processor.chat_template = chat_template
        if getattr(processor, "tokenizer", None) is not None:
            processor.tokenizer.chat_template = chat_template
    return processor


def load_vlm(model: str | Path, *, dtype: str = "float32", chat_template: str | None = None) -> tuple[Any, Any]:
    """(model, processor) for fine-tuning or merging."""
    return load_model(model, dtype=dtype), load_processor(model, chat_template=chat_template)
