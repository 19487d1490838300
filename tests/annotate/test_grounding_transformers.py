"""Zero-shot detector grounding, end to end with a tiny random OWL-ViT built offline (contents random)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lego_arta.annotate.grounding import make_grounder
from lego_arta.annotate.grounding_transformers import TransformersGrounder, clip_box, label_index, pick_boxes

PHRASES = ["2 bright red bricks 2x4", "1 white plate 1x2", "1 black flat tile 1x1"]


@pytest.fixture(scope="module")
def tiny_owlvit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised OWL-ViT with a byte-level CLIP tokenizer, saved like a Hub checkpoint."""
    torch = pytest.importorskip("torch")
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer, OwlViTConfig, OwlViTForObjectDetection, OwlViTProcessor
    from transformers.models.owlvit import OwlViTImageProcessorPil

    vocab: dict[str, int] = {}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)
    text = dict(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=16,
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8)
    torch.manual_seed(0)
    model = OwlViTForObjectDetection(OwlViTConfig(text_config=text, vision_config=vision, projection_dim=16))
    images = OwlViTImageProcessorPil(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32})
    folder = tmp_path_factory.mktemp("tiny_owlvit")
    model.save_pretrained(folder)
    OwlViTProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def _well_formed(boxes: list, width: int, height: int) -> None:
    assert len(boxes) == len(PHRASES)
    for box in boxes:
        if box is None:
            continue
        assert len(box) == 4 and all(isinstance(v, float) for v in box)
        x1, y1, x2, y2 = box
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height


@pytest.mark.slow
def test_tiny_owlvit_runs_end_to_end(tiny_owlvit: Path) -> None:
    grounder = make_grounder(f"transformers:{tiny_owlvit}")
    assert grounder.name == "transformers"
    image = np.full((60, 100, 3), (181, 217, 240), np.uint8)
    image[10:30, 60:90] = (196, 40, 27)
    boxes = grounder.ground(None, image, PHRASES)  # type: ignore[arg-type]
    _well_formed(boxes, 100, 60)
    assert grounder.ground(None, image, PHRASES) == boxes  # deterministic
    everything = TransformersGrounder(str(tiny_owlvit), threshold=0.0).ground(None, image, PHRASES)
    _well_formed(everything, 100, 60)
    assert any(box is not None for box in everything)
    assert TransformersGrounder(str(tiny_owlvit), threshold=1.01).ground(None, image, PHRASES) == [None, None, None]
    assert grounder.ground(None, image, []) == []


@pytest.mark.slow
def test_unloadable_model_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    with pytest.raises(ValueError, match="cannot load zero-shot detector"):
        TransformersGrounder(str(tmp_path / "missing"))


def test_detections_become_one_clipped_union_per_phrase() -> None:
    detections = [
        (0, 0.9, (10.0, 10.0, 20.0, 20.0)),
        (0, 0.8, (30.0, 5.0, 40.0, 15.0)),
        (0, 0.1, (0.0, 0.0, 99.0, 99.0)),  # third box: the phrase asks for 2
        (1, 0.5, (-5.0, 50.0, 30.0, 70.0)),
    ]
    assert pick_boxes(detections, PHRASES, 50, 60) == [(10.0, 5.0, 40.0, 20.0), (0.0, 50.0, 30.0, 60.0), None]
    assert clip_box((-1.0, -2.0, 500.0, 3.0), 100, 50) == (0.0, 0.0, 100.0, 3.0)
    assert label_index(1, PHRASES) == 1 and label_index(7, PHRASES) is None
    assert label_index("white plate", PHRASES) == 1 and label_index("dog", PHRASES) is None
