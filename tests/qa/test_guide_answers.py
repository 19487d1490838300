"""People asked the ``guide`` episodes (``qa make --mode answer --tasks guide``): whole episodes, turn
by turn, each turn after its gold history, each asking its own kind of answer (Yes/No, a box, typed
text); answers → ``qa score`` → ``lego-arta score`` give the human row. Without a browser (an
answers file as the page writes it) and in a real browser (Chromium and Firefox)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import main
from lego_arta.evaluation.built_splits import read_columns
from lego_arta.qa.baseline import ids_name, predictions_name
from lego_arta.tasks import get_task
from tests.qa.conftest import downloaded, serve, wait_for
from tests.qa.test_answer_browser import _key_box, _keys, _position
from tests.qa.test_baseline import answers_document
from tests.support.cli import error_printed

BOX = re.compile(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\}")
EPISODES = 3
SPEC = get_task("guide")


@pytest.fixture(scope="module")
def guide_build(guide_data: Path) -> Path:
    """The session's guide build (tests/conftest.py), which this module built again as its own; read-only here."""
    return guide_data


@pytest.fixture(scope="module")
def guide_questionnaire(tmp_path_factory: pytest.TempPathFactory, guide_build: Path) -> Path:
    out = tmp_path_factory.mktemp("qa-guide") / "questionnaire"
    argv = ["qa", "make", "--mode", "answer", "--data", str(guide_build), "--out", str(out), "--tasks", "guide"]
    assert main([*argv, "--per-task", str(EPISODES)]) == 0
    return out


@pytest.fixture(scope="module")
def truth(guide_build: Path) -> dict[str, dict[str, Any]]:
    columns = read_columns(guide_build, "guide", "test", ("id", "answer", "episode", "turn", "history", "manual_id", "session", "step_num"))
    return {row_id: {name: columns[name][i] for name in columns} for i, row_id in enumerate(columns["id"])}


def correct(item: dict[str, Any], truth: dict[str, dict[str, Any]]) -> Any:
    """The right answer to a turn, as a person gives it on the page."""
    reference = truth[item["pair_id"]]["answer"]
    if item["kind"] == "verdict":
        return "yes" if reference.startswith("Yes") else "no"
    if item["kind"] == "box":
        return [float(v) for v in BOX.search(reference).groups()]
    return reference


def _items(folder: Path) -> list[dict[str, Any]]:
    return json.loads((folder / "items.json").read_text(encoding="utf-8"))["items"]


def _human_scores(answers: Path, questionnaire: Path, data: Path, tmp_path: Path, person: str) -> dict[str, float]:
    out = tmp_path / "human"
    assert main(["qa", "score", str(answers), "--items", str(questionnaire / "items.json"), "--out", str(out)]) == 0
    argv = [
        "score",
        "--task",
        "guide",
        "--predictions",
        str(out / predictions_name(person, "guide")),
        "--ids",
        str(out / ids_name("guide")),
    ]
    argv += ["--data", str(data), "--name", "human", "--out", str(tmp_path / "results"), "--resamples", "20"]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "results" / "human-guide.results.json").read_text(encoding="utf-8"))["rows"]
    return {row["metric"]: row["value"] for row in rows}


def test_people_are_asked_whole_episodes_turn_by_turn_after_the_gold_history(
    guide_questionnaire: Path, truth: dict[str, dict[str, Any]]
) -> None:
    items = _items(guide_questionnaire)
    episodes: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        episodes.setdefault(truth[item["pair_id"]]["episode"], []).append(item)
    assert len(episodes) == EPISODES
    steps = {tuple(truth[found[0]["pair_id"]][c] for c in ("manual_id", "session", "step_num")) for found in episodes.values()}
    assert len(steps) == EPISODES, "one episode per step: a positive beside its negative would give the verdict away"
    page = (guide_questionnaire / "index.html").read_text(encoding="utf-8")
    for episode, asked in episodes.items():
        every_turn = sorted(i for i, row in truth.items() if row["episode"] == episode)
        assert sorted(item["pair_id"] for item in asked) == every_turn, "every turn of the episode is asked"
        assert [len(truth[item["pair_id"]]["history"]) for item in asked] == list(range(len(asked))), "in turn order"
        for item in asked:
            row = truth[item["pair_id"]]
            assert item["kind"] == SPEC.turn_answers[row["turn"]]
            for said in row["history"]:  # the gold earlier turns are shown, the turn's own answer never is
                assert f"Assistant: {said['answer']}" in item["text"]
            assert item["pair_id"] not in page
            if item["kind"] == "text":
                assert json.dumps(row["answer"], ensure_ascii=False)[1:-1] not in page
    assert {item["kind"] for item in items} >= {"verdict", "text"}


def test_right_answers_score_a_perfect_human_row_and_a_wrong_kind_is_refused(
    guide_questionnaire: Path, guide_build: Path, truth: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((guide_questionnaire / "items.json").read_text(encoding="utf-8"))
    answers = tmp_path / "answers-ann.json"
    answers.write_text(json.dumps(answers_document(document, "ann", lambda item: correct(item, truth))), encoding="utf-8")
    scores = _human_scores(answers, guide_questionnaire, guide_build, tmp_path, "ann")
    assert scores["guide_verdict_bacc"] == 100.0 and scores["guide_success"] == 100.0
    verdict = document["items"][0]
    assert verdict["kind"] == "verdict", "an episode opens with its verdict"
    wrong = tmp_path / "answers-bob.json"
    typed = answers_document(document, "bob", lambda item: "Yes, it is." if item is verdict else None)
    wrong.write_text(json.dumps(typed), encoding="utf-8")
    assert main(["qa", "score", str(wrong), "--items", str(guide_questionnaire / "items.json"), "--out", str(tmp_path / "bob")]) == 2
    assert "item 'guide-001': a guide answer must be \"yes\" or \"no\", got 'Yes, it is.'" in error_printed(capsys)


@pytest.mark.slow
def test_a_person_answers_the_episodes_in_a_browser_and_gets_the_human_row(
    browser: tuple[Any, Path], guide_questionnaire: Path, guide_build: Path, truth: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver, downloads = browser
    items = _items(guide_questionnaire)
    with serve(guide_questionnaire) as url:
        driver.get(url)
        driver.find_element(By.ID, "person").send_keys("pat", Keys.ENTER)
        wait_for(lambda: driver.find_element(By.ID, "item").is_displayed(), "the first item")
        for number, item in enumerate(items):
            assert _position(driver) == number, f"expected item {number + 1}"
            shown = driver.find_element(By.ID, "text").text
            assert item["text"].splitlines()[-1] in shown, "the turn's question is shown"
            answer = correct(item, truth)
            if item["kind"] == "verdict":
                assert driver.find_element(By.ID, "state-answer").is_displayed()
                _keys(driver, "y" if answer == "yes" else "n")
            elif item["kind"] == "box":
                assert driver.find_element(By.ID, "object-answer").is_displayed()
                _key_box(driver, answer)
                _keys(driver, Keys.ENTER)
            else:
                typed = driver.find_element(By.ID, "typed")
                assert typed.is_displayed() and driver.switch_to.active_element == typed
                typed.send_keys(answer, Keys.ENTER)
            if number + 1 < len(items):
                wait_for(lambda: _position(driver) == number + 1, f"item {number + 2}")
        wait_for(lambda: driver.find_element(By.ID, "done").is_displayed(), "the done screen")
        driver.find_element(By.ID, "download-done").click()
        saved = downloads / "answers-pat.json"
        wait_for(lambda: downloaded(downloads, saved.name), "the downloaded answers file")
    scores = _human_scores(saved, guide_questionnaire, guide_build, tmp_path, "pat")
    assert scores["guide_verdict_bacc"] == 100.0 and scores["guide_success"] == 100.0
