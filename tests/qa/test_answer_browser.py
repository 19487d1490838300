"""The human-baseline page in a real browser: a person answers every item (state by key, object by
a mouse drag and by the arrow keys, scene by typing), reloads halfway and resumes, downloads the
answers; ``qa score`` turns them into predictions and ``lego-arta score`` gives the metrics the
chosen answers earn."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import main
from lego_arta.qa.baseline import ids_name, predictions_name
from tests.qa.conftest import ANSWER_PER_TASK, downloaded, serve, wait_for
from tests.qa.test_baseline import correct, truth  # noqa: F401 (the fixture)

WHERE = re.compile(r"Item (\d+) of (\d+)")
#: Where the keyboard places a box before it is moved (the page's START_BOX).
START_BOX = (40, 40, 60, 60)


def _position(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    match = WHERE.match(driver.find_element(By.ID, "where").text)
    return int(match.group(1)) - 1 if match else -1


def _keys(driver: Any, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def _drag_box(driver: Any, box: list[float]) -> None:
    """Drag from the box's top-left corner to its bottom-right one on the image, with the mouse."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    image = driver.find_element(By.ID, "image")
    width, height = image.size["width"], image.size["height"]
    # Offsets are from the element's centre (W3C actions).
    start = (round(box[0] / 100 * width - width / 2), round(box[1] / 100 * height - height / 2))
    end = (round(box[2] / 100 * width - width / 2), round(box[3] / 100 * height - height / 2))
    ActionChains(driver).move_to_element_with_offset(image, *start).click_and_hold().move_by_offset(
        end[0] - start[0], end[1] - start[1]
    ).release().perform()


def _key_box(driver: Any, box: list[float]) -> None:
    """Place a box with an arrow key, shrink it to one unit, move it to the target corner and grow
    it to the target size (in that order nothing is stopped at the frame's edge): keyboard only."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def shifted(key: str, times: int) -> None:
        if times:
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(*[key] * times).key_up(Keys.SHIFT).perform()

    x1, y1, x2, y2 = (int(v) for v in box)
    side = START_BOX[2] - START_BOX[0]
    _keys(driver, Keys.ARROW_RIGHT)  # places the start box, does not move it
    shifted(Keys.ARROW_LEFT, side - 1)
    shifted(Keys.ARROW_UP, side - 1)
    moves = [Keys.ARROW_RIGHT if x1 > START_BOX[0] else Keys.ARROW_LEFT] * abs(x1 - START_BOX[0])
    moves += [Keys.ARROW_DOWN if y1 > START_BOX[1] else Keys.ARROW_UP] * abs(y1 - START_BOX[1])
    if moves:
        _keys(driver, *moves)
    shifted(Keys.ARROW_RIGHT, x2 - x1 - 1)
    shifted(Keys.ARROW_DOWN, y2 - y1 - 1)


@pytest.mark.slow
def test_a_person_answers_every_kind_of_item_and_is_scored_like_a_model(
    browser: tuple[Any, Path],
    answer_questionnaire: Path,
    built_dataset: Path,
    truth: dict[str, dict[str, Any]],  # noqa: F811
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver, downloads = browser
    items = json.loads((answer_questionnaire / "items.json").read_text(encoding="utf-8"))["items"]
    with serve(answer_questionnaire) as url:
        driver.get(url)
        driver.find_element(By.ID, "person").send_keys("pat", Keys.ENTER)
        wait_for(lambda: driver.find_element(By.ID, "item").is_displayed(), "the first item")
        object_number = 0
        for number, item in enumerate(items):
            if number == ANSWER_PER_TASK:  # after the state block: close and come back
                driver.refresh()
                wait_for(lambda: driver.find_element(By.ID, "item").is_displayed(), "the resumed item")
                assert driver.find_element(By.ID, "count").text == f"{number} / {len(items)}"
            assert _position(driver) == number, f"expected item {number + 1}"
            assert item["text"] in driver.find_element(By.ID, "text").text
            answer = correct(item, truth)
            if item["task"] == "state":
                _keys(driver, "y" if answer == "yes" else "n")  # answering moves on by itself
            elif item["task"] == "object":
                (_key_box if object_number == 1 else _drag_box)(driver, answer)
                object_number += 1
                _keys(driver, Keys.ENTER)
            else:
                typed = driver.find_element(By.ID, "typed")
                assert driver.switch_to.active_element == typed, "the text box has the focus"
                typed.send_keys(answer, Keys.ENTER)
            if number + 1 < len(items):
                wait_for(lambda: _position(driver) == number + 1, f"item {number + 2}")
        wait_for(lambda: driver.find_element(By.ID, "done").is_displayed(), "the done screen")
        driver.find_element(By.ID, "download-done").click()
        saved = downloads / "answers-pat.json"
        wait_for(lambda: downloaded(downloads, saved.name), "the downloaded answers file")

    document = json.loads(saved.read_text(encoding="utf-8"))
    given = {entry["item"]: entry["answer"] for entry in document["answers"]}
    assert document["person"] == "pat" and document["mode"] == "answer" and len(given) == len(items)
    objects = [item for item in items if item["task"] == "object"]
    assert [int(v) for v in given[objects[1]["item"]]] == [int(v) for v in correct(objects[1], truth)], "keyboard box lands exactly"
    for item in objects:
        assert given[item["item"]] == pytest.approx(correct(item, truth), abs=1.0), f"{item['item']}: the dragged box"

    out = tmp_path / "human"
    assert main(["qa", "score", str(saved), "--items", str(answer_questionnaire / "items.json"), "--out", str(out)]) == 0
    scores = {}
    for task in ("state", "object", "scene"):
        argv = [
            "score",
            "--task",
            task,
            "--predictions",
            str(out / predictions_name("pat", task)),
            "--ids",
            str(out / ids_name(task)),
            "--data",
            str(built_dataset),
            "--name",
            "human",
            "--out",
            str(tmp_path / "results"),
            "--resamples",
            "50",
        ]
        assert main(argv) == 0
        rows = json.loads((tmp_path / "results" / f"human-{task}.results.json").read_text(encoding="utf-8"))["rows"]
        scores[task] = {row["metric"]: row["value"] for row in rows}
    assert scores["state"]["tnr"] == 100.0 and scores["state"]["fpr"] == 0.0 and scores["state"]["invalid_rate"] == 0.0
    assert scores["object"]["e_acc"] == 100.0 and scores["object"]["valid_box_rate"] == 100.0
    assert scores["object"]["iou"] >= 80.0, "boxes within a unit of the reference"
    assert scores["scene"]["rouge1"] == pytest.approx(100.0) and scores["scene"]["bleu"] == pytest.approx(100.0)
