"""Frozen backbones, the feature cache and ``lego-arta probe`` end to end, on tiny random models built here.

No model is downloaded: every backbone is a randomly initialised transformers model saved to a
temporary folder with its image processor.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from lego_arta.cli import main
from lego_arta.probe import run as probe_run_module
from lego_arta.probe.backbone import Backbone, resolve_model
from lego_arta.probe.cache import FeatureCache, backbone_fingerprint, ensure_features, image_key

IMAGE_SIZE, PATCH, WIDTH = 32, 8, 32
PATCHES = (IMAGE_SIZE // PATCH) ** 2


def save_tiny(folder: Path, family: str) -> Path:
    """A tiny random vision model of ``family`` and a 32x32 image processor in ``folder``."""
    import transformers as tf

    torch.manual_seed(0)
    shape = {
        "image_size": IMAGE_SIZE,
        "patch_size": PATCH,
        "hidden_size": WIDTH,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
    models = {
        "vit": lambda: tf.ViTModel(tf.ViTConfig(**shape), add_pooling_layer=False),
        "dinov2": lambda: tf.Dinov2Model(tf.Dinov2Config(**shape)),
        "clip": lambda: tf.CLIPVisionModel(tf.CLIPVisionConfig(**shape)),
        "siglip": lambda: tf.SiglipVisionModel(tf.SiglipVisionConfig(**shape)),
    }
    models[family]().save_pretrained(folder)
    tf.ViTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    return folder


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("family", ["vit", "dinov2", "clip", "siglip"])
def test_every_backbone_family_gives_a_cls_token_then_its_patch_tokens(family: str, tmp_path: Path) -> None:
    backbone = Backbone(resolve_model(str(save_tiny(tmp_path / family, family))))
    tokens = backbone.encode([np.zeros((40, 60, 3), np.uint8), np.full((40, 60, 3), 200, np.uint8)])
    assert tokens.shape == (2, 1 + PATCHES, WIDTH) and tokens.dtype == torch.float32
    assert not torch.equal(tokens[0], tokens[1])


def test_a_missing_backbone_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot load a transformers vision model"):
        Backbone(tmp_path)
    with pytest.raises(ValueError, match="no model files"):
        backbone_fingerprint(tmp_path)


def test_features_are_cached_per_image_and_a_second_pass_runs_no_backbone(tmp_path: Path) -> None:
    folder = save_tiny(tmp_path / "vit", "vit")
    backbone = Backbone(folder)
    cache = FeatureCache(tmp_path / "cache", backbone_fingerprint(folder), "vit")
    images = [(image_key(data), data) for data in (png(0), png(1), png(0))]
    calls: list[int] = []

    def encode(batch: list[np.ndarray]) -> torch.Tensor:
        calls.append(len(batch))
        return backbone.encode(batch)

    first = ensure_features(images, cache, encode, batch_size=1)
    assert (first.images, first.encoded, first.cached, calls) == (2, 2, 0, [1, 1])

    def no_backbone(batch: list[np.ndarray]) -> torch.Tensor:
        raise AssertionError("the backbone ran although every image is cached")

    second = ensure_features(images, cache, no_backbone)
    assert (second.images, second.encoded, second.cached) == (2, 0, 2)
    expected = backbone.encode([np.asarray(Image.open(io.BytesIO(png(1))).convert("RGB"))])[0]
    assert torch.allclose(cache.load(image_key(png(1))), expected, atol=1e-2)
    assert json.loads((cache.folder / "backbone.json").read_text())["model"] == "vit"


def test_a_changed_backbone_folder_gets_its_own_cache_key(tmp_path: Path) -> None:
    folder = save_tiny(tmp_path / "vit", "vit")
    before = backbone_fingerprint(folder)
    (folder / "preprocessor_config.json").write_text((folder / "preprocessor_config.json").read_text().replace("0.5", "0.25"))
    assert backbone_fingerprint(folder) != before


def test_a_damaged_cache_file_names_itself(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path, "f" * 24, "x")
    cache.save("ab" * 32, torch.ones(2, 4))
    cache.path("ab" * 32).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="unreadable cached features"):
        cache.load("ab" * 32)


# --- lego-arta probe on a real build ------------------------------------------------------------


@pytest.fixture(scope="module")
def probe_data(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: Any) -> Path:
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("probe-built") / "lego-arta"
    build(replace(built_recipe, configs=("scene", "state", "order")), out, raw=synthetic_raw, progress=False)
    return out


def _test_kinds(data: Path) -> set[str]:
    """The state negative kinds in the built test split (read from the Parquet, not from the probe)."""
    import pyarrow.parquet as pq

    return set(pq.read_table(sorted((data / "state").glob("test-*.parquet")), columns=["negative_kind"]).column(0).to_pylist())


def _train_manuals(data: Path) -> dict[str, set[str]]:
    """Per probe task, the manuals of its built train split (read from the Parquet, not from the probe)."""
    import pyarrow.parquet as pq

    return {
        task: set(pq.read_table(sorted((data / task).glob("train-*.parquet")), columns=["manual_id"]).column(0).to_pylist())
        for task in ("state", "order")
    }


def check_schema(
    document: dict[str, Any], tasks: tuple[str, ...], probes: tuple[str, ...], state_kinds: set[str], train_manuals: dict[str, set[str]]
) -> None:
    """The results.json contract (docs/probe.md), written out rather than read from the code."""
    assert document["format"] == "lego-arta-probe/1"
    assert set(document) == {"format", "backbone", "data", "settings", "features", "results", "run"}
    assert set(document["backbone"]) == {"id", "fingerprint", "tokens_per_image", "dim"}
    assert set(document["settings"]) == {"epochs", "lr", "seed", "batch_size", "weight_decay", "patience", "holdout"}
    assert set(document["features"]["images_per_task"]) == set(tasks)
    assert set(document["features"]["shared_pass"]) == {
        "images_if_separate",
        "images_encoded_once",
        "forwards_saved",
        "compute_saved_percent",
    }
    assert [(r["task"], r["probe"]) for r in document["results"]] == [(t, p) for t in tasks for p in probes]
    for result in document["results"]:
        assert set(result) == {
            "task",
            "probe",
            "train_items",
            "test_items",
            "trainable_parameters",
            "accuracy",
            "accuracy_reversed",
            "flip_rate",
            "per_kind_accuracy",
            "scores",
            "skipped",
            "epochs",
        }
        epochs = result["epochs"]
        assert set(epochs) == {"chosen", "max", "held_out_manuals", "held_out_items", "curve"}
        assert 1 <= epochs["chosen"] <= epochs["max"] == document["settings"]["epochs"]
        if epochs["curve"]:  # held-out manuals are train manuals, and the chosen epoch has the lowest held-out loss
            assert set(epochs["held_out_manuals"]) <= train_manuals[result["task"]] and 0 < epochs["held_out_items"] < result["train_items"]
            assert [point["epoch"] for point in epochs["curve"]] == list(range(1, len(epochs["curve"]) + 1))
            assert min(epochs["curve"], key=lambda point: point["loss"])["epoch"] == epochs["chosen"]
        for key in ("accuracy", "accuracy_reversed", "flip_rate"):
            assert 0.0 <= result[key] <= 100.0
        assert result["trainable_parameters"] > 0 and result["test_items"] > 0
        if result["task"] == "order":
            assert set(result["per_kind_accuracy"]) == {"attached", "removed"}
        else:  # the probe drops state rows without a previous frame, so some kinds may be missing
            assert "none" in result["per_kind_accuracy"] and len(result["per_kind_accuracy"]) >= 2
            assert set(result["per_kind_accuracy"]) <= state_kinds
    run = document["run"]
    assert set(run) == {"cache", "backbone_seconds_per_image", "probes"}
    assert all(
        set(t) == {"task", "probe", "train_seconds", "probe_seconds_per_train_item_epoch", "probe_seconds_per_test_item"}
        for t in run["probes"]
    )


@pytest.mark.slow
def test_lego_arta_probe_shares_one_backbone_pass_reuses_the_cache_and_reports(
    probe_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backbone = save_tiny(tmp_path / "vit", "vit")
    args = [
        "probe",
        "--backbone",
        str(backbone),
        "--data",
        str(probe_data),
        "--task",
        "state,order",
        "--probe",
        "linear,attentive,step",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--cache",
        str(tmp_path / "cache"),
    ]
    assert main([*args, "--out", str(tmp_path / "first")]) == 0
    first = json.loads((tmp_path / "first" / "results.json").read_text())
    check_schema(first, ("state", "order"), ("linear", "attentive", "step"), _test_kinds(probe_data), _train_manuals(probe_data))
    shared = first["features"]["shared_pass"]
    assert first["run"]["cache"]["encoded"] == shared["images_encoded_once"] > 0
    assert shared["images_if_separate"] == sum(first["features"]["images_per_task"].values()) > shared["images_encoded_once"]
    for result in first["results"]:
        if result["task"] == "order" and result["probe"] in ("linear", "attentive"):
            assert (result["accuracy"], result["accuracy_reversed"], result["flip_rate"]) == (50.0, 50.0, 0.0)

    def no_backbone(*_: Any, **__: Any) -> None:
        raise AssertionError("a backbone was loaded although every image is cached")

    monkeypatch.setattr(probe_run_module, "Backbone", no_backbone)
    assert main([*args, "--out", str(tmp_path / "second")]) == 0
    second = json.loads((tmp_path / "second" / "results.json").read_text())
    assert second["run"]["cache"] == {**first["run"]["cache"], "cached": shared["images_encoded_once"], "encoded": 0}
    assert {k: v for k, v in first.items() if k != "run"} == {k: v for k, v in second.items() if k != "run"}

    from lego_arta.evaluation.results import load_results

    rows = load_results([tmp_path / "first" / "probe.results.json"]).rows
    assert {(row.task, row.metric) for row in rows} >= {("order", "order_pair_accuracy"), ("state", "f1")}
    assert (tmp_path / "first" / "probe.md").read_text().count("| order | step |") == 1
    assert (tmp_path / "first" / "probe-order-order_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_tasks_and_probes_fail_before_any_work(tmp_path: Path) -> None:
    base = ["probe", "--backbone", str(tmp_path), "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*base, "--task", "colour"]) == 2
    assert main([*base, "--probe", "mlp"]) == 2
    assert not (tmp_path / "o").exists()
