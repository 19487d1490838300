"""Native answer conventions and threshold-free metrics (issue 23): known true boxes, known rankings, absent metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from lego_arta.answers import BoxFrame, parse_boxes, parse_object_label
from lego_arta.harness import probabilities
from lego_arta.harness.task_docs import BOX_FORMAT_ENV, aggregate, process_results
from lego_arta.metrics import bootstrap_ci, get_metric
from lego_arta.tasks import get_task
from tests.support.cli import error_printed

#: A collage of 1344 x 1008 pixels and a true box in the 0–100 frame.
WIDTH, HEIGHT = 1344, 1008
TRUE = (25.0, 10.0, 50.0, 40.0)


def _pixels(box: tuple[float, ...]) -> list[int]:
    return [round(box[0] * WIDTH / 100), round(box[1] * HEIGHT / 100), round(box[2] * WIDTH / 100), round(box[3] * HEIGHT / 100)]


#: The true box as each convention writes it, and the format that reads it.
CONVENTIONS = {
    "qwen2.5-vl json pixels": ('```json\n[{"bbox_2d": %s, "label": "2 red bricks"}]\n```' % _pixels(TRUE), "pixels"),
    "qwen2.5-vl bare json": ('{"bbox_2d": %s}' % _pixels(TRUE), "pixels"),
    "qwen3-vl 0-1000": ("[250, 100, 500, 400]", "0-1000"),
    "qwen2-vl tags": ("<|object_ref_start|>bricks<|object_ref_end|><|box_start|>(250,100),(500,400)<|box_end|>", "0-1000"),
    "gemini json": ('[{"box_2d": [100, 250, 400, 500], "label": "2 red bricks"}]', "gemini"),
    "gemini list": ("[100, 250, 400, 500]", "gemini"),
    "minigpt 0-100": ("<p>2 red bricks</p>{<25><10><50><40>}", "0-100"),
    "auto minigpt": ("<p>2 red bricks</p>{<25><10><50><40>}", "auto"),
    "auto qwen json 0-100": ('{"bbox_2d": [25, 10, 50, 40], "label": "2 red bricks"}', "auto"),
}


def _object_columns(answers: list[str], box_format: str) -> dict[str, list]:
    n = len(answers)
    return {
        "answer": ["<p>2 red bricks</p>{<25><10><50><40>}"] * n,
        "entities": [("red",)] * n,
        "box": [TRUE] * n,
        "quadrant": [0] * n,
        "object": ["2 red bricks"] * n,
        "image_size": [(WIDTH, HEIGHT)] * n,
        "box_format": [box_format] * n,
    }


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_each_convention_scores_full_iou_in_its_format(name: str) -> None:
    answer, box_format = CONVENTIONS[name]
    scores = get_task("object").scores([answer], _object_columns([answer], box_format))
    assert scores["iou"] == pytest.approx(100.0, abs=0.2)
    assert scores["valid_box_rate"] == 100.0
    assert scores["quadrant_acc"] == 100.0


def test_pixel_answers_read_in_auto_score_near_zero() -> None:
    """The failure the issue describes: a convention, not grounding, decides the score without --box-format."""
    answer, _ = CONVENTIONS["qwen2.5-vl json pixels"]
    assert get_task("object").scores([answer], _object_columns([answer], "auto"))["iou"] < 30.0


def test_gemini_order_is_not_read_as_x_first() -> None:
    answer, _ = CONVENTIONS["gemini list"]
    assert parse_boxes(answer, BoxFrame("gemini")) == [(None, pytest.approx(TRUE))]
    assert parse_boxes(answer, BoxFrame("0-1000")) != [(None, pytest.approx(TRUE))]


def test_json_labels_are_the_object_label() -> None:
    assert parse_object_label(CONVENTIONS["qwen2.5-vl json pixels"][0]) == "2 red bricks"
    assert parse_boxes(CONVENTIONS["gemini json"][0], BoxFrame("gemini"))[0][0] == "2 red bricks"


def test_pixels_without_image_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="width and height"):
        BoxFrame("pixels")
    columns = _object_columns(["[1, 2, 3, 4]"], "pixels")
    columns["image_size"] = [None]
    with pytest.raises(ValueError, match="image_size"):
        get_task("object").scores(["[1, 2, 3, 4]"], columns)


@settings(max_examples=100, deadline=None)
@given(x1=st.integers(0, 600), y1=st.integers(0, 450), w=st.integers(20, 700), h=st.integers(20, 500))
def test_pixel_json_round_trips_to_the_frame(x1: int, y1: int, w: int, h: int) -> None:
    x2, y2 = min(x1 + w, WIDTH), min(y1 + h, HEIGHT)
    found = parse_boxes('{"bbox_2d": [%d, %d, %d, %d], "label": "a"}' % (x1, y1, x2, y2), BoxFrame("pixels", WIDTH, HEIGHT))
    assert found == [("a", pytest.approx((100 * x1 / WIDTH, 100 * y1 / HEIGHT, 100 * x2 / WIDTH, 100 * y2 / HEIGHT)))]


# --- probabilities: AUROC / AP against scikit-learn, absent without probabilities ---------------


@pytest.mark.parametrize("seed", range(5))
def test_auroc_and_ap_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(40) < 0.3
    labels[:2] = [True, False]
    p = np.round(rng.random(40), 2)  # ties included
    targets = [(bool(label), float(q)) for label, q in zip(labels, p)]
    assert get_metric("auroc").score([""] * 40, targets) == pytest.approx(100 * roc_auc_score(labels, p))
    assert get_metric("average_precision").score([""] * 40, targets) == pytest.approx(100 * average_precision_score(labels, p))


def test_auroc_interval_resamples_manuals() -> None:
    targets = [(i % 4 == 0, 0.9 if i % 4 == 0 else 0.1 * (i % 3)) for i in range(40)]
    stats = get_metric("auroc").stats([""] * 40, targets)
    manuals = [f"m{i // 8}" for i in range(40)]
    low, high = bootstrap_ci(stats, n_resamples=200, seed=0, clusters=manuals)
    assert low == high == 100.0
    assert not math.isnan(stats.score())


def _state_columns(p_yes: list) -> dict[str, list]:
    n = len(p_yes)
    return {
        "answer": ["Yes."] * n,
        "label": [i % 4 == 0 for i in range(n)],
        "negative_kind": ["none" if i % 4 == 0 else "shifted" for i in range(n)],
        "manual_id": ["m"] * n,
        "session": ["s"] * n,
        "step_num": [i // 4 for i in range(n)],
        "p_yes": p_yes,
    }


def test_state_metrics_without_probabilities_are_absent_not_zero() -> None:
    spec = get_task("state")
    scores = spec.scores(["No."] * 8, _state_columns([None] * 8))
    assert "auroc" not in scores and "average_precision" not in scores
    assert "tnr_displaced" not in scores and "tnr_shifted" in scores
    with_p = spec.scores(["No."] * 8, _state_columns([0.9, 0.2, 0.1, 0.3] * 2))
    assert with_p["auroc"] == 100.0


def test_lmms_eval_aggregation_leaves_absent_metrics_null(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick-start build has no displaced negatives: tnr_displaced must not read 0.00."""
    monkeypatch.delenv(BOX_FORMAT_ENV, raising=False)
    probabilities.clear()
    docs = [
        {
            "id": f"r{i}",
            "label": i % 2 == 0,
            "negative_kind": "none" if i % 2 == 0 else "shifted",
            "manual_id": "m",
            "session": "s",
            "step_num": i // 2,
        }
        for i in range(4)
    ]
    records = [process_results("state", doc, ["No."])["f1"] for doc in docs]
    assert aggregate("tnr_displaced", records) is None
    assert aggregate("tnr_shifted", records) == 100.0
    assert aggregate("auroc", records) is None
    for doc, p in zip(docs, (0.8, 0.3, 0.6, 0.1)):
        probabilities.record(probabilities.sample_key(doc["id"], "No."), p)
    records = [process_results("state", doc, ["No."])["f1"] for doc in docs]
    probabilities.clear()
    assert [r["p_yes"] for r in records] == [0.8, 0.3, 0.6, 0.1]
    assert aggregate("auroc", records) == 100.0
    assert aggregate("average_precision", records) == 100.0


def test_harness_reads_the_box_format_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    answer, box_format = CONVENTIONS["gemini json"]
    doc = {"id": "o1", "entities": ["red"], "box": list(TRUE), "quadrant": 0, "object": "2 red bricks", "image_size": [WIDTH, HEIGHT]}
    monkeypatch.setenv(BOX_FORMAT_ENV, box_format)
    record = process_results("object", doc, [answer])["iou"]
    assert record["box_format"] == "gemini"
    assert aggregate("iou", [record]) == pytest.approx(100.0)
    monkeypatch.setenv(BOX_FORMAT_ENV, "inches")
    with pytest.raises(ValueError, match="LEGO_ARTA_BOX_FORMAT"):
        process_results("object", doc, [answer])


def test_probabilities_refuse_values_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match="r1"):
        probabilities.record("r1", 1.5)
    assert probabilities.lookup("r1") is None


def test_built_object_rows_store_their_collage_size(built_dataset) -> None:
    """``pixels`` reads boxes against this size: it must be the size of the image the model sees."""
    import io

    from PIL import Image

    from lego_arta.evaluation.built_splits import read_columns

    columns = read_columns(built_dataset, "object", "test", ["image", "image_size"])
    assert columns["image"], "fixture must hold object rows"
    for image, size in zip(columns["image"], columns["image_size"]):
        assert tuple(size) == Image.open(io.BytesIO(image["bytes"])).size


def test_score_reads_p_yes_from_predictions_and_leaves_auroc_absent_without_it(built_dataset, tmp_path, capsys) -> None:
    """``lego-arta score`` end to end on a real build: p_yes beside the answer gives AUROC/AP with
    intervals; the same answers without it give no AUROC row (shown –), never 0."""
    import json

    from lego_arta.cli import main
    from lego_arta.evaluation.built_splits import read_columns

    truth = read_columns(built_dataset, "state", "test", ["id", "label"])
    ranked = tmp_path / "ranked.jsonl"
    ranked.write_text(
        "".join(
            json.dumps({"id": i, "answer": "Yes.", "p_yes": 0.9 if label else 0.2}) + "\n" for i, label in zip(truth["id"], truth["label"])
        )
    )
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps({"id": i, "answer": "Yes."}) + "\n" for i in truth["id"]))
    for predictions in (ranked, plain):
        assert (
            main(
                [
                    "score",
                    "--task",
                    "state",
                    "--predictions",
                    str(predictions),
                    "--data",
                    str(built_dataset),
                    "--out",
                    str(tmp_path / "scores"),
                    "--resamples",
                    "50",
                ]
            )
            == 0
        )
    rows = {path.stem: json.loads(path.read_text())["rows"] for path in (tmp_path / "scores").glob("*.results.json")}
    ranked_rows = {r["metric"]: r for r in rows["ranked-state.results"]}
    assert ranked_rows["auroc"]["value"] == 100.0 and ranked_rows["auroc"]["low"] == 100.0
    assert ranked_rows["average_precision"]["value"] == 100.0
    assert {r["metric"] for r in rows["plain-state.results"]} & {"auroc", "average_precision"} == set()
    samples = [json.loads(line) for line in (tmp_path / "scores" / "ranked-state.samples.jsonl").read_text().splitlines()]
    assert {s["p_yes"] for s in samples} == {0.9, 0.2}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": truth["id"][0], "answer": "Yes.", "p_yes": 7}) + "\n")
    assert main(["score", "--task", "state", "--predictions", str(bad), "--data", str(built_dataset)]) == 2
    assert "p_yes" in error_printed(capsys)
