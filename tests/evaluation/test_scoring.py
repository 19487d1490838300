"""score_predictions against a built dataset: perfect answers, counted gaps, intervals, logs, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.evaluation.results import load_results
from lego_arta.evaluation.scoring import (
    read_predictions,
    score_predictions,
    write_predictions,
    write_sample_log,
)
from tests.evaluation.support import split_rows
from tests.support.cli import command

TASKS = ("scene", "object", "state")


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _exact_answer(task: str, row: dict) -> str:
    """The reference answer; for object the box at full precision (the answer text rounds it)."""
    if task != "object":
        return row["answer"]
    x1, y1, x2, y2 = row["box"]
    return f"<p>{row['object']}</p>{{<{x1!r}><{y1!r}><{x2!r}><{y2!r}>}}"


@pytest.mark.parametrize("task", TASKS)
def test_answers_equal_to_the_references_score_perfectly(task: str, built_data: Path, tmp_path: Path) -> None:
    rows = split_rows(built_data, task)
    predictions = _write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "answer": _exact_answer(task, r)} for r in rows])
    result = score_predictions(task, predictions, built_data, n_resamples=50)
    expected = {
        "scene": {"t_acc": 100.0, "bleu": 100.0, "rouge1": 100.0},
        "object": {
            "e_acc": 100.0,
            "echo_rate": 100.0,
            "iou": 100.0,
            "valid_box_rate": 100.0,
            "quadrant_acc": 100.0,
            **{f"quadrant_acc_{q}": 100.0 for q in ("tl", "tr", "bl", "br")},
            **{
                f"predicted_{q}": 100 * sum(r.get("quadrant") == i for r in rows) / len(rows)
                for i, q in enumerate(("tl", "tr", "bl", "br"))
            },
        },
        "state": {
            "f1": 100.0,
            "tnr": 100.0,
            "fpr": 0.0,
            "invalid_rate": 0.0,
            "balanced_acc": 100.0,
            "mcc": 100.0,
            "group_acc": 100.0,
            **{f"tnr_{r['negative_kind']}": 100.0 for r in rows if task == "state" and not r["label"]},
        },
    }[task]
    assert result.scores == pytest.approx(expected)
    assert result.n_rows == len(rows) and not result.missing and not result.unknown


def test_missing_predictions_count_as_wrong_and_unknown_ids_are_listed(built_data: Path, tmp_path: Path) -> None:
    rows = split_rows(built_data, "state")
    positives = [r for r in rows if r["label"]]
    negatives = [r for r in rows if not r["label"]]
    dropped = {positives[0]["id"], negatives[0]["id"]}
    records = [{"id": r["id"], "answer": r["answer"]} for r in rows if r["id"] not in dropped]
    strangers = ["not-a-row-1", "not-a-row-2", "not-a-row-3"]
    records += [{"id": s, "answer": "Yes."} for s in strangers]
    result = score_predictions("state", _write_jsonl(tmp_path / "p.jsonl", records), built_data, n_resamples=50)

    assert set(result.missing) == dropped
    assert result.unknown == tuple(strangers)
    assert result.n_predictions == len(rows) - 2 + 3
    # The dropped positive is a false negative, the dropped negative a false positive.
    tp, fn, fp, tn = len(positives) - 1, 1, 1, len(negatives) - 1
    assert result.scores["f1"] == pytest.approx(100 * 2 * tp / (2 * tp + fp + fn))
    assert result.scores["tnr"] == pytest.approx(100 * tn / (tn + fp))
    assert result.scores["invalid_rate"] == pytest.approx(100 * 2 / len(rows))


def test_per_sample_log_has_one_line_per_data_row_in_data_order(built_data: Path, tmp_path: Path) -> None:
    rows = split_rows(built_data, "object")
    records = [{"id": r["id"], "answer": r["answer"]} for r in rows[1:]] + [{"id": "stranger", "answer": "x"}]
    result = score_predictions("object", _write_jsonl(tmp_path / "p.jsonl", records), built_data, n_resamples=20)
    log = tmp_path / "samples.jsonl"
    write_sample_log(log, result)
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in rows]
    assert lines[0]["missing"] is True and lines[0]["answer"] == "" and lines[0]["iou"] == 0.0
    assert all(line["missing"] is False for line in lines[1:])
    assert all({"reference", "e_acc", "iou", "valid_box", "box"} <= set(line) for line in lines)


@pytest.mark.parametrize("task", TASKS)
def test_interval_bounds_bracket_the_point_estimate(task: str, built_data: Path, tmp_path: Path) -> None:
    # train holds two manuals: intervals resample manuals, so they have width where both have rows
    rows = split_rows(built_data, task, "train")
    rng = np.random.default_rng(11)
    wrong = {"scene": "Turn the model around.", "object": "<p>a thing</p>{<0><0><10><10>}", "state": ""}[task]
    records = [{"id": r["id"], "answer": r["answer"] if rng.random() < 0.6 else wrong} for r in rows]
    path = _write_jsonl(tmp_path / "p.jsonl", records)
    result = score_predictions(task, path, built_data, split="train", n_resamples=300, seed=4)
    for metric, value in result.scores.items():
        low, high = result.intervals[metric]
        assert low <= value + 1e-9 and value <= high + 1e-9, (metric, low, value, high)
    if len({r["manual_id"] for r in rows}) > 1:  # state rows may come from one highlighted manual only
        assert any(high - low > 0 for low, high in result.intervals.values())
    again = score_predictions(task, path, built_data, split="train", n_resamples=300, seed=4)
    assert again.intervals == result.intervals


def test_one_manual_gives_no_interval_width_because_manuals_are_resampled(built_data: Path, tmp_path: Path) -> None:
    rows = split_rows(built_data, "state")
    assert len({r["manual_id"] for r in rows}) == 1
    records = [{"id": r["id"], "answer": "Yes." if i % 3 else "No."} for i, r in enumerate(rows)]
    result = score_predictions("state", _write_jsonl(tmp_path / "p.jsonl", records), built_data, n_resamples=100)
    assert all(low == high == pytest.approx(result.scores[m]) for m, (low, high) in result.intervals.items())


def test_lmms_eval_sample_log_scores_like_the_same_answers_as_jsonl(built_data: Path, tmp_path: Path) -> None:
    """lmms-eval's per-sample log drops the doc; our task records carry the id (real 0.7.3 layout)."""
    rows = split_rows(built_data, "state")
    answers = ["Yes" if i % 3 else "No" for i in range(len(rows))]
    samples = []
    for i, (row, answer) in enumerate(zip(rows, answers)):
        record = {"id": row["id"], "answer": answer, "label": row["label"], "outcome": "tp"}
        samples.append(
            {
                "doc_id": i,
                "target": row["answer"],
                "filtered_resps": answer,
                "token_counts": [None],
                "f1": record,
                "tnr": record,
                "fpr": record,
                "invalid_rate": record,
                "input": "q",
            }
        )
    from_log = score_predictions("state", _write_jsonl(tmp_path / "s.jsonl", samples), built_data, n_resamples=20)
    plain = [{"id": r["id"], "answer": a} for r, a in zip(rows, answers)]
    from_jsonl = score_predictions("state", _write_jsonl(tmp_path / "p.jsonl", plain), built_data, n_resamples=20)
    assert from_log.scores == from_jsonl.scores and not from_log.missing
    assert read_predictions(tmp_path / "s.jsonl").kind == "lmms-eval samples"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "answer": "Yes"}\n{"id": "a", "answer": "No"}\n', "already predicted on line 1"),
        ('{"id": "a", "answer": "Yes"}\nnot json\n', "p.jsonl:2: not valid JSON"),
        ('{"id": "a"}\n', "expected keys id and answer"),
        ('{"id": "a", "answer": null}\n', "answer must be a string"),
        ('{"id": 3, "answer": "Yes"}\n', "id must be a string"),
        ("\n\n", "no predictions"),
        ('{"doc_id": 0, "filtered_resps": "Yes"}\n', "without a LEGO-ARTA row id"),
    ],
)
def test_bad_prediction_files_are_refused_with_the_line(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_predictions(path)


def test_wrong_task_or_missing_data_is_a_clear_error(built_data: Path, tmp_path: Path) -> None:
    predictions = _write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "answer": "Yes"}])
    with pytest.raises(ValueError, match="unknown task 'grounding'"):
        score_predictions("grounding", predictions, built_data)
    with pytest.raises(FileNotFoundError, match="not a built LEGO-ARTA dataset"):
        score_predictions("state", predictions, tmp_path)
    with pytest.raises(FileNotFoundError, match="predictions file"):
        score_predictions("state", tmp_path / "absent.jsonl", built_data)


_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_ids, st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40), min_size=1, max_size=8))
def test_written_predictions_read_back_unchanged(tmp_path_factory: pytest.TempPathFactory, answers: dict[str, str]) -> None:
    path = tmp_path_factory.mktemp("roundtrip") / "p.jsonl"
    write_predictions(path, list(answers.items()))
    assert read_predictions(path).answers == answers


def test_cli_prints_the_table_and_writes_results_and_samples(built_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = split_rows(built_data, "state")
    predictions = _write_jsonl(tmp_path / "model.v1.jsonl", [{"id": r["id"], "answer": "Yes."} for r in rows[:-1]])
    args = command(
        "score",
        *[
            "--task",
            "state",
            "--predictions",
            str(predictions),
            "--data",
            str(built_data),
            "--out",
            str(tmp_path / "scored"),
            "--resamples",
            "30",
        ],
    )
    assert args.run(args) == 0
    printed = capsys.readouterr()
    assert "F1" in printed.out and "1 missing" not in printed.out, "the table alone on stdout"
    assert "1 missing" in printed.err, "the warning on stderr"
    loaded = load_results([tmp_path / "scored"])
    kinds = sorted({r["negative_kind"] for r in rows if not r["label"]})
    state_metrics = ("f1", "tnr", "fpr", "invalid_rate", "balanced_acc", "mcc", "group_acc", *(f"tnr_{kind}" for kind in kinds))
    assert {(r.system, r.metric) for r in loaded.rows} == {("model.v1", m) for m in state_metrics}
    summary = json.loads((tmp_path / "scored" / "model.v1-state.results.json").read_text())["runs"][0]["bootstrap"]
    assert summary["resample_unit"] == "manual" and summary["manuals"] == len({r["manual_id"] for r in rows})
    assert all(r.n == len(rows) and r.low is not None for r in loaded.rows)
    samples = (tmp_path / "scored" / "model.v1-state.samples.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(samples) == len(rows)


def test_an_empty_split_is_a_clear_error_naming_task_and_split(built_data: Path, tmp_path: Path) -> None:
    import shutil

    import pyarrow.parquet as pq

    copy = tmp_path / "lego-arta"
    shutil.copytree(built_data, copy)
    for shard in (copy / "state").glob("test-*.parquet"):
        table = pq.read_table(shard)
        pq.write_table(table.slice(0, 0), shard)
    predictions = _write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "answer": "Yes"}])
    with pytest.raises(ValueError, match=r"\(state, test\)"):
        score_predictions("state", predictions, copy)


def test_a_rewritten_build_is_scored_from_its_files_not_a_stale_cache(built_data: Path, tmp_path: Path) -> None:
    """datasets 5.2 keys a local folder's cache by its README only; scores must follow the files."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "lego-arta"
    shutil.copytree(built_data, copy)
    rows = split_rows(copy, "state")
    predictions = _write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "answer": r["answer"]} for r in rows])
    assert score_predictions("state", predictions, copy, n_resamples=10).scores["f1"] == 100.0
    for shard in (copy / "state").glob("test-*.parquet"):
        table = pq.read_table(shard)
        flipped = pa.compute.invert(table.column("label"))
        pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", flipped), shard)
    assert score_predictions("state", predictions, copy, n_resamples=10).scores["f1"] == 0.0


def test_split_files_follow_the_card_and_name_what_is_missing(built_data: Path, tmp_path: Path) -> None:
    from lego_arta.evaluation.built_splits import config_names, split_files

    assert set(config_names(built_data)) == {"scene", "object", "state"}
    assert split_files(built_data, "state", "test") == sorted((built_data / "state").glob("test-*.parquet"))
    with pytest.raises(ValueError, match="no config 'grounding'"):
        split_files(built_data, "grounding", "test")
    with pytest.raises(ValueError, match="no 'validation' split"):
        split_files(built_data, "state", "validation")
    (tmp_path / "README.md").write_text("# no header\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'configs:' list"):
        split_files(tmp_path, "state", "test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        config_names(tmp_path / "not" / "there")
