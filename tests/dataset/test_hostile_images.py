"""Hostile images: outside the accepted size range or undecodable is a counted skip naming the file
(an error with ``strict``), modes are converted faithfully, and boxes always land in the 0–100 frame."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from lego_arta.annotate.collage import box_to_frame
from lego_arta.dataset.pairs import clamp_box
from lego_arta.dataset.pipeline import build
from lego_arta.image import MAX_IMAGE_PIXELS, ImageError, decode_image, png_chunks, read_rgb
from tests.dataset.built_folder import truth_steps


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG header declaring ``width``×``height`` pixels, in a few dozen bytes (no pixel data to speak of)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + _chunk(b"IEND", b"")


def _save(tmp_path: Path, image: Image.Image, name: str = "image.png", **options: object) -> Path:
    path = tmp_path / name
    image.save(path, **options)
    return path


@pytest.mark.parametrize("size", [(30_000, 30_000), (12_000, 12_000), (1, 1), (400, 8)])
def test_images_outside_the_size_range_are_errors_naming_the_file(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / f"{size[0]}x{size[1]}.png"
    path.write_bytes(bomb_png(*size))
    with pytest.raises(ImageError, match=f"{path.name}.*outside the accepted range"):
        read_rgb(path)
    assert size[0] * size[1] > MAX_IMAGE_PIXELS or min(size) < 16


def test_sixteen_bit_greyscale_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    grey = np.full((20, 30), 128 * 257, dtype=np.uint16)
    grey[0, 0], grey[0, 1] = 0, 65535
    path = _save(tmp_path, Image.fromarray(grey))
    assert Image.open(path).mode.startswith("I")
    pixels = read_rgb(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (20, 30, 3)
    assert tuple(pixels[5, 5]) == (128, 128, 128) and tuple(pixels[0, 0]) == (0, 0, 0) and tuple(pixels[0, 1]) == (255, 255, 255)


def test_alpha_is_composited_onto_the_background_and_full_transparency_is_an_error(tmp_path: Path) -> None:
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[..., :3] = (200, 10, 10)
    rgba[:10, :, 3] = 255
    pixels = read_rgb(_save(tmp_path, Image.fromarray(rgba, "RGBA")))
    assert tuple(pixels[0, 0]) == (200, 10, 10) and tuple(pixels[15, 0]) == (255, 255, 255)
    rgba[..., 3] = 0
    with pytest.raises(ImageError, match="fully transparent"):
        read_rgb(_save(tmp_path, Image.fromarray(rgba, "RGBA"), "clear.png"))
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 255] + [0, 0, 0] * 255)
    with pytest.raises(ImageError, match="fully transparent"):
        read_rgb(_save(tmp_path, palette, "palette.png", transparency=0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mode=st.sampled_from(["RGB", "RGBA", "RGBA-clear", "P", "L", "LA", "I;16", "RGB;16"]),
    seed=st.integers(0, 2**16),
    width=st.integers(16, 70),
    height=st.integers(16, 40),
)
def test_every_mode_decodes_to_the_pixels_pillow_shows(tmp_path: Path, mode: str, seed: int, width: int, height: int) -> None:
    """Plain RGB and opaque RGBA PNGs take libspng's decoder, everything else Pillow's: the pixels
    are the same either way (the reference is Pillow's own RGB view, composited onto white)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    if mode in ("RGB", "RGB;16"):
        image = Image.fromarray(pixels[..., :3], "RGB")
    elif mode.startswith("RGBA"):
        pixels[..., 3] = 255
        if mode == "RGBA-clear":
            pixels[0, 0, 3] = 7
        image = Image.fromarray(pixels, "RGBA")
    elif mode == "LA":
        pixels[..., 1] = 255
        image = Image.fromarray(pixels[..., :2], "LA")
    elif mode == "I;16":
        image = Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)
    else:
        image = Image.fromarray(pixels[..., 0], "L").convert(mode)
    path = tmp_path / f"{mode.replace(';', '-')}-{seed}.png"
    if mode == "RGB;16":  # 48-bit RGB: libspng would hand back 16-bit samples, so Pillow decodes it
        header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
        wide = np.repeat(pixels[..., :3].astype(">u2") * 257, 1, axis=2)
        raw = b"".join(b"\x00" + wide[y].tobytes() for y in range(height))
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    else:
        image.save(path)
    decoded, embeddable = decode_image(path)
    with Image.open(path) as opened:
        if mode == "I;16":
            expected = np.repeat(pixels[..., :1], 3, axis=2)
        else:
            rgba = opened.convert("RGBA")
            expected = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB"))
    assert decoded.dtype == np.uint8 and decoded.flags.c_contiguous
    np.testing.assert_array_equal(decoded, expected)
    assert embeddable == (mode in ("RGB", "RGBA"))


def test_a_text_chunk_anywhere_keeps_a_file_from_being_embedded_as_it_is(tmp_path: Path) -> None:
    """A text chunk may carry a file name (the answer); Pillow sees one after the pixels only once
    it decodes, so the fast path reads the chunk list itself."""
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    plain = _save(tmp_path, Image.fromarray(pixels), "plain.png")
    assert decode_image(plain)[1] is True
    data = plain.read_bytes()
    end = data.rindex(b"IEND") - 4
    late = tmp_path / "late-text.png"
    late.write_bytes(data[:end] + _chunk(b"tEXt", b"Comment\x00sm01-Bag-0001_step.png") + data[end:])
    assert png_chunks(late.read_bytes()) == [b"IHDR", b"IDAT", b"tEXt", b"IEND"]
    with Image.open(late) as opened:
        assert "Comment" not in opened.info  # not seen before the pixels are decoded
    decoded, embeddable = decode_image(late)
    np.testing.assert_array_equal(decoded, pixels)
    assert embeddable is False
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "sm01-Bag-0001_step.png")
    early = _save(tmp_path, Image.fromarray(pixels), "early-text.png", pnginfo=info)
    assert decode_image(early)[1] is False


def test_a_truncated_png_is_an_error_naming_the_file(tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    data = _save(tmp_path, Image.fromarray(pixels), "whole.png").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: cannot decode image"):
        read_rgb(cut)


def test_boxes_are_cut_to_their_image_and_the_frame() -> None:
    assert clamp_box((19450, 4940, 21900, 7135), 384, 178) is None
    assert clamp_box((300, 100, 500, 250), 384, 178) == (300.0, 100.0, 384.0, 178.0)
    assert box_to_frame((-10, -10, 500, 300), 400, 200) == (0.0, 0.0, 100.0, 100.0)


def test_bad_images_cost_only_their_own_items(synthetic_raw: Path, built_recipe, built_dataset: Path, tmp_path: Path) -> None:
    """A bomb parts image and a truncated step image: counted, named, and the session keeps its other state pairs."""
    raw = tmp_path / "raw"
    shutil.copytree(synthetic_raw, raw)
    manual = sorted(p for p in raw.iterdir() if p.is_dir())[0]
    steps = truth_steps(raw, manual.name)
    step = next(s for s in steps.values() if s.previous is not None and s.boundary is not None and s.eop is not None)
    truncated = manual / "images" / step.step["file"]
    truncated.write_bytes(truncated.read_bytes()[:200])
    bomb = sorted((manual / "images").glob("*_eop_*"))[0]
    bomb.write_bytes(bomb_png())
    out = tmp_path / "out"
    build(replace(built_recipe, configs=("object", "state")), out, raw=raw, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    errors = manifest["image_errors"][manual.name]
    assert sorted(errors) == sorted([f"images/{truncated.name}", f"images/{bomb.name}"])
    assert "outside the accepted range" in errors[f"images/{bomb.name}"]
    clean = json.loads((built_dataset / "manifest.json").read_text())
    # The truncated step and the next one (its "before" image) lose their pairs; the manual's shared
    # random stream then shifts, which may cost one more step its negatives. Before, the session lost all 19.
    assert clean["units"]["state"] - manifest["units"]["state"] <= 3
    assert "state: step of a session with an undecodable assembly image" not in manifest["skips"]
    assert manifest["skips"]["object: undecodable parts image"] >= 1
    with pytest.raises(ImageError, match="outside the accepted range|cannot decode"):
        build(replace(built_recipe, configs=("object",)), tmp_path / "strict", raw=raw, progress=False, strict=True)
    assert not (tmp_path / "strict").exists()
