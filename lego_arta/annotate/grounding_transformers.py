"""Grounding with a zero-shot object detector from the Hugging Face Hub (OWL-ViT, OWLv2, Grounding DINO).

The phrases are the text queries; each phrase gets the union of its ``count`` best detections
above ``threshold``. ``torch`` and ``transformers`` (the ``eval`` extra) are imported only when a
grounder is built, so the rest of the package works without them.

Not run as a doctest: it needs a Hub model.

>>> grounder = TransformersGrounder("google/owlv2-base-patch16-ensemble")   # doctest: +SKIP
>>> grounder.ground(row, image, ["2 bright red bricks 2x4"])                # doctest: +SKIP
[(612.0, 80.0, 790.0, 233.0)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from lego_arta.annotate.background import as_rgb
from lego_arta.annotate.phrases import parse_phrase
from lego_arta.boxes import PixelBox, union_box

#: Default score threshold of a detection (the processors' own default).
DEFAULT_THRESHOLD = 0.1
#: Grounding DINO's threshold on the text match of a detection's label.
TEXT_THRESHOLD = 0.25
#: Model types whose processor pads images to a square before detecting (boxes refer to the square).
SQUARE_PADDED = ("owlv2",)
#: Model types that take all queries as one "a. b. c." string and return label texts.
SENTENCE_QUERY = ("grounding-dino", "mm-grounding-dino")

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def label_index(label: Any, phrases: Sequence[str]) -> int | None:
    """Phrase index of a detection label: an int index, or the phrase sharing most words with a text label."""
    if isinstance(label, (int, np.integer)):
        return int(label) if 0 <= int(label) < len(phrases) else None
    if hasattr(label, "item"):
        return label_index(int(label.item()), phrases)
    words = _words(str(label))
    overlaps = [len(words & _words(phrase)) for phrase in phrases]
    best = max(range(len(phrases)), key=lambda j: (overlaps[j], -j)) if phrases else None
    return best if best is not None and overlaps[best] > 0 else None


def clip_box(box: PixelBox, width: int, height: int) -> PixelBox:
    """A detector's continuous box clipped to the image frame ``[0, width] x [0, height]``."""
    x1, y1, x2, y2 = box
    return (
        float(min(max(x1, 0.0), width)),
        float(min(max(y1, 0.0), height)),
        float(min(max(x2, 0.0), width)),
        float(min(max(y2, 0.0), height)),
    )


def pick_boxes(detections: Sequence[tuple[int, float, PixelBox]], phrases: Sequence[str], width: int, height: int) -> list[PixelBox | None]:
    """Per phrase, the union of its ``count`` highest-scoring detections, clipped to the image."""
    result: list[PixelBox | None] = []
    for j, phrase in enumerate(phrases):
        mine = sorted((d for d in detections if d[0] == j), key=lambda d: (-d[1], d[2]))
        best = [box for _, _, box in mine[: parse_phrase(phrase).count]]
        if not best:
            result.append(None)
            continue
        result.append(clip_box(union_box(best), width, height))
    return result


class TransformersGrounder:
    """A zero-shot detector loaded by model id or local path; ``name`` is ``"transformers"``."""

    name = "transformers"

    def __init__(self, model_id: str, device: str = "cpu", threshold: float = DEFAULT_THRESHOLD) -> None:
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        self.model_id = model_id
        self.device = device
        self.threshold = threshold
        try:
            self.processor = AutoProcessor.from_pretrained(model_id)
            self.model = AutoModelForZeroShotObjectDetection.from_pretrained(model_id).to(device).eval()
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot load zero-shot detector {model_id!r}: {error}") from error
        self.model_type = str(getattr(self.model.config, "model_type", ""))

    def ground(self, row: object, image: np.ndarray, phrases: Sequence[str]) -> list[PixelBox | None]:
        """One box per phrase (pixels, half-open), None where the detector finds nothing above threshold."""
        import torch
        from PIL import Image

        if not phrases:
            return []
        rgb = as_rgb(image)
        height, width = rgb.shape[:2]
        picture = Image.fromarray(np.ascontiguousarray(rgb))
        sentence = self.model_type in SENTENCE_QUERY
        text: Any = ". ".join(phrases) + "." if sentence else [list(phrases)]
        inputs = self.processor(text=text, images=picture, padding=True, truncation=True, return_tensors="pt").to(self.device)
        with torch.no_grad():
            outputs = self.model(**inputs)
        side = max(width, height)
        target = [(side, side)] if self.model_type in SQUARE_PADDED else [(height, width)]
        if sentence:
            results = self.processor.post_process_grounded_object_detection(
                outputs, inputs["input_ids"], threshold=self.threshold, text_threshold=TEXT_THRESHOLD, target_sizes=target
            )[0]
            labels = results.get("text_labels", results.get("labels"))
        else:
            results = self.processor.post_process_grounded_object_detection(outputs, threshold=self.threshold, target_sizes=target)[0]
            labels = results["labels"]
        detections: list[tuple[int, float, PixelBox]] = []
        for label, score, box in zip(labels, results["scores"].tolist(), results["boxes"].tolist(), strict=True):
            index = label_index(label, phrases)
            if index is not None:
                detections.append((index, float(score), (float(box[0]), float(box[1]), float(box[2]), float(box[3]))))
        return pick_boxes(detections, phrases, width, height)
