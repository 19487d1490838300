"""Stored PNG bytes as data URLs: the same messages, and the same pixels, as lmms-eval's decode-and-encode path."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from lmms_eval.protocol import ChatMessages

from lego_arta.harness import task_docs
from lego_arta.harness.stored_images import StoredImage, is_rgb8_png, openai_messages, stand_in_images


@pytest.fixture(scope="module")
def data_dir(verdict_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
        patch.setenv(task_docs.DATA_ENV, str(verdict_data))
        yield verdict_data


def _pixels(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(PIL.Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))).convert("RGB"))


def _images_and_texts(messages: list[dict]) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    images = [_pixels(p["image_url"]["url"]) for m in messages for p in m["content"] if p["type"] == "image_url"]
    texts = [(m["role"], p.get("text", "<image>")) for m in messages for p in m["content"]]
    return images, texts


@pytest.mark.parametrize(("config", "examples"), [("state", 0), ("order", 0), ("state", 2)])
def test_stored_bytes_send_the_pixels_and_text_lmms_eval_would(data_dir: Path, config: str, examples: int) -> None:
    import datasets

    decoded = datasets.load_dataset(str(data_dir), config, split="test")
    columns = [n for n, f in decoded.features.items() if isinstance(f, datasets.Image)]
    undecoded = decoded
    for column in columns:
        undecoded = undecoded.cast_column(column, datasets.Image(decode=False))
    kwargs = {"config": config, "with_instruction": True, "in_context_examples": examples}
    for index in (0, len(decoded) - 1):
        row = stand_in_images(undecoded[index], columns)
        assert row is not None and all(isinstance(row[c], StoredImage) for c in columns)
        ours = openai_messages(task_docs.doc_to_messages(row, kwargs))
        theirs = ChatMessages(messages=task_docs.doc_to_messages(decoded[index], kwargs)).to_openai_messages()
        (our_images, our_texts), (their_images, their_texts) = _images_and_texts(ours), _images_and_texts(theirs)
        assert our_texts == their_texts
        assert len(our_images) == len(their_images) == len(columns) * (1 + examples)
        assert all(np.array_equal(a, b) for a, b in zip(our_images, their_images, strict=True))
        # the row's own images went as stored: the data URL holds the build's PNG bytes unchanged
        stored = {base64.b64encode(undecoded[index][c]["bytes"]).decode() for c in columns}
        sent = {p["image_url"]["url"].split(",", 1)[1] for p in ours[-1]["content"] if p["type"] == "image_url"}
        assert sent == stored


def test_only_an_8_bit_rgb_or_opaque_rgba_png_is_kept_as_stored() -> None:
    def png(mode: str, colour: tuple[int, ...] | int = 0) -> bytes:
        buffer = io.BytesIO()
        PIL.Image.new(mode, (3, 2), colour).save(buffer, "PNG")
        return buffer.getvalue()

    assert [is_rgb8_png(png(m)) for m in ("RGB", "RGBA", "L", "P")] == [True, False, False, False]
    opaque = StoredImage(png("RGBA", (10, 20, 30, 255)))
    assert opaque.convert("RGB") is opaque
    translucent = StoredImage(png("RGBA", (10, 20, 30, 254))).convert("RGB")
    assert isinstance(translucent, PIL.Image.Image) and translucent.mode == "RGB"
    grey = StoredImage(png("L", 7)).convert("RGB")
    assert isinstance(grey, PIL.Image.Image) and grey.getpixel((0, 0)) == (7, 7, 7)
    assert is_rgb8_png(png("RGB")[:20]) is False
    assert stand_in_images({"image": {"bytes": None, "path": "x.png"}}, ["image"]) is None
    with pytest.raises(ValueError, match="video"):
        openai_messages([{"role": "user", "content": [{"type": "video", "url": "v.mp4"}]}])


def test_an_opaque_rgba_row_image_goes_as_stored_with_the_pixels_of_its_rgb_conversion(data_dir: Path) -> None:
    import datasets

    row = datasets.load_dataset(str(data_dir), "state", split="test")[0]
    buffer = io.BytesIO()
    row["image"].convert("RGBA").save(buffer, "PNG")
    rgba = buffer.getvalue()
    kwargs = {"config": "state", "with_instruction": True, "in_context_examples": 0}
    stand_in = stand_in_images({**row, "image": {"bytes": rgba, "path": None}}, ["image"])
    ours = openai_messages(task_docs.doc_to_messages(stand_in, kwargs))
    theirs = ChatMessages(
        messages=task_docs.doc_to_messages({**row, "image": PIL.Image.open(io.BytesIO(rgba))}, kwargs)
    ).to_openai_messages()
    ((our_image,), _), ((their_image,), _) = _images_and_texts(ours), _images_and_texts(theirs)
    assert np.array_equal(our_image, their_image)
    (sent,) = [p["image_url"]["url"].split(",", 1)[1] for p in ours[-1]["content"] if p["type"] == "image_url"]
    assert base64.b64decode(sent) == rgba
