"""The ``order`` task: pairs in both orders, two frames shown in order, its metrics, and an lmms-eval run.

The data are a real build of the shared synthetic manuals (tests/conftest.py) with a recipe that
names ``order`` (it is not in the default build).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from lego_arta.harness import task_docs
from lego_arta.tasks import default_task_names, get_task


@pytest.fixture(scope="module")
def order_data(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: Any) -> Path:
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("order-built") / "lego-arta"
    build(replace(built_recipe, configs=("order",)), out, raw=synthetic_raw, progress=False)
    return out


def _rows(data: Path, split: str) -> list[dict[str, Any]]:
    return pq.read_table(sorted((data / "order").glob(f"{split}-*.parquet"))).to_pylist()


def test_order_is_opt_in_and_its_spec_names_both_frames() -> None:
    assert "order" not in default_task_names()
    spec = get_task("order")
    assert spec.image_columns == ("image", "second_image")
    assert spec.task_token == "[order]"


def test_every_pair_holds_both_orders_in_one_split_with_the_frames_swapped(order_data: Path) -> None:
    seen: dict[str, str] = {}
    for split in ("train", "test"):
        pairs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(order_data, split):
            pairs[row["pair"]["id"]].append(row)
        assert pairs, f"no order pairs in {split}"
        for pair, rows in pairs.items():
            assert pair not in seen, f"pair {pair} in both {seen.get(pair)} and {split}"
            seen[pair] = split
            forward, backward = sorted(rows, key=lambda r: not r["label"])
            assert len(rows) == 2 and forward["label"] and not backward["label"]
            assert (forward["answer"], backward["answer"]) == ("Attached.", "Removed.")
            assert forward["image"]["bytes"] == backward["second_image"]["bytes"]
            assert forward["second_image"]["bytes"] == backward["image"]["bytes"]
            assert forward["image"]["bytes"] != forward["second_image"]["bytes"]
            assert forward["query"] == backward["query"] and forward["query"].startswith(
                "[order] The first image was taken before the second."
            )
            assert pair not in forward["id"] and forward["image"]["path"] == f"{forward['id']}.png"


def test_the_llava_export_carries_both_frames(order_data: Path, tmp_path: Path) -> None:
    from lego_arta.dataset.export import export_llava

    export_llava(order_data, tmp_path / "export")
    llava = tmp_path / "export" / "llava"
    entries = [e for e in json.loads((llava / "train.json").read_text()) if e["task"] == "order"]
    rows = {row["id"]: row for row in pq.read_table(sorted((order_data / "order").glob("train-*.parquet"))).to_pylist()}
    assert entries and len(entries) == len(rows)
    for entry in entries[:5]:
        assert isinstance(entry["image"], list) and len(entry["image"]) == 2
        assert entry["conversations"][0]["value"].startswith("<image>\n<image>\n[order]")
        first, second = ((llava / name).read_bytes() for name in entry["image"])
        assert (first, second) == (rows[entry["id"]]["image"]["bytes"], rows[entry["id"]]["second_image"]["bytes"])


def test_doc_to_visual_and_messages_show_both_frames_in_order(order_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    import numpy as np

    monkeypatch.setenv(task_docs.DATA_ENV, str(order_data))
    test = datasets.load_dataset(str(order_data), "order", split="test")
    doc = test[0]
    kwargs = {"config": "order", "with_instruction": True, "in_context_examples": 0}
    first, second = task_docs.doc_to_visual(doc, kwargs)
    assert np.array_equal(np.asarray(first), np.asarray(doc["image"].convert("RGB")))
    assert np.array_equal(np.asarray(second), np.asarray(doc["second_image"].convert("RGB")))
    content = task_docs.doc_to_messages(doc, kwargs)[-1]["content"]
    assert [item["type"] for item in content] == ["image", "image", "text"]
    shots = task_docs.doc_to_visual(doc, {**kwargs, "in_context_examples": 2})
    assert len(shots) == 6, "two examples of two frames each, then the row's two frames"


def test_oracle_and_always_attached_answers_score_as_the_metrics_say(order_data: Path) -> None:
    spec = get_task("order")
    rows = _rows(order_data, "test")
    columns = {"label": [r["label"] for r in rows], "pair": [r["pair"] for r in rows], "answer": [r["answer"] for r in rows]}
    assert spec.scores([r["answer"] for r in rows], columns) == {
        "order_accuracy": 100.0,
        "order_pair_accuracy": 100.0,
        "order_flip_consistency": 100.0,
    }
    assert spec.scores(["Attached"] * len(rows), columns) == {
        "order_accuracy": 50.0,
        "order_pair_accuracy": 0.0,
        "order_flip_consistency": 0.0,
    }


@pytest.mark.slow
def test_lmms_eval_dummy_answering_attached_scores_50(order_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lego_arta.harness.lmms_eval_runner import run_lmms_eval

    monkeypatch.setenv(task_docs.DATA_ENV, str(order_data))
    path = run_lmms_eval(data=order_data, model="dummy", model_args="response=Attached", tasks="lego_arta_order", output=tmp_path)
    results = json.loads(path.read_text())["results"]["lego_arta_order"]
    assert results["order_accuracy,none"] == 50.0
    assert (results["order_pair_accuracy,none"], results["order_flip_consistency,none"]) == (0.0, 0.0)
    samples = next(tmp_path.glob("*_samples_lego_arta_order.jsonl")).read_text().splitlines()
    assert len(samples) == len(_rows(order_data, "test"))


@pytest.mark.slow
def test_the_loading_script_builds_the_same_order_rows(order_data: Path, built_recipe: Any, synthetic_raw: Path, tmp_path: Path) -> None:
    import datasets
    import yaml

    from tests.dataset.test_loading import _import_loading_script

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(replace(built_recipe, configs=("order",)).to_dict()), encoding="utf-8")
    builder = _import_loading_script().LegoArta(
        config_name="order", data_dir=str(synthetic_raw), recipe=str(recipe_file), cache_dir=str(tmp_path / "cache")
    )
    builder.download_and_prepare()
    for split in ("train", "test"):
        generated = builder.as_dataset(split=split)
        for column in ("image", "second_image"):
            generated = generated.cast_column(column, datasets.Image(decode=False))
        assert generated.to_list() == _rows(order_data, split), split


@pytest.mark.slow
def test_a_tiny_llava_reads_both_frames_through_llava_hf(order_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real model gets both frames (and two examples of two frames with ``_icl``): a mismatch of
    images and image tokens would fail the run."""
    from lego_arta.harness.lmms_eval_runner import run_lmms_eval
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    monkeypatch.setenv(task_docs.DATA_ENV, str(order_data))
    model = build_tiny_vlm(tmp_path / "tiny-llava", seed=0)
    path = run_lmms_eval(
        data=order_data,
        model="llava_hf",
        model_args=f"pretrained={model},device=cpu,device_map=cpu",
        tasks="lego_arta_order,lego_arta_order_icl",
        output=tmp_path / "eval",
        limit=2,
    )
    results = json.loads(path.read_text())
    for task in ("lego_arta_order", "lego_arta_order_icl"):
        assert results["n-samples"][task]["effective"] == 2
        scores = {m: results["results"][task][f"{m},none"] for m in get_task("order").metrics}
        needs_p = {"order_auroc", "order_average_precision"}  # llava_hf gives no P(Attached): absent (null), never 0
        assert all(isinstance(v, float) for m, v in scores.items() if m not in needs_p)
        assert {scores[m] for m in needs_p} == {None}
