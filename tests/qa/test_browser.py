"""The questionnaire in a real browser: a rater answers every item with the keyboard, reloads the
page halfway and resumes from localStorage, downloads the ratings, and ``qa score`` reads them.

The full run serves the folder from a local static server. From file://, headless Chromium 156
came back from a reload with an empty localStorage in about one run in four under load (two
tests running on the 2-core machine); the cause is not known. A second test covers opening from
disk without a reload.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import main
from tests.qa.conftest import careful, downloaded, ratings_document, wait_for, write_json

WHERE = re.compile(r"Item (\d+) of (\d+)")


def _wait(condition: Any, what: str, driver: Any = None) -> Any:
    return wait_for(condition, what, None if driver is None else lambda: driver.execute_script(PAGE_STATE))


#: What the page shows and keeps, for a failure message.
PAGE_STATE = """return {ready: document.readyState, url: location.href,
  shown: ["intro", "item", "done"].filter(function (id) { return !document.getElementById(id).classList.contains("hidden"); }),
  stored: Object.keys(localStorage).map(function (k) { return k + "=" + localStorage.getItem(k).slice(0, 200); })};"""


def _position(driver: Any) -> int:
    """The 0-based index of the item the page shows."""
    from selenium.webdriver.common.by import By

    match = WHERE.match(driver.find_element(By.ID, "where").text)
    assert match, driver.find_element(By.ID, "where").text
    return int(match.group(1)) - 1


def _press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def _typed_score(item: dict[str, Any], criterion: str, levels: int, number: int) -> int:
    """What the browser rater types: the known answer on checks, a spread of scores elsewhere."""
    if item["check"] and criterion in item["expected"]:
        return int(item["expected"][criterion])
    return (number + len(criterion)) % levels


@pytest.mark.slow
def test_a_rater_scores_everything_by_keyboard_resumes_after_reload_and_downloads(
    browser: tuple[Any, Path], questionnaire: Path, served: str, items_document: dict[str, Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver, downloads = browser
    items = items_document["items"]
    criteria = items_document["criteria"]
    driver.get(served)
    assert "Scoring rules: object items" in driver.find_element(By.ID, "tutorial").text
    driver.find_element(By.ID, "rater").send_keys("alice", Keys.ENTER)
    _wait(lambda: driver.find_element(By.ID, "item").is_displayed(), "the first item", driver)
    assert _position(driver) == 0

    expected: dict[tuple[str, str], int] = {}
    halfway = len(items) // 2
    for number, item in enumerate(items):
        if number == halfway:
            driver.refresh()
            _wait(lambda: driver.find_element(By.ID, "item").is_displayed(), "the resumed item", driver)
            assert _position(driver) == halfway, "the page did not resume where the rater left"
            assert driver.find_element(By.ID, "count").text == f"{halfway} / {len(items)}"
            _press(driver, Keys.ARROW_LEFT)
            assert _position(driver) == halfway - 1
            _press(driver, Keys.ARROW_RIGHT)
            assert _position(driver) == halfway
        assert _position(driver) == number
        assert item["text"] in driver.find_element(By.ID, "text").text
        for criterion in criteria[item["task"]]:
            score = _typed_score(item, criterion["name"], len(criterion["labels"]), number)
            expected[item["item"], criterion["name"]] = score
            _press(driver, str(score))
        if number + 1 < len(items):
            _wait(lambda: _position(driver) == number + 1, f"item {number + 2}")
    _wait(lambda: driver.find_element(By.ID, "done").is_displayed(), "the done screen")
    assert driver.find_element(By.ID, "count").text == f"{len(items)} / {len(items)}"

    driver.find_element(By.ID, "download-done").click()
    saved = downloads / "ratings-alice.json"
    _wait(lambda: downloaded(downloads, saved.name), "the downloaded ratings file")
    ratings = json.loads(saved.read_text(encoding="utf-8"))
    assert ratings["questionnaire"] == items_document["questionnaire"] and ratings["rater"] == "alice"
    assert {(a["item"], a["criterion"]): a["score"] for a in ratings["answers"]} == expected
    assert all(a["seconds"] >= 0 for a in ratings["answers"]) and any(a["seconds"] > 0 for a in ratings["answers"])
    assert ratings["started"] <= ratings["finished"]

    others = [write_json(tmp_path / f"{name}.json", ratings_document(items_document, name, careful)) for name in ("bob", "carol")]
    out = tmp_path / "scores"
    assert main(["qa", "score", str(saved), *map(str, others), "--items", str(questionnaire / "items.json"), "--out", str(out)]) == 0
    scores = json.loads((out / "qa_scores.json").read_text(encoding="utf-8"))
    assert scores["raters"]["alice"]["check_pass_rate"] == {"object": 1.0, "state": 1.0}
    assert scores["raters"]["alice"]["excluded_from"] == []
    assert scores["tasks"]["object"]["boundary_precision"]["n_raters"] == 3
    assert (out / "report.md").is_file() and (out / "flagged.json").is_file()


@pytest.mark.slow
def test_the_page_opened_from_disk_rates_and_downloads(
    browser: tuple[Any, Path], questionnaire: Path, items_document: dict[str, Any]
) -> None:
    """From file:// (no server): the page runs, scores by keyboard, and the header button downloads a partial file."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver, downloads = browser
    driver.get((questionnaire / "index.html").as_uri())
    driver.find_element(By.ID, "rater").send_keys("dora", Keys.ENTER)
    _wait(lambda: driver.find_element(By.ID, "item").is_displayed(), "the first item", driver)
    first = items_document["items"][0]
    scores = [_typed_score(first, c["name"], len(c["labels"]), 0) for c in items_document["criteria"][first["task"]]]
    for score in scores:
        _press(driver, str(score))
    _wait(lambda: _position(driver) == 1, "the second item", driver)
    assert driver.find_element(By.ID, "count").text == f"1 / {len(items_document['items'])}"
    driver.find_element(By.ID, "download").click()
    saved = downloads / "ratings-dora.json"
    _wait(lambda: downloaded(downloads, saved.name), "the downloaded ratings file", driver)
    answers = json.loads(saved.read_text(encoding="utf-8"))["answers"]
    assert [(a["item"], a["score"]) for a in answers] == [(first["item"], s) for s in scores]
