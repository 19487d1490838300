"""A frozen transformers vision backbone: images in, CLS and patch tokens out.

Any vision model ``transformers`` loads by Hub id or from a local folder works: ViT, DINOv2 (with
or without registers), the vision towers of CLIP and SigLIP (a full CLIP/SigLIP checkpoint is
cut to its ``vision_model``). The backbone is never trained: it runs under ``torch.no_grad`` in
eval mode. Its output per image is ``(1 + patches, dim)`` tokens, token 0 the CLS token: the
model's own where it has one (register tokens are dropped), else (SigLIP) its pooled output, or the
patch mean where it has neither.

:func:`resolve_model` turns a Hub id into its local snapshot (weights as safetensors, configs),
so the feature cache is keyed by the files themselves (:func:`lego_arta.probe.cache.backbone_fingerprint`)
and a rerun loads no model at all.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Files fetched for a Hub id: configs, the image processor and safetensors weights.
HUB_PATTERNS = ("*.json", "*.safetensors", "*.txt")
#: What a backbone may be, for the errors that refuse one.
BACKBONE_KINDS = (
    "a transformers vision encoder (ViT, DINOv2, or the vision tower of CLIP or SigLIP) by Hub id or folder; "
    "offline, `lego-arta tiny-model --kind vit --out DIR` writes a tiny random one"
)


def resolve_device(name: str) -> str:
    """The torch device ``name`` names (``auto``: cuda when there is one), refused up front when this
    torch cannot use it, instead of failing deep in the first forward pass.

    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device 'gpu': not a torch device; expected auto, cpu, cuda, cuda:1, ...
    """
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device {name!r}: not a torch device; expected auto, cpu, cuda, cuda:1, ...") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        built = f"built for CUDA {torch.version.cuda} but finds no GPU" if torch.version.cuda else "built without CUDA"
        raise ValueError(f"device {name!r}: this torch ({torch.__version__}) is {built}; use --device cpu (or auto)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} GPU(s) visible (cuda:0 ...)")
    return name


def _refuse_non_encoder(model_id: str, config: Any) -> None:
    """A VLM (an image token and a language model: LLaVA, Qwen2-VL, ...) or a model without a width
    is not a frozen vision encoder; say so in one line before its weights are loaded."""
    kind = getattr(config, "model_type", "") or type(config).__name__
    if any(hasattr(config, name) for name in ("image_token_id", "image_token_index")):
        raise ValueError(f"backbone {model_id!r} is a {kind} vision-language model, not a vision encoder; the probe needs {BACKBONE_KINDS}")
    vision = getattr(config, "vision_config", None)
    if getattr(config, "hidden_size", None) is None and getattr(vision, "hidden_size", None) is None:
        raise ValueError(
            f"backbone {model_id!r} ({kind}) has no hidden_size, so it is not a vision encoder; the probe needs {BACKBONE_KINDS}"
        )


def resolve_model(model_id: str) -> Path:
    """The local folder of ``model_id``: the folder itself, or the Hub snapshot (fetched once, then
    read from the Hugging Face cache; offline with ``HF_HUB_OFFLINE=1``)."""
    local = Path(model_id).expanduser()
    if local.is_dir():
        return local
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model_id, allow_patterns=list(HUB_PATTERNS)))
    except Exception as error:  # huggingface_hub raises many kinds: all mean "no such model here"
        raise ValueError(f"backbone {model_id!r}: not a local folder, and no Hub snapshot could be had ({error})") from error


class Backbone:
    """A frozen vision model and its image processor; :meth:`encode` gives ``(images, 1 + patches, dim)`` tokens."""

    def __init__(self, folder: Path, *, device: str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        from transformers import AutoConfig, AutoImageProcessor, AutoModel

        self.model_id, self.device = str(folder), torch.device(resolve_device(device))
        cannot = f"backbone {self.model_id!r}: cannot load a transformers vision model and image processor"
        try:
            config = AutoConfig.from_pretrained(self.model_id)
        except (OSError, ValueError) as error:
            raise ValueError(f"{cannot} ({error})") from error
        _refuse_non_encoder(self.model_id, config)
        try:
            self.processor = AutoImageProcessor.from_pretrained(self.model_id)
            model = AutoModel.from_pretrained(self.model_id, dtype=dtype)
        except (OSError, ValueError) as error:
            raise ValueError(f"{cannot} ({error})") from error
        model = getattr(model, "vision_model", model)  # CLIPModel / SiglipModel → their vision tower
        if getattr(model.config, "hidden_size", None) is None or "pixel_values" not in inspect.signature(model.forward).parameters:
            raise ValueError(f"backbone {self.model_id!r}: {type(model).__name__} takes no images; the probe needs {BACKBONE_KINDS}")
        self.model = model.to(self.device).eval().requires_grad_(False)
        embeddings = getattr(self.model, "embeddings", None)
        self.has_cls = any(hasattr(embeddings, name) for name in ("cls_token", "class_embedding"))
        self.registers = int(getattr(self.model.config, "num_register_tokens", 0) or 0)
        self.dim = int(self.model.config.hidden_size)

    @torch.no_grad()
    def encode(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """Tokens of RGB uint8 images, float32 on the CPU: ``(len(images), 1 + patches, dim)``."""
        inputs = self.processor(images=list(images), return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, dtype=next(self.model.parameters()).dtype)
        output: Any = self.model(pixel_values=pixels)
        hidden = output.last_hidden_state
        if self.has_cls:
            tokens = torch.cat([hidden[:, :1], hidden[:, 1 + self.registers :]], dim=1)
        else:
            pooled = getattr(output, "pooler_output", None)
            cls = pooled.unsqueeze(1) if pooled is not None and pooled.ndim == 2 else hidden.mean(dim=1, keepdim=True)
            tokens = torch.cat([cls, hidden], dim=1)
        return tokens.float().cpu()
