"""A tiny, randomly initialised vision encoder (ViT or DINOv2) for ``lego-arta probe`` smoke runs.

The probe needs a frozen vision backbone that ``AutoModel`` and ``AutoImageProcessor`` load, and
nothing may be downloaded in tests or on an offline machine. :func:`build_tiny_vision` writes one
from random weights, as :mod:`lego_arta.models.tiny_vlm` does for the VLM: one transformer layer,
width 32, 32x32 pixels in 8x8 patches, so a probe run on a quick-start build takes seconds on a CPU.
Its features carry no learned meaning; a probe on them measures the pipeline, not a backbone.

>>> spec = TinyVisionSpec(kind="dinov2")
>>> spec.tokens, spec.hidden_size
(17, 32)
>>> TinyVisionSpec(kind="clip")
Traceback (most recent call last):
...
ValueError: tiny vision kind 'clip': expected one of vit, dinov2
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lego_arta.atomic import atomic_directory, atomic_write_text, check_output_folder

#: Written into the model folder: the spec, and the mark ``--overwrite`` looks for (only a folder
#: this command wrote is replaced).
TINY_VISION_RECORD = "tiny_vision.json"
#: The encoders ``lego-arta tiny-model --kind`` writes besides the tiny LLaVA.
VISION_KINDS: tuple[str, ...] = ("vit", "dinov2")

DEFAULT_HIDDEN_SIZE = 32
DEFAULT_IMAGE_SIZE = 32
DEFAULT_PATCH_SIZE = 8


@dataclass(frozen=True)
class TinyVisionSpec:
    """Shape of the tiny encoder; the defaults keep a forward pass in the millisecond range."""

    kind: str = "vit"
    seed: int = 0
    hidden_size: int = DEFAULT_HIDDEN_SIZE
    image_size: int = DEFAULT_IMAGE_SIZE
    patch_size: int = DEFAULT_PATCH_SIZE
    layers: int = 1
    heads: int = 2

    def __post_init__(self) -> None:
        if self.kind not in VISION_KINDS:
            raise ValueError(f"tiny vision kind {self.kind!r}: expected one of {', '.join(VISION_KINDS)}")
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be a multiple of heads {self.heads}")

    @property
    def tokens(self) -> int:
        """Tokens per image the probe reads: the CLS token, then one per patch."""
        return 1 + (self.image_size // self.patch_size) ** 2


def build_model(spec: TinyVisionSpec):
    """A randomly initialised ``ViTModel`` / ``Dinov2Model``; the global RNG is left untouched."""
    import torch
    import transformers as tf

    shape = {
        "hidden_size": spec.hidden_size,
        "intermediate_size": 2 * spec.hidden_size,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "image_size": spec.image_size,
        "patch_size": spec.patch_size,
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = tf.ViTModel(tf.ViTConfig(**shape)) if spec.kind == "vit" else tf.Dinov2Model(tf.Dinov2Config(**shape))
    return model.eval()


def build_processor(spec: TinyVisionSpec):
    """The kind's own image processor (ViT: resize; DINOv2: resize the short side, centre crop) at ``image_size``."""
    import transformers as tf

    if spec.kind == "vit":
        return tf.ViTImageProcessorPil(size={"height": spec.image_size, "width": spec.image_size})
    return tf.BitImageProcessorPil(size={"shortest_edge": spec.image_size}, crop_size={"height": spec.image_size, "width": spec.image_size})


def build_tiny_vision(out_dir: Path, spec: TinyVisionSpec, *, overwrite: bool = False) -> Path:
    """Write the encoder and its image processor to ``out_dir`` (atomically) and return it.

    Same spec ⇒ byte-identical files, so the probe's feature cache (keyed by the files) is reused.
    """
    out_dir = Path(out_dir)
    check_output_folder(out_dir, overwrite=overwrite, owner=TINY_VISION_RECORD)
    model, processor = build_model(spec), build_processor(spec)
    with atomic_directory(out_dir, overwrite=overwrite, owner=TINY_VISION_RECORD) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        atomic_write_text(tmp / TINY_VISION_RECORD, json.dumps(asdict(spec), indent=1, sort_keys=True) + "\n")
    return out_dir
