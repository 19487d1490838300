"""Per-image backbone features on disk (safetensors), so probes train in seconds and a rerun does no backbone pass.

A cached file holds one image's tokens under one backbone: ``cls`` ``(dim,)`` and ``patches``
``(patches, dim)``, at ``<root>/<backbone fingerprint>/<sha[:2]>/<sha>.safetensors`` where
``sha`` is the SHA-256 of the image's encoded bytes. The fingerprint
(:func:`backbone_fingerprint`) is a digest of the backbone's files (weights, config, image
processor) and the storage dtype: the same weights give the same key wherever the folder lies,
and a changed processor or checkpoint gets a fresh folder instead of stale features. Each folder
records the id it was made from in ``backbone.json``. Files are written atomically, so an
interrupted run leaves only whole files.

>>> import tempfile, torch
>>> with tempfile.TemporaryDirectory() as root:
...     cache = FeatureCache(Path(root), "f" * 24, "tiny")
...     cache.save("ab" * 32, torch.ones(3, 4))
...     cache.load("ab" * 32).shape, cache.has("cd" * 32)
(torch.Size([3, 4]), False)
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from lego_arta.atomic import atomic_write_bytes, atomic_write_text
from lego_arta.checksum import sha256_bytes, sha256_file

#: The cache key of an encoded image: its SHA-256.
image_key = sha256_bytes

#: Files of a model folder whose contents make up its fingerprint.
FINGERPRINT_SUFFIXES = (".json", ".safetensors", ".bin", ".txt")
#: Storage dtype of cached tokens: half the disk of float32, far below the probes' noise.
CACHE_DTYPE = torch.float16
#: Images per backbone forward pass.
DEFAULT_BATCH = 16


def backbone_fingerprint(folder: Path, dtype: torch.dtype = CACHE_DTYPE) -> str:
    """Digest of a model folder's files (names and contents) and the storage dtype."""
    digest = hashlib.sha256(f"dtype={dtype}\n".encode("utf-8"))
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix in FINGERPRINT_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no model files (config.json, *.safetensors, preprocessor_config.json)")
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode("utf-8"))
    return digest.hexdigest()[:24]


def decode_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


class FeatureCache:
    """Tokens per image of one backbone, one safetensors file each."""

    def __init__(self, root: Path, fingerprint: str, model_id: str, dtype: torch.dtype = CACHE_DTYPE) -> None:
        self.folder, self.dtype = Path(root) / fingerprint, dtype
        record = self.folder / "backbone.json"
        if not record.is_file():
            atomic_write_text(record, json.dumps({"model": model_id, "fingerprint": fingerprint, "dtype": str(dtype)}, indent=1) + "\n")

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.safetensors"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def save(self, key: str, tokens: torch.Tensor) -> None:
        """Store ``(1 + patches, dim)`` tokens (token 0 the CLS token)."""
        stored = tokens.to(self.dtype).contiguous()
        atomic_write_bytes(
            self.path(key), save_tensors({"cls": stored[0].clone(), "patches": stored[1:].clone()}, metadata={"image_sha256": key})
        )

    def load(self, key: str) -> torch.Tensor:
        """The image's ``(1 + patches, dim)`` tokens as float32; a damaged file is an error naming it."""
        path = self.path(key)
        try:
            tensors = load_tensors(path.read_bytes())
            return torch.cat([tensors["cls"].unsqueeze(0), tensors["patches"]], dim=0).float()
        except (OSError, KeyError, RuntimeError, ValueError, SafetensorError) as error:
            raise ValueError(f"{path}: unreadable cached features ({error}); delete it to recompute") from error


@dataclass
class Extraction:
    """What one pass over the images did: images seen (distinct), served from the cache, encoded, backbone seconds."""

    images: int = 0
    cached: int = 0
    encoded: int = 0
    backbone_seconds: float = 0.0


def ensure_features(
    images: Iterable[tuple[str, bytes]],
    cache: FeatureCache,
    encode: Callable[[list[np.ndarray]], torch.Tensor],
    *,
    batch_size: int = DEFAULT_BATCH,
) -> Extraction:
    """Encode every ``(key, encoded image)`` not yet cached, ``batch_size`` at a time; repeats count once.

    ``encode`` is called only for images missing from the cache, so a rerun calls it never (and
    a caller can load the backbone lazily, inside ``encode``).
    """
    seen: set[str] = set()
    pending: list[tuple[str, bytes]] = []
    done = Extraction()

    def flush() -> None:
        if not pending:
            return
        start = time.perf_counter()
        tokens = encode([decode_rgb(data) for _, data in pending])
        done.backbone_seconds += time.perf_counter() - start
        for (key, _), item in zip(pending, tokens, strict=True):
            cache.save(key, item)
        done.encoded += len(pending)
        pending.clear()

    for key, data in images:
        if key in seen:
            continue
        seen.add(key)
        done.images += 1
        if cache.has(key):
            done.cached += 1
            continue
        pending.append((key, data))
        if len(pending) >= batch_size:
            flush()
    flush()
    return done
