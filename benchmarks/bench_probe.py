"""Time the probe path on CPU at DINOv2-base / ViT-B/16 size: backbone pass, feature cache, probe training.

No weights are downloaded: the backbone is a randomly initialised ViT-B/16 (transformers'
``ViTConfig`` defaults: 224 px, 16 px patches, width 768, 12 layers; the compute of DINOv2-base and
of CLIP ViT-B/16's tower), saved to a temporary folder. Synthetic images go through
``lego_arta.probe`` exactly as a run does: one backbone pass that fills the safetensors cache, a
second pass served from the cache, then each probe trained on the cached tokens (two frames of 197
tokens per item).

    .venv/bin/python benchmarks/bench_probe.py                       # 32 images, 64 training items
    .venv/bin/python benchmarks/bench_probe.py --images 8 --items 16  # quick

Targets (2-core CPU): reading cached features <= 20 ms per image, >= 20x cheaper than the backbone
pass, so a rerun of ``lego-arta probe`` costs the probe training only; the exit status is 1 when
one is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lego_arta.probe.backbone import Backbone
from lego_arta.probe.cache import FeatureCache, backbone_fingerprint, ensure_features, image_key
from lego_arta.probe.heads import PROBES
from lego_arta.probe.train import FrameBank, TrainSettings, train_probe

#: Most milliseconds one cached image's tokens may take to read.
TARGET_CACHE_MS = 20.0
#: Least ratio of backbone time to cache-read time per image.
TARGET_SPEEDUP = 20.0


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (473, 1024, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--items", type=int, default=64, help="training items (pairs of cached frames)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here (benchmarks/run_all.py reads it)")
    args = parser.parse_args(argv)
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "vit-b16"
        ViTModel(ViTConfig(), add_pooling_layer=False).save_pretrained(folder)
        ViTImageProcessor(size={"height": 224, "width": 224}).save_pretrained(folder)
        backbone = Backbone(folder)
        cache = FeatureCache(Path(work) / "cache", backbone_fingerprint(folder), "random ViT-B/16")
        images = [(image_key(data), data) for data in (png(i) for i in range(args.images))]
        first = ensure_features(images, cache, backbone.encode)
        start = time.perf_counter()
        second = ensure_features(images, cache, backbone.encode)
        tokens = {key: cache.load(key) for key, _ in images}
        cache_ms = 1000 * (time.perf_counter() - start) / len(images)
        cache_bytes = sum(path.stat().st_size for path in cache.folder.rglob("*.safetensors")) / len(images)
        backbone_ms = 1000 * first.backbone_seconds / first.encoded
        keys = sorted(tokens)
        rng = np.random.default_rng(0)
        frames = [tuple(keys[int(i)] for i in rng.choice(len(keys), 2, replace=False)) for _ in range(args.items)]
        bank = FrameBank.of(frames, tokens)
        labels = [int(i % 2) for i in range(args.items)]
        probes = {}
        for name in PROBES:
            trained = train_probe(name, bank, labels, TrainSettings(epochs=args.epochs, seed=0))
            probes[name] = {"ms_per_item_epoch": 1000 * trained.seconds / (args.items * args.epochs), "parameters": trained.parameters}
    result = {
        "images": args.images,
        "tokens_per_image": int(bank.tokens.shape[1]),
        "dim": int(bank.tokens.shape[2]),
        "backbone_ms_per_image": backbone_ms,
        "cache_ms_per_image": cache_ms,
        "cache_hits_second_pass": second.cached,
        "speedup": backbone_ms / cache_ms,
        "probes": probes,
        "target_cache_ms": TARGET_CACHE_MS,
        "target_speedup": TARGET_SPEEDUP,
        "cache_bytes_per_image": cache_bytes,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if cache_ms <= TARGET_CACHE_MS and result["speedup"] >= TARGET_SPEEDUP and second.encoded == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
