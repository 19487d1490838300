"""The one PNG encoding and the record that vouches for files already in it (:mod:`lego_arta.png`)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from lego_arta.png import ENCODER, PNG_COMPRESS_LEVEL, RECORD_FILE, EncodingRecord, encode_png


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk of a PNG stream."""
    found, at = [], 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        found.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return found


def chunk_types(data: bytes) -> list[bytes]:
    return [kind for kind, _ in _chunks(data)]


def zlib_header(data: bytes) -> bytes:
    """The first two bytes of the image data: zlib's header, which names the compression level."""
    return next(payload for kind, payload in _chunks(data) if kind == b"IDAT")[:2]


_PIXELS = st.integers(1, 12).flatmap(
    lambda h: st.integers(1, 12).flatmap(lambda w: st.sampled_from([3, 4]).flatmap(lambda c: arrays(np.uint8, (h, w, c))))
)


@settings(max_examples=60, deadline=None)
@given(_PIXELS)
def test_the_encoding_is_lossless_plain_and_the_same_every_time(pixels: np.ndarray) -> None:
    data = encode_png(pixels)
    assert data == encode_png(pixels.copy())
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == ("RGB" if pixels.shape[2] == 3 else "RGBA")
    assert np.array_equal(np.asarray(decoded), pixels)
    assert chunk_types(data) == [b"IHDR", b"IDAT", b"IEND"]
    assert zlib_header(data) == b"\x78\x01"  # zlib's header for its fastest level (PNG_COMPRESS_LEVEL 1)


def _pillow_png(pixels: np.ndarray, level: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


@pytest.mark.parametrize("bad", [np.zeros((2, 2), np.uint8), np.zeros((2, 2, 2), np.uint8), np.zeros((2, 2, 3), np.uint16)])
def test_anything_but_8_bit_rgb_or_rgba_is_refused_with_its_shape(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=str(bad.shape).replace("(", r"\(").replace(")", r"\)")):
        encode_png(bad)


def test_the_encoder_name_says_what_makes_the_bytes() -> None:
    import PIL
    from PIL import features

    assert ENCODER == f"Pillow {PIL.__version__}, zlib {features.version('zlib')}, level {PNG_COMPRESS_LEVEL}"


def _written(folder: Path) -> dict[str, bytes]:
    files = {
        "images/a.png": encode_png(np.full((3, 5, 4), 255, np.uint8)),
        "images/b c.png": encode_png(np.eye(4, dtype=np.uint8)[..., None].repeat(3, 2)),
    }
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / RECORD_FILE).write_text(EncodingRecord.of(files).to_json(), encoding="utf-8")
    return files


def test_a_record_read_back_vouches_for_exactly_the_files_written(tmp_path: Path) -> None:
    files = _written(tmp_path)
    record = EncodingRecord.read(tmp_path)
    assert record is not None and record.encoder == ENCODER and sorted(record.sha256) == sorted(files)
    assert all(record.holds(name, data) for name, data in files.items())
    assert json.loads((tmp_path / RECORD_FILE).read_text())["encoder"] == ENCODER


def test_an_edited_file_an_unlisted_file_or_another_encoder_is_not_vouched_for(tmp_path: Path) -> None:
    files = _written(tmp_path)
    record = EncodingRecord.read(tmp_path)
    assert record is not None
    pixels = np.asarray(Image.open(tmp_path / "images/a.png"))
    resaved = _pillow_png(pixels, 9)  # the same pixels, another level: not the bytes the build would write
    assert resaved != files["images/a.png"] and not record.holds("images/a.png", resaved)
    assert not record.holds("images/other.png", files["images/a.png"])
    older = EncodingRecord("Pillow 9.0.0, zlib 1.2.11, level 1", dict(record.sha256))
    assert not older.holds("images/a.png", files["images/a.png"])


@pytest.mark.parametrize("text", ["", "{", "[]", '{"encoder": 3, "sha256": {}}', '{"encoder": "x"}', '{"encoder": "x", "sha256": []}'])
def test_an_unreadable_record_trusts_nothing(tmp_path: Path, text: str) -> None:
    (tmp_path / RECORD_FILE).write_text(text, encoding="utf-8")
    assert EncodingRecord.read(tmp_path) is None


def test_no_record_trusts_nothing(tmp_path: Path) -> None:
    assert EncodingRecord.read(tmp_path) is None


@settings(max_examples=30, deadline=None)
@given(_PIXELS)
def test_a_pillow_image_encodes_as_its_pixels_do(pixels: np.ndarray) -> None:
    assert encode_png(Image.fromarray(pixels)) == encode_png(pixels)


def test_a_pillow_image_with_metadata_or_another_mode_is_refused() -> None:
    image = Image.fromarray(np.zeros((2, 2, 3), np.uint8))
    image.info["dpi"] = (72, 72)  # Pillow would write a pHYs chunk
    with pytest.raises(ValueError, match="without metadata.*dpi"):
        encode_png(image)
    with pytest.raises(ValueError, match="mode L"):
        encode_png(Image.new("L", (2, 2)))
