"""The human baseline without a browser: the answer questionnaire's files, the answers format's
errors, and answers → predictions → ``lego-arta score --ids`` giving the metrics the answers earn."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import main
from lego_arta.evaluation.built_splits import read_columns
from lego_arta.qa.baseline import ids_name, make_answer_questionnaire, predictions_name
from lego_arta.qa.formats import load_answers, parse_answer_items
from tests.qa.conftest import ANSWER_CONFIG, ANSWER_PER_TASK, write_json
from tests.support.cli import error_printed

BOX = re.compile(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\}")


@pytest.fixture(scope="module")
def answer_items(answer_questionnaire: Path) -> dict[str, Any]:
    return json.loads((answer_questionnaire / "items.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(built_dataset: Path) -> dict[str, dict[str, Any]]:
    """Every test row's reference answer and step, by id, read from the build's Parquet."""
    rows: dict[str, dict[str, Any]] = {}
    for task in ("state", "object", "scene"):
        table = read_columns(built_dataset, task, "test", ("id", "answer", "manual_id", "session", "step_num"))
        for row_id, answer, manual, session, step in zip(*(table[c] for c in ("id", "answer", "manual_id", "session", "step_num"))):
            rows[row_id] = {"task": task, "answer": answer, "step": (manual, session, step)}
    return rows


def correct(item: dict[str, Any], truth: dict[str, dict[str, Any]]) -> Any:
    """The right answer to an item, as a person would give it on the page."""
    reference = truth[item["pair_id"]]["answer"]
    if item["task"] == "state":
        return "yes" if reference.startswith("Yes") else "no"
    if item["task"] == "object":
        return [float(v) for v in BOX.search(reference).groups()]
    return reference


def answers_document(items: dict[str, Any], person: str, answer: Any) -> dict[str, Any]:
    """An answers file as the page writes it; ``answer(item)`` gives each answer (None: left out)."""
    entries = [{"item": item["item"], "answer": answer(item), "seconds": 3.5} for item in items["items"] if answer(item) is not None]
    return {
        "questionnaire": items["questionnaire"],
        "mode": "answer",
        "person": person,
        "started": "2026-12-01T10:00:00.000Z",
        "finished": "2026-12-01T10:20:00.000Z",
        "answers": entries,
    }


def test_the_questionnaire_asks_one_row_per_step_and_never_shows_an_answer(
    answer_questionnaire: Path, answer_items: dict[str, Any], truth: dict[str, dict[str, Any]]
) -> None:
    items = answer_items["items"]
    assert answer_items["mode"] == "answer" and answer_items["tasks"] == ["state", "object", "scene"]
    for task in answer_items["tasks"]:
        asked = [item for item in items if item["task"] == task]
        assert len(asked) == ANSWER_PER_TASK
        assert all(truth[item["pair_id"]]["task"] == task for item in asked), "every item asks a real row of its task"
        steps = [truth[item["pair_id"]]["step"] for item in asked]
        assert len(set(steps)) == len(steps), f"{task}: two items of one step"
        assert all((answer_questionnaire / item["images"][0]["src"]).is_file() for item in asked)
    state_steps = {truth[i["pair_id"]]["step"] for i in items if i["task"] == "state"}
    assert not state_steps & {truth[i["pair_id"]]["step"] for i in items if i["task"] == "scene"}
    page = (answer_questionnaire / "index.html").read_text(encoding="utf-8")
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page, "no network"
    for item in items:
        assert item["pair_id"] not in page
        if item["task"] != "state":
            assert truth[item["pair_id"]]["answer"] not in page, f"{item['item']}: its reference answer is on the page"
    parse_answer_items(answer_items, "items.json")


def test_same_build_and_seed_give_the_same_folder(built_dataset: Path, answer_questionnaire: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    make_answer_questionnaire(built_dataset, again, ANSWER_CONFIG)
    for path in sorted(answer_questionnaire.rglob("*")):
        if path.is_file():
            assert (again / path.relative_to(answer_questionnaire)).read_bytes() == path.read_bytes(), path.name


def _score(tmp_path: Path, built: Path, predictions: Path, ids: Path, task: str, name: str) -> dict[str, float]:
    out = tmp_path / "results"
    argv = [
        "score",
        "--task",
        task,
        "--predictions",
        str(predictions),
        "--ids",
        str(ids),
        "--data",
        str(built),
        "--name",
        name,
        "--out",
        str(out),
        "--resamples",
        "50",
    ]
    assert main(argv) == 0
    document = json.loads((out / f"{name}-{task}.results.json").read_text(encoding="utf-8"))
    assert document["runs"][0]["rows"] == ANSWER_PER_TASK, "only the asked rows are scored"
    return {row["metric"]: row["value"] for row in document["rows"]}


def test_right_answers_score_full_marks_and_wrong_verdicts_none(
    answer_questionnaire: Path, answer_items: dict[str, Any], built_dataset: Path, truth: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    right = write_json(tmp_path / "answers-ann.json", answers_document(answer_items, "ann", lambda item: correct(item, truth)))
    flipped = {"yes": "no", "no": "yes"}
    wrong = write_json(
        tmp_path / "answers-bo.json",
        answers_document(answer_items, "bo", lambda item: flipped[correct(item, truth)] if item["task"] == "state" else None),
    )
    out = tmp_path / "human"
    assert main(["qa", "score", str(right), str(wrong), "--items", str(answer_questionnaire / "items.json"), "--out", str(out)]) == 0
    summary = json.loads((out / "human_baseline.json").read_text(encoding="utf-8"))
    assert summary["people"]["bo"]["tasks"]["object"] == {
        "items": ANSWER_PER_TASK,
        "answered": 0,
        "median_seconds": None,
        "predictions": None,
        "unanswered": [i["item"] for i in answer_items["items"] if i["task"] == "object"],
    }
    assert len(summary["commands"]) == 4, "three tasks of ann, state of bo"
    ids = (out / ids_name("state")).read_text(encoding="utf-8").split()
    assert ids == [i["pair_id"] for i in answer_items["items"] if i["task"] == "state"]

    state = _score(tmp_path, built_dataset, out / predictions_name("ann", "state"), out / ids_name("state"), "state", "human-ann")
    labels = [truth[i]["answer"].startswith("Yes") for i in ids]
    assert state["tnr"] == 100.0 and state["fpr"] == 0.0 and state["invalid_rate"] == 0.0
    assert state["f1"] == (100.0 if any(labels) else 0.0)
    obj = _score(tmp_path, built_dataset, out / predictions_name("ann", "object"), out / ids_name("object"), "object", "human-ann")
    assert obj["iou"] == 100.0 and obj["e_acc"] == 100.0 and obj["valid_box_rate"] == 100.0
    scene = _score(tmp_path, built_dataset, out / predictions_name("ann", "scene"), out / ids_name("scene"), "scene", "human-ann")
    assert scene["rouge1"] == pytest.approx(100.0) and scene["bleu"] == pytest.approx(100.0) and scene["t_acc"] == pytest.approx(100.0)
    flipped_state = _score(tmp_path, built_dataset, out / predictions_name("bo", "state"), out / ids_name("state"), "state", "human-bo")
    assert flipped_state["tnr"] == 0.0 and flipped_state["f1"] == 0.0

    assert main(["report", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "human-ann" in report and "human-bo" in report, "the people are rows of the report"


def test_an_unanswered_item_is_scored_as_a_wrong_answer(
    answer_questionnaire: Path, answer_items: dict[str, Any], built_dataset: Path, truth: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    skipped = next(i for i in answer_items["items"] if i["task"] == "scene")
    path = write_json(
        tmp_path / "a.json", answers_document(answer_items, "cy", lambda item: None if item is skipped else correct(item, truth))
    )
    out = tmp_path / "human"
    assert main(["qa", "score", str(path), "--items", str(answer_questionnaire / "items.json"), "--out", str(out)]) == 0
    summary = json.loads((out / "human_baseline.json").read_text(encoding="utf-8"))
    assert summary["people"]["cy"]["tasks"]["scene"]["unanswered"] == [skipped["item"]]
    assert "--name human" in " ".join(summary["commands"]), "one person: the system is called human"
    scene = _score(tmp_path, built_dataset, out / predictions_name("cy", "scene"), out / ids_name("scene"), "scene", "human")
    assert scene["rouge1"] == pytest.approx(100.0 * (ANSWER_PER_TASK - 1) / ANSWER_PER_TASK)


def _bad(document: dict[str, Any], change: str) -> dict[str, Any]:
    bad = copy.deepcopy(document)
    answers = bad["answers"]
    state = next(a for a in answers if a["item"].startswith("state"))
    box = next(a for a in answers if a["item"].startswith("object"))
    text = next(a for a in answers if a["item"].startswith("scene"))
    if change == "unknown item":
        answers[0]["item"] = "state-999"
    elif change == "twice":
        answers.append(dict(answers[0]))
    elif change == "verdict":
        state["answer"] = "Yes."
    elif change == "box outside":
        box["answer"] = [10, 10, 120, 20]
    elif change == "box inverted":
        box["answer"] = [50, 10, 40, 20]
    elif change == "box short":
        box["answer"] = [1, 2, 3]
    elif change == "box bool":
        box["answer"] = [True, 0, 50, 50]
    elif change == "empty text":
        text["answer"] = "  "
    elif change == "no answer":
        del text["answer"]
    elif change == "seconds":
        answers[0]["seconds"] = -1
    elif change == "time":
        bad["started"] = "yesterday"
    elif change == "questionnaire":
        bad["questionnaire"] = "qa-answer-000000000000"
    elif change == "mode":
        del bad["mode"]
    elif change == "person":
        bad["person"] = " "
    elif change == "ratings file":
        bad = {"questionnaire": document["questionnaire"], "rater": "x", "answers": []}
    return bad


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown item", "answer 1: unknown item 'state-999'"),
        ("twice", "is answered twice"),
        ("verdict", 'must be "yes" or "no", got \'Yes.\''),
        ("box outside", "must lie in 0–100"),
        ("box inverted", "x1 < x2"),
        ("box short", "a box [x1, y1, x2, y2]"),
        ("box bool", "a box [x1, y1, x2, y2]"),
        ("empty text", "non-empty string"),
        ("no answer", "has no 'answer'"),
        ("seconds", "'seconds' must be a non-negative number"),
        ("time", "'started' is not an ISO-8601 time"),
        ("questionnaire", "is not the items'"),
        ("mode", "'mode' must be 'answer'"),
        ("person", "'person' must be a non-empty string"),
        ("ratings file", "this is a ratings file"),
    ],
)
def test_malformed_answers_files_name_the_file_and_the_item(
    answer_questionnaire: Path, answer_items: dict[str, Any], truth: dict[str, dict[str, Any]], tmp_path: Path, change: str, message: str
) -> None:
    path = write_json(tmp_path / "broken.json", _bad(answers_document(answer_items, "dee", lambda item: correct(item, truth)), change))
    items = parse_answer_items(answer_items, "items.json")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        load_answers([path], items)
    assert str(path) in str(error.value)


def test_one_person_one_file_and_cli_errors_exit_2(
    answer_questionnaire: Path,
    answer_items: dict[str, Any],
    truth: dict[str, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = answers_document(answer_items, "eve", lambda item: correct(item, truth))
    first, second = write_json(tmp_path / "1.json", document), write_json(tmp_path / "2.json", document)
    assert (
        main(["qa", "score", str(first), str(second), "--items", str(answer_questionnaire / "items.json"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "alsoansweredin" in "".join(error_printed(capsys).split())
    assert not (tmp_path / "o").exists(), "nothing written"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"item": "x", "task": "rating", "pair_id": "p"}, "has task 'rating'"),
        ({"item": "x", "task": "state", "pair_id": None}, "'pair_id' must be the dataset row id"),
        ({"item": "x", "task": "object", "pair_id": "p"}, "needs the object 'phrase'"),
    ],
)
def test_malformed_answer_items_are_errors(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_answer_items({"mode": "answer", "questionnaire": "q", "items": [entry]}, "items.json")


def test_score_ids_file_errors_name_the_line(
    answer_items: dict[str, Any], built_dataset: Path, truth: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = [i for i in answer_items["items"] if i["task"] == "state"]
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps({"id": i["pair_id"], "answer": "Yes."}) + "\n" for i in state))
    for text, message in ((f"{state[0]['pair_id']}\n\n{state[0]['pair_id']}\n", "ids:3:id"), ("not-a-row\n", "notinthesplit")):
        ids = tmp_path / "ids"
        ids.write_text(text)
        assert main(["score", "--task", "state", "--predictions", str(predictions), "--ids", str(ids), "--data", str(built_dataset)]) == 2
        assert message in "".join(error_printed(capsys).split())


def test_qa_make_answer_refuses_a_foreign_folder_and_unknown_tasks(
    built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine")
    make = ["qa", "make", "--mode", "answer", "--data", str(built_dataset), "--per-task", "2"]
    assert main([*make, "--out", str(notes), "--overwrite"]) == 2
    assert (notes / "keep.txt").read_text() == "mine" and sorted(p.name for p in notes.iterdir()) == ["keep.txt"]
    assert main([*make, "--out", str(tmp_path / "x"), "--tasks", "state,rating"]) == 2
    assert "noanswerpagefortask(s)['rating']" in "".join(error_printed(capsys).split())
    assert main([*make, "--out", str(tmp_path / "ok"), "--tasks", "scene"]) == 0
    assert [i["task"] for i in json.loads((tmp_path / "ok" / "items.json").read_text())["items"]] == ["scene", "scene"]
