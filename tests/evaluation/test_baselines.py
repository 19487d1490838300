"""The weight-free baselines: their scores follow from the data alone, their answers are well formed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.answers import parse_boxes
from lego_arta.evaluation.baselines import available_tasks, colour_detector_answer, evaluate_baselines, query_colours
from lego_arta.evaluation.results import load_results
from lego_arta.tasks import get_task
from lego_arta.tasks.floors import FloorRows, nearest_train_answers
from lego_arta.tasks.object import CENTRE_BOX, object_phrase
from lego_arta.tasks.object import PROMPTS as OBJECT_PROMPTS
from lego_arta.tasks.state import FLOORS as STATE_FLOORS
from tests.evaluation.support import split_rows
from tests.support.cli import run_command


@pytest.fixture(scope="module")
def baseline_run(built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    runs = tmp_path_factory.mktemp("baseline-runs")
    return evaluate_baselines(built_data, runs, n_resamples=100, seed=0), runs


def _scores(results, task: str, system: str) -> dict[str, float]:
    return {row.metric: row.value for row in results.rows if row.task == task and row.system == system}


def test_always_yes_f1_follows_from_the_label_counts(baseline_run, built_data: Path) -> None:
    results, _ = baseline_run
    labels = [row["label"] for row in split_rows(built_data, "state")]
    positives, negatives = sum(labels), len(labels) - sum(labels)
    assert positives and negatives, "the data must hold both verdicts"
    scores = _scores(results, "state", "always-yes")
    assert scores["tnr"] == 0.0 and scores["fpr"] == 100.0 and scores["invalid_rate"] == 0.0
    assert scores["f1"] == pytest.approx(100 * 2 * positives / (2 * positives + negatives))
    no = _scores(results, "state", "always-no")
    assert no["f1"] == 0.0 and no["tnr"] == 100.0 and no["fpr"] == 0.0


def _iou(a: tuple[float, ...], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_centre_box_iou_equals_a_direct_computation_on_the_data_boxes(baseline_run, built_data: Path) -> None:
    results, _ = baseline_run
    boxes = [row["box"] for row in split_rows(built_data, "object")]
    expected = 100 * float(np.mean([_iou(CENTRE_BOX, box) for box in boxes]))
    scores = _scores(results, "object", "centre-box")
    assert scores["iou"] == pytest.approx(expected, rel=1e-6)
    assert scores["valid_box_rate"] == 100.0
    assert scores["e_acc"] == 100.0, "the query's own phrase names every query entity"


def test_tfidf_answers_are_train_answers(baseline_run, built_data: Path) -> None:
    _, runs = baseline_run
    train_answers = {row["answer"] for row in split_rows(built_data, "scene", "train")}
    test_ids = [row["id"] for row in split_rows(built_data, "scene")]
    predictions = [json.loads(line) for line in (runs / "scene-tfidf-nearest.predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in predictions] == test_ids
    assert all(p["answer"] in train_answers for p in predictions)


def test_tfidf_returns_the_answer_of_an_identical_train_query() -> None:
    train = [
        "[grounding] After I find 2 red bricks 2x4.",
        "[grounding] After I find 1 blue plate 1x2.",
        "[grounding] After I find 4 tan tiles.",
    ]
    answers = ["Put the bricks on the base.", "Put the plate on top.", "Put the tiles at the back."]
    assert nearest_train_answers(train, answers, [train[2], train[0], "1 blue plate"]) == [answers[2], answers[0], answers[1]]


def test_colour_detector_answers_hold_valid_boxes(baseline_run, built_data: Path) -> None:
    _, runs = baseline_run
    lines = (runs / "object-colour-detector.predictions.jsonl").read_text().splitlines()
    assert len(lines) == len(split_rows(built_data, "object"))
    for line in lines:
        boxes = parse_boxes(json.loads(line)["answer"])
        assert len(boxes) == 1
        x1, y1, x2, y2 = boxes[0][1]
        assert 0 <= x1 < x2 <= 100 and 0 <= y1 < y2 <= 100


def test_colour_detector_finds_a_part_of_the_named_colour() -> None:
    """A bright red part on the light blue parts backdrop, beside a blue one: the red part is boxed."""
    image = np.zeros((120, 200, 3), np.uint8)
    image[:] = (181, 217, 240)
    image[30:60, 120:170] = (196, 40, 27)  # bright red, the catalog's RGB
    image[70:100, 20:60] = (13, 105, 171)  # bright blue
    guess = colour_detector_answer(OBJECT_PROMPTS.query(object="2 bright red bricks 2x4").text, image)
    assert guess.found
    ((label, box),) = parse_boxes(guess.answer)
    assert label == "2 bright red bricks 2x4"
    assert _iou(box, [60.0, 25.0, 85.0, 50.0]) > 0.9
    nothing = colour_detector_answer(OBJECT_PROMPTS.query(object="2 bright yellow bricks").text, image)
    assert not nothing.found and parse_boxes(nothing.answer)[0][1] == CENTRE_BOX


def test_query_colours_prefer_the_longest_name() -> None:
    assert query_colours("2 bright red bricks 2x4") == ("bright red",)
    assert query_colours("1 white, black and bright orange brick") == ("white", "black", "bright orange")
    assert query_colours("3 technic pins") == ()


_words = st.lists(st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(_words)
def test_object_phrase_reads_back_what_the_query_template_holds(words: list[str]) -> None:
    phrase = " ".join(words)
    assert object_phrase(OBJECT_PROMPTS.query(object=phrase).text) == phrase


def test_object_phrase_refuses_other_queries() -> None:
    with pytest.raises(ValueError, match="not an object-task query"):
        object_phrase("[state] Did I do it correctly? Just tell me Yes or No.")


def random_verdicts(ids: list[str], *, seed: int) -> list[str]:
    """The state task's ``random`` floor on rows with these ids."""
    floor = next(floor for floor in STATE_FLOORS if floor.name == "random")
    return floor.answer(FloorRows(tuple(ids), ("",) * len(ids)), FloorRows((), ()), seed)[0]


def _declared(data: Path) -> set[tuple[str, str]]:
    """(task, floor) for every floor the tasks of a build declare."""
    return {(task, floor.name) for task in available_tasks(data) for floor in get_task(task).baselines}


def test_random_verdicts_are_seeded_balanced_and_order_free() -> None:
    ids = [f"row-{i}" for i in range(4000)]
    verdicts = random_verdicts(ids, seed=5)
    assert verdicts == random_verdicts(ids, seed=5) and verdicts != random_verdicts(ids, seed=6)
    assert set(verdicts) == {"Yes.", "No."}
    assert abs(verdicts.count("Yes.") / len(ids) - 0.5) < 0.03
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = random_verdicts([ids[i] for i in order], seed=5)
    assert shuffled == [verdicts[i] for i in order]


def test_every_baseline_ran_and_wrote_predictions_and_samples(baseline_run, built_data: Path) -> None:
    results, runs = baseline_run
    declared = _declared(built_data)
    assert {("state", "always-yes"), ("object", "colour-detector"), ("scene", "tfidf-nearest")} <= declared
    assert {(run["task"], run["system"]) for run in results.runs} == declared
    assert all(run["missing"] == 0 and run["unknown"] == 0 for run in results.runs)
    for task, name in declared:
        assert (runs / f"{task}-{name}.predictions.jsonl").is_file()
        assert (runs / f"{task}-{name}.samples.jsonl").is_file()


@pytest.mark.slow
def test_cli_writes_the_same_report_twice(built_data: Path, tmp_path: Path) -> None:
    outputs = []
    for name in ("first", "second"):
        assert run_command("baselines", ["--data", str(built_data), "--out", str(tmp_path / name), "--resamples", "100"]) == 0
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir()) if p.is_file()})
    assert outputs[0] == outputs[1]
    assert {"baselines.json", "baselines.md", "baselines-state-f1.png", "baselines-object-iou.png"} <= set(outputs[0])
    loaded = load_results([tmp_path / "first" / "baselines.json"])
    assert {row.system for row in loaded.rows} == {name for _, name in _declared(built_data)}
    assert (tmp_path / "first" / "baselines-runs" / "state-random.predictions.jsonl").is_file()
