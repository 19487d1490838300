"""Fixtures of the QA tests: a questionnaire made from the shared real build, ratings files written
the way the page writes them, and a real headless Chromium.

The build is :func:`tests.conftest.built_dataset` (four synthetic manuals, the quick-start recipe).
Chromium comes from Debian's ``chromium`` and ``chromium-driver`` packages, which ``.ci/run``
installs when they are missing; without them these tests skip on a workstation but fail in CI
(``CI=true``), so a CI run can never pass by skipping the browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lego_arta.qa.questionnaire import MakeConfig, make_questionnaire

#: Small enough for a quick browser run, large enough that checks must spread across each block.
PER_TASK = 12
SEED = 5
QA_CONFIG = MakeConfig(per_task=PER_TASK, seed=SEED)


@pytest.fixture(scope="session")
def questionnaire(tmp_path_factory: pytest.TempPathFactory, built_dataset: Path) -> Path:
    """A questionnaire folder (index.html, items.json, images/) of the shared build; read-only."""
    out = tmp_path_factory.mktemp("qa") / "questionnaire"
    make_questionnaire(built_dataset, out, QA_CONFIG)
    return out


#: Rows per task of the answer-mode (human baseline) questionnaire of the browser test.
ANSWER_PER_TASK = 4
ANSWER_CONFIG = MakeConfig(per_task=ANSWER_PER_TASK, seed=SEED, tasks=("state", "object", "scene"))


@pytest.fixture(scope="session")
def answer_questionnaire(tmp_path_factory: pytest.TempPathFactory, built_dataset: Path) -> Path:
    """An answer-mode questionnaire folder (``qa make --mode answer``) of the shared build; read-only."""
    from lego_arta.qa.baseline import make_answer_questionnaire

    out = tmp_path_factory.mktemp("qa-answer") / "questionnaire"
    make_answer_questionnaire(built_dataset, out, ANSWER_CONFIG)
    return out


@pytest.fixture(scope="session")
def items_document(questionnaire: Path) -> dict[str, Any]:
    return json.loads((questionnaire / "items.json").read_text(encoding="utf-8"))


def ratings_document(items: dict[str, Any], rater: str, score: Callable[[dict[str, Any], str, int], int]) -> dict[str, Any]:
    """A complete ratings document; ``score(item, criterion, levels)`` gives each score."""
    answers = [
        {"item": item["item"], "criterion": c["name"], "score": int(score(item, c["name"], len(c["labels"]))), "seconds": 2.5}
        for item in items["items"]
        for c in items["criteria"][item["task"]]
    ]
    return {"questionnaire": items["questionnaire"], "rater": rater, "started": "2026-12-01T10:00:00.000Z",
            "finished": "2026-12-01T10:20:00.000Z", "answers": answers}  # fmt: skip


def careful(item: dict[str, Any], criterion: str, levels: int) -> int:
    """A rater who passes every check and gives the top score elsewhere."""
    if item["check"] and criterion in item["expected"]:
        return int(item["expected"][criterion])
    return levels - 1


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` on a local static server (what people get from any web host): the URL of its index.html."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(questionnaire: Path) -> Iterator[str]:
    """The questionnaire folder on a local static server: its URL."""
    with serve(questionnaire) as url:
        yield url


def _browser_binaries() -> tuple[str, str] | None:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """A headless Chromium driven by Selenium, and the folder its downloads land in."""
    binaries = _browser_binaries()
    if binaries is None:
        message = "chromium and chromedriver are not on PATH (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the browser test, not skip it")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = binaries[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=binaries[1]))
    try:
        yield driver, downloads
    finally:
        driver.quit()
