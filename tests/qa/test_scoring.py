"""``qa score`` on ratings files written to disk: check pass rates, the exclusion rule, flags, the
outputs' shape and stability, and a clear error for each kind of malformed file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import main
from lego_arta.qa.scoring import DEFAULT_MIN_CHECK_PASS, score_ratings, write_outputs
from lego_arta.study import QA_KAPPA, study_qa_means
from tests.qa.conftest import careful, ratings_document, write_json
from tests.support.cli import error_printed

FLAT_KEYS = {"mean", "ci_low", "ci_high", "fleiss_kappa", "krippendorff_alpha", "cohen_kappa_mean", "n_items", "n_raters"}


def careless(item: dict[str, Any], criterion: str, levels: int) -> int:
    """Fails every check (the opposite of each known answer), and rates everything 0."""
    if item["check"] and criterion in item["expected"]:
        return levels - 1 - int(item["expected"][criterion])
    return 0


def harsh(item: dict[str, Any], criterion: str, levels: int) -> int:
    """Passes the checks, and judges the first regular item of each task bad on every criterion."""
    if item["check"] and criterion in item["expected"]:
        return int(item["expected"][criterion])
    return 0 if item["item"] in {"object-001", "object-002", "state-001", "state-002"} and not item["check"] else levels - 1


def _files(tmp_path: Path, items: dict[str, Any], raters: dict[str, Any]) -> list[Path]:
    return [write_json(tmp_path / f"{name}.json", ratings_document(items, name, rule)) for name, rule in raters.items()]


def test_scores_flags_and_exclusion(tmp_path: Path, questionnaire: Path, items_document: dict[str, Any]) -> None:
    if any(item["item"] in {"object-001", "state-001"} and item["check"] for item in items_document["items"]):
        pytest.skip("this seed put a check first; the flag assertions need regular first items")
    files = _files(tmp_path, items_document, {"ann": harsh, "ben": harsh, "cat": careful, "dan": careless})
    result = score_ratings(questionnaire / "items.json", files)
    raters = result.scores["raters"]
    assert raters["dan"]["check_pass_rate"] == {"object": 0.0, "state": 0.0}
    assert raters["dan"]["excluded_from"] == ["object", "state"]
    assert raters["ann"]["check_pass_rate"] == {"object": 1.0, "state": 1.0} and raters["ann"]["excluded_from"] == []
    regular = {task: [i for i in items_document["items"] if i["task"] == task and not i["check"]] for task in ("object", "state")}
    for task, criteria in result.scores["tasks"].items():
        for name, stats in criteria.items():
            assert set(stats) == FLAT_KEYS
            assert stats["n_raters"] == 3 and stats["n_items"] == len(regular[task])
            assert stats["ci_low"] <= stats["mean"] <= stats["ci_high"]
    flagged = {(p["task"], p["item"]) for p in result.flagged["pairs"]}
    firsts = {task: [i["item"] for i in regular[task][:2]] for task in regular}
    assert ("object", firsts["object"][0]) in flagged and ("state", firsts["state"][0]) in flagged
    assert all(p["pair_id"] for p in result.flagged["pairs"])
    assert result.scores["study"] == {
        "means": {t: {c: m for (tt, c), m in study_qa_means().items() if tt == t} for t in ("object", "state")},
        "kappa": QA_KAPPA,
    }


def test_outputs_are_written_and_byte_identical_on_rerun(tmp_path: Path, questionnaire: Path, items_document: dict[str, Any]) -> None:
    files = _files(tmp_path, items_document, {"ann": harsh, "cat": careful})
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        write_outputs(score_ratings(questionnaire / "items.json", files), out)
    names = sorted(p.name for p in first.iterdir())
    assert names == ["flagged.json", "qa_agreement.png", "qa_distributions.png", "qa_scores.json", "report.md"]
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)
    report = (first / "report.md").read_text(encoding="utf-8")
    assert "| object | boundary_precision |" in report and "1.65" in report and "![agreement per criterion](qa_agreement.png)" in report


def test_a_rater_missing_one_of_five_state_checks_still_counts(tmp_path: Path, questionnaire: Path, items_document: dict[str, Any]) -> None:
    state_checks = [i["item"] for i in items_document["items"] if i["task"] == "state" and i["check"]]
    assert len(state_checks) == 5

    def one_miss(item: dict[str, Any], criterion: str, levels: int) -> int:
        if item["item"] == state_checks[0]:
            return careless(item, criterion, levels)
        return careful(item, criterion, levels)

    result = score_ratings(questionnaire / "items.json", _files(tmp_path, items_document, {"eve": one_miss}))
    assert result.scores["raters"]["eve"]["check_pass_rate"]["state"] == pytest.approx(0.8)
    assert result.scores["raters"]["eve"]["excluded_from"] == []
    assert DEFAULT_MIN_CHECK_PASS == pytest.approx(2 / 3)
    assert result.scores["tasks"]["state"]["relevance"]["fleiss_kappa"] is None  # one rater: agreement undefined


def _broken(items: dict[str, Any], change: str) -> dict[str, Any]:
    document = ratings_document(items, "zoe", careful)
    answers = document["answers"]
    if change == "unknown item":
        answers[3]["item"] = "object-999"
    elif change == "missing criterion":
        del answers[1]
    elif change == "out of range":
        answers[0]["score"] = 3
    elif change == "boolean score":
        answers[0]["score"] = True
    elif change == "duplicate answer":
        answers.append(copy.deepcopy(answers[0]))
    elif change == "unknown criterion":
        answers[0]["criterion"] = "beauty"
    elif change == "other questionnaire":
        document["questionnaire"] = "qa-000000000000"
    elif change == "bad time":
        document["finished"] = "yesterday"
    elif change == "negative seconds":
        answers[0]["seconds"] = -1
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown item", "answer 4: unknown item 'object-999'"),
        ("missing criterion", "item 'object-001' is missing its entity_disambiguity score"),
        ("out of range", "item 'object-001': boundary_precision score 3 is out of range (an integer 0–2)"),
        ("boolean score", "item 'object-001': boundary_precision score True is out of range"),
        ("duplicate answer", "item 'object-001' has two boundary_precision scores"),
        ("unknown criterion", "item 'object-001': unknown criterion 'beauty' for a object item"),
        ("other questionnaire", "questionnaire 'qa-000000000000' is not the items'"),
        ("bad time", "'finished' is not an ISO-8601 time: 'yesterday'"),
        ("negative seconds", "item 'object-001': 'seconds' must be a non-negative number"),
    ],
)
def test_a_malformed_ratings_file_names_the_file_and_the_item(
    tmp_path: Path, questionnaire: Path, items_document: dict[str, Any], change: str, message: str
) -> None:
    path = write_json(tmp_path / "zoe.json", _broken(items_document, change))
    with pytest.raises(ValueError) as error:
        score_ratings(questionnaire / "items.json", [path])
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_a_duplicate_rater_names_both_files(tmp_path: Path, questionnaire: Path, items_document: dict[str, Any]) -> None:
    first = write_json(tmp_path / "one.json", ratings_document(items_document, "zoe", careful))
    second = write_json(tmp_path / "two.json", ratings_document(items_document, "zoe", careless))
    with pytest.raises(ValueError, match=rf"{second}: rater 'zoe' also rated in {first}"):
        score_ratings(questionnaire / "items.json", [first, second])


def test_the_cli_reports_a_bad_file_and_exits_2(tmp_path: Path, questionnaire: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["qa", "score", str(bad), "--items", str(questionnaire / "items.json"), "--out", str(tmp_path / "out")]) == 2
    assert "bad.json:notvalidJSON" in "".join(error_printed(capsys).split())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["items"][0].update(task="scene"), "item 'object-001' has task 'scene'"),
        (lambda d: d["items"].append(dict(d["items"][0])), "item 'object-001' appears twice"),
        (lambda d: next(i for i in d["items"] if i["check"]).update(expected=None), "needs its known answers in 'expected'"),
    ],
)
def test_a_malformed_items_file_is_refused(tmp_path: Path, items_document: dict[str, Any], edit: Any, message: str) -> None:
    document = json.loads(json.dumps(items_document))
    edit(document)
    path = write_json(tmp_path / "items.json", document)
    ratings = write_json(tmp_path / "r.json", ratings_document(items_document, "zoe", careful))
    with pytest.raises(ValueError, match=f"^{path}: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        score_ratings(path, [ratings])


def test_every_rater_excluded_is_an_error_and_nothing_is_written(
    tmp_path: Path, questionnaire: Path, items_document: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28: a TypeError after writing the outputs; now one line naming the tasks, exit 2, nothing written."""
    files = _files(tmp_path, items_document, {"dan": careless, "eve": careless})
    out = tmp_path / "scores"
    assert main(["qa", "score", *map(str, files), "--items", str(questionnaire / "items.json"), "--out", str(out)]) == 2
    message = " ".join(error_printed(capsys).split())
    assert "every rater is excluded from object, state" in message and "dan: object 0.0, state 0.0" in message
    assert not out.exists()
