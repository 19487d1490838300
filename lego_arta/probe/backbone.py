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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Files fetched for a Hub id: configs, the image processor and safetensors weights.
HUB_PATTERNS = ("*.json", "*.safetensors", "*.txt")


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
        from transformers import AutoImageProcessor, AutoModel

        self.model_id, self.device = str(folder), torch.device(device)
        try:
            self.processor = AutoImageProcessor.from_pretrained(self.model_id)
            model = AutoModel.from_pretrained(self.model_id, dtype=dtype)
        except (OSError, ValueError) as error:
            raise ValueError(f"backbone {self.model_id!r}: cannot load a transformers vision model and image processor ({error})") from error
        model = getattr(model, "vision_model", model)  # CLIPModel / SiglipModel → their vision tower
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
