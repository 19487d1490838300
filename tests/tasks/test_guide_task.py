"""The ``guide`` task on a real build: episodes turn by turn, corrections that pass the geometry
check, boxes where the image changed, exact floors, both history modes and an lmms-eval run.

The data are a real build of the shared synthetic manuals (tests/conftest.py) with a recipe that
names ``guide`` (it is not in the default build).
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from lego_arta.harness import task_docs
from lego_arta.tasks import default_task_names, get_task
from lego_arta.tasks.floors import FloorRows
from lego_arta.tasks.guide import (
    FIX,
    NEXT,
    VERDICT,
    WHERE,
    as_part,
    fix_is_right,
    own_history_answers,
    parse_fix,
)
from tests.support.cli import error_printed

SPEC = get_task("guide")


def _rows(data: Path, split: str, images: bool = False) -> list[dict[str, Any]]:
    table = pq.read_table(sorted((data / "guide").glob(f"{split}-*.parquet")))
    return (table if images else table.drop(["image"])).to_pylist()


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def _floor(name: str, columns: dict[str, list[Any]]) -> list[str]:
    floor = next(f for f in SPEC.baselines if f.name == name)
    rows = FloorRows(tuple(columns["id"]), tuple(columns["query"]), columns={c: columns[c] for c in floor.reads})
    return floor.answer(rows, FloorRows((), ()), 0)[0]


def _decode(row: dict[str, Any]) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(row["image"]["bytes"])).convert("RGB"))


def test_guide_is_opt_in_and_asks_the_state_question_first() -> None:
    assert "guide" not in default_task_names()
    assert SPEC.task_token == "[state]" and SPEC.group == "lego_arta_assistant"


def test_every_episode_is_asked_in_turn_order_with_the_gold_history(guide_data: Path) -> None:
    seen: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    for split in ("train", "test"):
        by_episode: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(guide_data, split):
            by_episode[row["episode"]].append(row)
        assert by_episode, f"no guide episodes in {split}"
        for episode, rows in by_episode.items():
            assert episode not in seen, f"episode {episode} in two splits"
            seen[episode] = split
            rows.sort(key=lambda r: len(r["history"]))
            turns = [r["turn"] for r in rows]
            assert turns == ([VERDICT, NEXT] if rows[0]["label"] else [VERDICT, WHERE, FIX]), turns
            assert all(r["turns"] == len(rows) for r in rows)
            assert rows[0]["query"].startswith("[state] After I find") and rows[0]["answer"] == ("Yes." if rows[0]["label"] else "No.")
            for index, row in enumerate(rows):
                assert row["history"] == [{"query": r["query"], "answer": r["answer"]} for r in rows[:index]]
            kinds[rows[0]["error_kind"]] += 1
    assert set(kinds) == {"none", "shifted", "rotated", "wrong_size", "wrong_colour", "missing", "wrong_layer", "undo"}, kinds


def test_every_correction_passes_the_geometry_check_and_says_its_operation(guide_data: Path) -> None:
    fixes = [row for split in ("train", "test") for row in _rows(guide_data, split) if row["turn"] == FIX]
    assert len(fixes) > 50
    operations = {
        "shifted": "move",
        "wrong_layer": "move",
        "rotated": "turn",
        "wrong_colour": "recolour",
        "wrong_size": "replace",
        "missing": "add",
        "undo": "add",
    }
    for row in fixes:
        wrong = as_part(row["wrong"][0]) if row["wrong"] else None
        true = [as_part(p) for p in row["true_parts"]]
        assert fix_is_right(row["answer"], row["error_kind"], wrong, true), row["answer"]
        assert parse_fix(row["answer"]).operation == operations[row["error_kind"]], row["answer"]
        if row["error_kind"] not in ("missing", "undo"):
            assert wrong is not None and wrong != true[0]


@pytest.mark.slow
def test_the_guide_recipe_builds_from_the_command_line_and_every_correction_passes(synthetic_raw: Path, tmp_path: Path) -> None:
    """``lego-arta build builders/guide.yaml`` (on the test manuals) exits 0, no correction failed
    the geometry check, and every fix row of the build passes it again here."""
    from lego_arta.cli import main

    out = tmp_path / "guide-built"
    assert main(["build", "builders/guide.yaml", "--raw", str(synthetic_raw), "--out", str(out), "--workers", "1"]) == 0
    skips = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["skips"]
    assert not [reason for reason in skips if "geometry check" in reason], skips
    fixes = [row for split in ("train", "test") for row in _rows(out, split) if row["turn"] == FIX]
    assert {row["error_kind"] for row in fixes} == {"shifted", "rotated", "wrong_size", "wrong_colour", "missing", "wrong_layer", "undo"}
    for row in fixes:
        wrong = as_part(row["wrong"][0]) if row["wrong"] else None
        assert fix_is_right(row["answer"], row["error_kind"], wrong, [as_part(p) for p in row["true_parts"]]), row["answer"]


def test_the_docs_example_episode_is_drawn_from_a_real_build_the_same_each_time(guide_data: Path, tmp_path: Path) -> None:
    """``python docs/guide_example.py BUILT OUT`` (docs/guide.md's picture) draws a positive and a
    negative episode of the build, byte-identical on a rerun."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "docs" / "guide_example.py"
    drawn = []
    for name in ("a.png", "b.png"):
        subprocess.run([sys.executable, str(script), str(guide_data), str(tmp_path / name)], check=True, capture_output=True)
        drawn.append((tmp_path / name).read_bytes())
    assert drawn[0] == drawn[1] and drawn[0].startswith(b"\x89PNG")
    width, height = Image.open(io.BytesIO(drawn[0])).size
    assert (width, height) == (1500, 840)


def test_the_marked_box_is_where_the_negative_differs_from_the_real_image(guide_data: Path) -> None:
    rows = _rows(guide_data, "test", images=True)
    positives = {(r["manual_id"], r["session"], r["step_num"]): r for r in rows if r["turn"] == VERDICT and r["label"]}
    checked = 0
    for row in rows:
        key = (row["manual_id"], row["session"], row["step_num"])
        if row["turn"] != WHERE or key not in positives:
            continue
        negative, positive = _decode(row), _decode(positives[key])
        height, width = negative.shape[:2]
        changed = np.argwhere((negative != positive).any(axis=2))
        x1, y1, x2, y2 = (v / 100.0 * s for v, s in zip(row["box"], (width, height, width, height)))
        inside = (changed[:, 1] >= x1 - 2) & (changed[:, 1] <= x2 + 2) & (changed[:, 0] >= y1 - 2) & (changed[:, 0] <= y2 + 2)
        assert inside.any(), (row["error_kind"], row["answer"])
        checked += 1
    assert checked > 20


def test_reference_answers_score_perfectly_and_always_yes_scores_its_floor(guide_data: Path) -> None:
    rows = _rows(guide_data, "test")
    columns = _columns(rows)
    perfect = SPEC.scores(columns["answer"], columns)
    assert perfect == pytest.approx(dict.fromkeys(SPEC.metrics, 100.0))
    floor = SPEC.scores(_floor("always-yes", columns), columns)
    assert floor == {**dict.fromkeys(SPEC.metrics, 0.0), "guide_verdict_bacc": 50.0}


def test_a_metric_of_a_turn_or_error_type_the_rows_do_not_hold_is_absent_not_zero(guide_data: Path) -> None:
    rows = _rows(guide_data, "test")
    positives = _columns([row for row in rows if row["label"]])
    assert {*positives["turn"]} == {VERDICT, NEXT}
    scores = SPEC.scores(positives["answer"], positives)
    assert set(scores) == {"guide_verdict_bacc", "guide_next_t_acc", "guide_success", "guide_success_correct"}
    assert scores["guide_success"] == scores["guide_success_correct"] == 100.0
    shifted = _columns([row for row in rows if row["error_kind"] == "shifted"])
    assert set(SPEC.scores(shifted["answer"], shifted)) == {
        "guide_verdict_bacc", "guide_iou", "guide_hit_rate", "guide_fix_acc", "guide_fix_bleu", "guide_fix_rouge1",
        "guide_success", "guide_success_position",
    }  # fmt: skip


def test_the_verdict_alone_and_a_template_fix_stay_at_their_floors(guide_data: Path) -> None:
    columns = _columns(_rows(guide_data, "test"))
    verdict = SPEC.scores(_floor("verdict-right-no-box", columns), columns)
    assert verdict["guide_verdict_bacc"] == 100.0 and verdict["guide_success"] == 0.0 and verdict["guide_iou"] == 0.0
    template = SPEC.scores(_floor("template-fix", columns), columns)
    assert template["guide_verdict_bacc"] == 100.0 and template["guide_success"] == 0.0
    assert template["guide_fix_acc"] < 10.0


#: The band a blind learner's verdict balanced accuracy must stay in (chance is 50; docs/guide.md has the measured values).
BLIND_VERDICT_BAND = (40.0, 60.0)
#: Episode success a blind learner may reach (every floor's is 0).
BLIND_MAX_SUCCESS = 5.0


@pytest.mark.parametrize("channel", [pytest.param("image", marks=pytest.mark.slow), "text", "meta"])
def test_a_blind_learner_answers_each_turn_from_its_own_turn_and_stays_near_chance(guide_data: Path, channel: str) -> None:
    from lego_arta.evaluation.blind import blind_answers

    ids, answers = blind_answers(guide_data, "guide", channel)
    rows = {row["id"]: row for row in _rows(guide_data, "test")}
    train_answers = defaultdict(set)
    for row in _rows(guide_data, "train"):
        train_answers[row["turn"]].add(row["answer"])
    assert sorted(ids) == sorted(rows)
    for row_id, answer in zip(ids, answers, strict=True):
        assert answer in train_answers[rows[row_id]["turn"]], (channel, rows[row_id]["turn"], answer)
    columns = _columns([rows[i] for i in ids])
    scores = SPEC.scores(answers, columns)
    low, high = BLIND_VERDICT_BAND
    assert low <= scores["guide_verdict_bacc"] <= high, (channel, scores["guide_verdict_bacc"])
    assert scores["guide_success"] <= BLIND_MAX_SUCCESS, (channel, scores["guide_success"])


def test_baselines_run_every_guide_floor_and_the_nearest_train_answer_stays_near_chance(guide_data: Path, tmp_path: Path) -> None:
    from lego_arta.evaluation.baselines import evaluate_baselines

    results = evaluate_baselines(guide_data, tmp_path, tasks=("guide",), n_resamples=20)
    scores = defaultdict(dict)
    for row in results.rows:
        scores[row.system][row.metric] = row.value
    assert set(scores) == {floor.name for floor in SPEC.baselines}
    assert scores["always-yes"]["guide_verdict_bacc"] == 50.0 and scores["always-yes"]["guide_success"] == 0.0
    nearest = scores["tfidf-nearest"]
    low, high = BLIND_VERDICT_BAND
    assert low <= nearest["guide_verdict_bacc"] <= high and nearest["guide_success"] <= BLIND_MAX_SUCCESS, nearest
    rows = {row["id"]: row for row in _rows(guide_data, "test")}
    lines = [json.loads(line) for line in (tmp_path / "guide-tfidf-nearest.predictions.jsonl").read_text().splitlines()]
    assert {line["answer"] for line in lines if rows[line["id"]]["turn"] == VERDICT} <= {"Yes.", "No."}


def test_converse_names_an_endpoint_it_cannot_reach_and_writes_nothing(
    guide_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from lego_arta.cli import main

    with socket.socket() as sock:  # a loopback port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    argv = ["converse", "--data", str(guide_data), "--model", "m", "--base-url", url, "--out", str(tmp_path / "out"), "--limit", "1"]
    assert main([*argv, "--max-attempts", "2", "--backoff-s", "0"]) != 0  # a refused connection is retried, as a dropped one
    said = error_printed(capsys)
    assert f"POST {url}/chat/completions: cannot reach the chat endpoint" in said and "after 2 attempts" in said
    assert not (tmp_path / "out").exists()


def test_a_turn_goes_to_a_chat_model_after_its_gold_history(guide_data: Path) -> None:
    row = next(r for r in pq.read_table(sorted((guide_data / "guide").glob("test-*.parquet"))).to_pylist() if r["turn"] == FIX)
    row["image"] = Image.open(io.BytesIO(row["image"]["bytes"]))
    messages = task_docs.doc_to_messages(row, {"config": "guide"})
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    images = [[c for c in m["content"] if c["type"] == "image"] for m in messages]
    assert [len(i) for i in images] == [1, 0, 0, 0, 0]
    texts = [next(c["text"] for c in m["content"] if c["type"] == "text") for m in messages]
    assert texts == [row["history"][0]["query"], "No.", row["history"][1]["query"], row["history"][1]["answer"], "How do I fix it?"]
    flat = task_docs.doc_to_text(row, {"config": "guide"})
    assert flat.endswith("How do I fix it?") and flat.startswith(row["history"][0]["query"] + " No.")


def test_the_llava_export_carries_each_turn_after_its_history(guide_data: Path, tmp_path: Path) -> None:
    from lego_arta.dataset.export import export_llava

    export_llava(guide_data, tmp_path / "llava")
    rows = {r["id"]: r for r in json.loads((tmp_path / "llava" / "llava" / "test.json").read_text())}
    for row in _rows(guide_data, "test"):
        messages = rows[row["id"]]["conversations"]
        assert [m["value"] for m in messages[1::2]] == [*(t["answer"] for t in row["history"]), row["answer"]]
        assert messages[0]["value"].startswith("<image>\n[state]") and all("<image>" not in m["value"] for m in messages[2::2])


def test_finetune_reads_the_episodes_as_multi_turn_conversations_when_asked_for_them(guide_data: Path, tmp_path: Path) -> None:
    """``finetune --tasks guide`` trains on each turn after its gold history; a task list without
    guide leaves the episodes out of a build that holds them."""
    from lego_arta.dataset.export import export_llava
    from lego_arta.finetune.data import load_conversations

    export_llava(guide_data, tmp_path / "llava")
    samples = load_conversations(tmp_path / "llava", "train", tasks=("guide",)).samples
    rows = {row["id"]: row for row in _rows(guide_data, "train")}
    assert sorted(sample.id for sample in samples) == sorted(rows)
    for sample in samples:
        assert len(sample.exchanges) == len(rows[sample.id]["history"]) + 1 and len(sample.images) == 1
    assert max(len(sample.exchanges) for sample in samples) == 3
    with pytest.raises(ValueError, match="no conversations for tasks"):
        load_conversations(tmp_path / "llava", "train", tasks=("scene", "object", "state"))


def test_own_history_feeds_the_models_answers_and_ends_at_its_first_wrong_verdict(guide_data: Path) -> None:
    columns = _columns(_rows(guide_data, "test"))
    asked: list[tuple[list[tuple[str, str]], str]] = []

    def respond(images: Any, history: Any, query: str) -> str:
        asked.append((list(history), query))
        return "No." if query.startswith("[state]") else f"answer to {query[:5]}"

    answers = own_history_answers(columns, lambda i: ["image"], respond)
    by_id = dict(zip(columns["id"], answers))
    for row_id, turn, label in zip(columns["id"], columns["turn"], columns["label"]):
        if label:  # "No." to a right step ends the episode: the next step is never asked
            assert by_id[row_id] == ("No." if turn == VERDICT else "")
        else:
            assert by_id[row_id] == ("No." if turn == VERDICT else f"answer to {SPEC_QUESTIONS[turn][:5]}")
    followups = [history for history, query in asked if not query.startswith("[state]")]
    assert followups and all(history[0][1] == "No." for history in followups)
    assert all(history[-1][1].startswith("answer to") for history in followups if len(history) == 2)


SPEC_QUESTIONS = {WHERE: "Which piece is wrong?", FIX: "How do I fix it?", NEXT: "What do I do next?"}


@pytest.mark.slow
def test_own_history_runs_a_tiny_chat_model_in_process_and_score_reads_its_answers(guide_data: Path, tmp_path: Path) -> None:
    from lego_arta.evaluation.scoring import score_predictions
    from lego_arta.harness.conversation import hf_chat, run_own_history
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    model = build_tiny_vlm(tmp_path / "tiny", seed=0)
    path = run_own_history(guide_data, "guide", hf_chat(model, max_new_tokens=8), tmp_path / "own.jsonl", limit=4)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines and all(line["mode"] == "own_history" for line in lines)
    episodes = {row["episode"] for row in _rows(guide_data, "test") if row["id"] in {line["id"] for line in lines}}
    assert len(episodes) == 4
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(line["id"] + "\n" for line in lines))
    result = score_predictions("guide", path, guide_data, n_resamples=20, ids=ids)
    assert result.missing == () and {"guide_verdict_bacc", "guide_success"} <= set(result.scores)
    asked = [row for row in _rows(guide_data, "test") if row["id"] in {line["id"] for line in lines}]
    turns = {row["turn"] for row in asked}
    assert ("guide_fix_acc" in result.scores) == (FIX in turns) and ("guide_next_t_acc" in result.scores) == (NEXT in turns)
    types = {row["error_type"] for row in asked if row["turn"] == VERDICT}
    assert {m for m in result.scores if m.startswith("guide_success_") and m[-4:] not in ("_low", "high")} == {
        f"guide_success_{t}" for t in types
    }


@pytest.mark.slow
def test_gold_history_runs_through_lmms_eval_with_the_dummy_and_the_tiny_model(
    guide_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lego_arta.harness.lmms_eval_runner import run_lmms_eval
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    path = run_lmms_eval(data=guide_data, model="dummy", model_args="response=Yes", tasks="lego_arta_guide", output=tmp_path / "dummy")
    results = json.loads(path.read_text())["results"]["lego_arta_guide"]
    assert {m: results[f"{m},none"] for m in SPEC.metrics} == {**dict.fromkeys(SPEC.metrics, 0.0), "guide_verdict_bacc": 50.0}
    model = build_tiny_vlm(tmp_path / "tiny", seed=0)
    path = run_lmms_eval(
        data=guide_data,
        model="llava_hf",
        model_args=f"pretrained={model},device=cpu,device_map=cpu",
        tasks="lego_arta_guide",
        output=tmp_path / "tiny-eval",
        limit=6,
    )
    results = json.loads(path.read_text())
    assert results["n-samples"]["lego_arta_guide"]["effective"] == 6
    values = {m: results["results"]["lego_arta_guide"][f"{m},none"] for m in SPEC.metrics}
    # A metric of a turn or error type the 6 rows do not hold is null (absent), every other one a number.
    assert all(v is None or isinstance(v, float) for v in values.values()) and isinstance(values["guide_verdict_bacc"], float)
    assert isinstance(values["guide_success"], float)


@pytest.mark.slow
def test_pasted_negatives_give_verdict_and_where_only(tmp_path: Path, synthetic_raw: Path, built_recipe: Any) -> None:
    from lego_arta.dataset.pipeline import build

    out = tmp_path / "lego-arta"
    build(replace(built_recipe, configs=("guide",), negatives=("displaced",)), out, raw=synthetic_raw, progress=False)
    rows = _rows(out, "test") + _rows(out, "train")
    negatives = [r for r in rows if not r["label"]]
    assert negatives and {r["turn"] for r in negatives} == {VERDICT, WHERE} and {r["turns"] for r in negatives} == {2}
    assert {r["error_kind"] for r in negatives} == {"displaced"}
    columns = _columns(_rows(out, "test"))
    assert SPEC.scores(columns["answer"], columns)["guide_success"] == 100.0
