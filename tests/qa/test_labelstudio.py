"""Label Studio round trip: the export's configs and tasks hold what the page shows, and an export
as Label Studio writes it comes back as ratings files that ``qa score`` reads."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import main
from lego_arta.qa.labelstudio import config_name, tasks_name
from tests.qa.conftest import careful, ratings_document, write_json


@pytest.fixture(scope="module")
def exported(questionnaire: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labelstudio")
    assert main(["qa", "labelstudio-export", str(questionnaire), "--out", str(out)]) == 0
    return out


def test_each_task_gets_a_config_and_its_tasks(exported: Path, questionnaire: Path, items_document: dict[str, Any]) -> None:
    for task in ("object", "state"):
        view = ET.fromstring((exported / config_name(task)).read_text(encoding="utf-8"))
        images = {node.get("name"): node.get("value") for node in view.iter("Image")}
        criteria = items_document["criteria"][task]
        groups = {node.get("name"): node for node in view.iter("Choices")}
        assert list(groups) == [c["name"] for c in criteria]
        for criterion in criteria:
            group = groups[criterion["name"]]
            assert group.get("toName") in images and group.get("choice") == "single" and group.get("required") == "true"
            assert [c.get("value") for c in group.iter("Choice")] == [f"{s} {label}" for s, label in enumerate(criterion["labels"])]
        tasks = json.loads((exported / tasks_name(task)).read_text(encoding="utf-8"))
        mine = [item for item in items_document["items"] if item["task"] == task]
        assert [t["data"]["item"] for t in tasks] == [item["item"] for item in mine]
        for entry, item in zip(tasks, mine):
            assert entry["data"]["text"] == item["text"] and set(entry["data"]) <= {"item", "task", "text", "image", "reference"}
            for field, value in images.items():
                assert value.startswith("$") and value[1:] in entry["data"], f"the config's {field} reads a field every task has"
            first = item["images"][0]["src"]
            assert base64.b64decode(entry["data"]["image"].split(",", 1)[1]) == (questionnaire / first).read_bytes()


def test_image_url_points_at_a_served_folder(questionnaire: Path, tmp_path: Path) -> None:
    assert main(["qa", "labelstudio-export", str(questionnaire), "--out", str(tmp_path), "--image-url", "https://example.org/qa/"]) == 0
    tasks = json.loads((tmp_path / tasks_name("state")).read_text(encoding="utf-8"))
    assert re.fullmatch(r"https://example\.org/qa/images/state-\d{3}-evaluating\.png", tasks[0]["data"]["image"])


def _export(exported: Path, items_document: dict[str, Any], raters: list[tuple[Any, dict[str, Any]]], task: str) -> list[dict[str, Any]]:
    """Label Studio's JSON export of one project: every task with an annotation per (completed_by, ratings)."""
    scores = [(rater, {(a["item"], a["criterion"]): a["score"] for a in doc["answers"]}) for rater, doc in raters]
    labels = {c["name"]: c["labels"] for c in items_document["criteria"][task]}
    exported_tasks = []
    for number, entry in enumerate(json.loads((exported / tasks_name(task)).read_text(encoding="utf-8")), start=1):
        item = entry["data"]["item"]
        annotations = []
        for n, (rater, given) in enumerate(scores):
            result = [
                {
                    "id": f"r{n}{name}",
                    "from_name": name,
                    "to_name": "image",
                    "type": "choices",
                    "origin": "manual",
                    "value": {"choices": [f"{given[item, name]} {labels[name][given[item, name]]}"]},
                }
                for name in labels
            ]
            annotations.append(
                {
                    "id": 100 * number + n,
                    "completed_by": rater,
                    "result": result,
                    "was_cancelled": False,
                    "ground_truth": False,
                    "created_at": f"2026-12-01T10:{number:02d}:00.000000Z",
                    "updated_at": f"2026-12-01T10:{number:02d}:30.000000Z",
                    "lead_time": 4.5,
                    "task": number,
                }
            )
        annotations.append(
            {"id": 999, "completed_by": 3, "result": [], "was_cancelled": True, "created_at": "2026-12-01T11:00:00Z", "lead_time": 1}
        )
        exported_tasks.append({"id": number, "data": entry["data"], "annotations": annotations, "predictions": [], "project": 7})
    return exported_tasks


def test_an_export_comes_back_as_ratings_that_qa_score_reads(
    exported: Path, questionnaire: Path, items_document: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def spread(item: dict[str, Any], criterion: str, levels: int) -> int:
        return (len(item["item"]) + len(criterion) + int(item["item"][-1])) % levels

    first, second = ratings_document(items_document, "x", careful), ratings_document(items_document, "y", spread)
    raters = [(1, first), ({"id": 2, "email": "bo@example.org"}, second)]
    files = [write_json(tmp_path / f"project-{task}.json", _export(exported, items_document, raters, task)) for task in ("object", "state")]
    out = tmp_path / "ratings"
    assert main(["qa", "labelstudio-import", *map(str, files), "--items", str(questionnaire / "items.json"), "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out, "the cancelled annotations are counted"
    for name, source in (("labelstudio-user-1", first), ("bo@example.org", second)):
        ratings = json.loads((out / f"ratings-{name}.json").read_text(encoding="utf-8"))
        assert ratings["rater"] == name and ratings["questionnaire"] == items_document["questionnaire"]
        assert {(a["item"], a["criterion"]): a["score"] for a in ratings["answers"]} == {
            (a["item"], a["criterion"]): a["score"] for a in source["answers"]
        }
    scores = tmp_path / "scores"
    assert main(["qa", "score", *map(str, sorted(out.iterdir())), "--items", str(questionnaire / "items.json"), "--out", str(scores)]) == 0
    result = json.loads((scores / "qa_scores.json").read_text(encoding="utf-8"))
    assert result["raters"]["labelstudio-user-1"]["check_pass_rate"] == {"object": 1.0, "state": 1.0}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("unknown item", "is not an item of questionnaire"),
        ("bad choice", "choice '7 Perfect' is not one of"),
        ("twice", "annotated item"),
        ("missing criterion", "is missing its"),
        ("not a list", "expected Label Studio's JSON export"),
        (
            "nan lead time",
            "lead_time must be a non-negative number (and finite), got nan",
        ),  # issue 28: "seconds": NaN is not JSON for other tools
    ],
)
def test_a_broken_export_is_an_error_naming_the_file_and_task(
    exported: Path, questionnaire: Path, items_document: dict[str, Any], tmp_path: Path, damage: str, message: str
) -> None:
    document: Any = _export(exported, items_document, [(5, ratings_document(items_document, "z", careful))], "object")
    if damage == "unknown item":
        document[0]["data"]["item"] = "object-999"
    elif damage == "bad choice":
        document[1]["annotations"][0]["result"][0]["value"]["choices"] = ["7 Perfect"]
    elif damage == "twice":
        document.append(dict(document[0], id=99))
    elif damage == "missing criterion":
        document[2]["annotations"][0]["result"].pop()
    elif damage == "nan lead time":
        document[0]["annotations"][0]["lead_time"] = float("nan")
    else:
        document = {"tasks": document}
    path = write_json(tmp_path / "export.json", document)
    out = tmp_path / "ratings"
    from lego_arta.qa.labelstudio import import_labelstudio

    with pytest.raises(ValueError, match=re.escape(message)) as error:
        import_labelstudio([path], questionnaire / "items.json", out)
    assert str(path) in str(error.value)
    assert not out.exists(), "nothing written"
