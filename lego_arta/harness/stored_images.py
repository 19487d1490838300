"""Chat messages whose images are the dataset's stored PNG bytes, sent as data URLs without a round trip.

lmms-eval's chat path decodes every row image to PIL (``datasets``), converts it to RGB, and
encodes it again as PNG + base64 for each request: about 20 ms of CPU per 384x178 image, more
for full-size ones, spent by the client on the machine that may also run the server. A build
stores PNGs already (RGB, or RGBA where its source files are opaque RGBA), so the served model (:mod:`~lego_arta.harness.served_model`) reads the
row undecoded and hands the task's ``doc_to_messages`` a :class:`StoredImage` in place of each
image: ``convert("RGB")`` keeps the stored bytes where they are an 8-bit RGB PNG, or an RGBA one
with every pixel opaque (the same pixels the converted image has), and decodes otherwise. :func:`openai_messages` writes the OpenAI messages,
with stored bytes as they are and any other image (in-context examples) encoded as lmms-eval does.

>>> import io, PIL.Image
>>> buffer = io.BytesIO(); PIL.Image.new("RGB", (2, 1), (255, 0, 0)).save(buffer, "PNG")
>>> stored = StoredImage(buffer.getvalue()); stored.convert("RGB") is stored, is_rgb8_png(buffer.getvalue())
(True, True)
>>> message = openai_messages([{"role": "user", "content": [{"type": "image", "url": stored}, {"type": "text", "text": "Q"}]}])
>>> message[0]["content"][0]["image_url"]["url"][:30], message[0]["content"][1]
('data:image/png;base64,iVBORw0K', {'type': 'text', 'text': 'Q'})
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

#: The 8 bytes every PNG starts with.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: IHDR colour types 2 and 6: truecolour without and with alpha.
_TRUECOLOUR, _TRUECOLOUR_ALPHA = 2, 6


def _colour_type(data: bytes) -> int | None:
    """The IHDR colour type of an 8-bit PNG; ``None`` for anything else."""
    if len(data) > 26 and data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR" and data[24] == 8:
        return data[25]
    return None


def is_rgb8_png(data: bytes) -> bool:
    """Whether ``data`` is a PNG of 8-bit RGB pixels (its IHDR says bit depth 8, colour type 2), i.e. already what ``convert("RGB")`` gives."""
    return _colour_type(data) == _TRUECOLOUR


class StoredImage:
    """A row image as its stored PNG bytes, standing in for the decoded image in a task's message hook."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def convert(self, mode: str) -> Any:
        """Itself, asked as ``RGB``, for an 8-bit RGB PNG or an 8-bit RGBA one whose every pixel is opaque (the pixels a
        server reads are then those of the RGB conversion, however it treats alpha); else the decoded image in ``mode``."""
        if mode == "RGB" and self._reads_as_rgb():
            return self
        return self.decoded().convert(mode)

    def _reads_as_rgb(self) -> bool:
        colour = _colour_type(self.data)
        if colour == _TRUECOLOUR_ALPHA:
            return self.decoded().getextrema()[3] == (255, 255)  # decoding costs far less than encoding again
        return colour == _TRUECOLOUR

    def decoded(self) -> Any:
        """The image as PIL decodes it."""
        import PIL.Image

        image = PIL.Image.open(io.BytesIO(self.data))
        image.load()
        return image

    def data_url(self) -> str:
        return png_data_url(self.data)


def png_data_url(data: bytes) -> str:
    """PNG bytes as the ``data:`` URL an OpenAI-compatible chat request carries an image in."""
    return f"data:image/png;base64,{base64.b64encode(data).decode('ascii')}"


def stand_in_images(row: Mapping[str, Any], image_columns: Sequence[str]) -> dict[str, Any] | None:
    """The row with each undecoded image column (``{"bytes": …}``) replaced by a :class:`StoredImage`; ``None`` when one holds no PNG bytes."""
    out = dict(row)
    for column in image_columns:
        value = row[column]
        data = value.get("bytes") if isinstance(value, Mapping) else None
        if not data or data[:8] != PNG_SIGNATURE:
            return None
        out[column] = StoredImage(data)
    return out


def openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat messages of a task's ``doc_to_messages`` turns (text and image parts); stored PNGs go as they are."""
    from lmms_eval.protocol import ChatMessages

    out = []
    for message in messages:
        content = []
        for part in message["content"]:
            if part["type"] == "text":
                content.append({"type": "text", "text": part["text"]})
            elif part["type"] == "image" and isinstance(part["url"], StoredImage):
                content.append({"type": "image_url", "image_url": {"url": part["url"].data_url()}})
            elif part["type"] == "image":
                (encoded,) = ChatMessages(messages=[{"role": message["role"], "content": [part]}]).to_openai_messages()
                content.extend(encoded["content"])
            else:
                raise ValueError(f"message part of type {part['type']!r}: only text and image parts are sent as stored images")
        out.append({"role": message["role"], "content": content})
    return out
