"""Fixtures of the QA tests: a questionnaire made from the shared real build, ratings files written
the way the page writes them, and a real headless Chromium.

The build is :func:`tests.conftest.built_dataset` (four synthetic manuals, the quick-start recipe).
Chromium comes from Debian's ``chromium`` and ``chromium-driver`` packages, Firefox from
``firefox-esr`` with a geckodriver (see docs/qa.md); ``.ci/run`` installs them when they are
missing. Without them these tests skip on a workstation but fail in CI (``CI=true``), so a CI run
can never pass by skipping a browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
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
    return {
        "questionnaire": items["questionnaire"],
        "rater": rater,
        "started": "2026-12-01T10:00:00.000Z",
        "finished": "2026-12-01T10:20:00.000Z",
        "answers": answers,
    }


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


#: The browsers the pages are tested in: Debian packages, with their WebDriver (see :func:`_binaries`).
BROWSERS = ("chromium", "firefox")
INSTALL = {
    "chromium": "apt-get install -y chromium chromium-driver",
    "firefox": "apt-get install -y firefox-esr, and a geckodriver on PATH (docs/qa.md: Debian does not package it)",
}


def _binaries(name: str) -> tuple[str, str] | None:
    """The browser and its driver on PATH: chromium + chromedriver, or firefox(-esr) + geckodriver."""
    if name == "chromium":
        browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    else:
        browser, driver = shutil.which("firefox-esr") or shutil.which("firefox"), shutil.which("geckodriver")
    return (browser, driver) if browser and driver else None


def _start(name: str, binaries: tuple[str, str], downloads: Path) -> Any:
    """A headless browser that saves downloads to ``downloads`` without asking."""
    from selenium import webdriver

    if name == "chromium":
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = binaries[0]
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
            options.add_argument(argument)
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
        return webdriver.Chrome(options=options, service=Service(executable_path=binaries[1]))
    from selenium.webdriver.firefox.service import Service as FirefoxService

    firefox = webdriver.FirefoxOptions()
    firefox.binary_location = binaries[0]
    for argument in ("-headless", "--width=1280", "--height=1000"):
        firefox.add_argument(argument)
    for key, value in {
        "browser.download.folderList": 2,
        "browser.download.dir": str(downloads),
        "browser.download.useDownloadDir": True,
        "browser.download.always_ask_before_handling_new_types": False,
        "browser.helperApps.neverAsk.saveToDisk": "application/json",
    }.items():
        firefox.set_preference(key, value)
    return webdriver.Firefox(options=firefox, service=FirefoxService(executable_path=binaries[1]))


def _launch(name: str, tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    binaries = _binaries(name)
    if binaries is None:
        message = f"{name} or its WebDriver is not on PATH ({INSTALL[name]})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the browser tests, not skip them")
        pytest.skip(message)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _start(name, binaries, downloads)
    try:
        yield driver, downloads
    finally:
        driver.quit()


@pytest.fixture(params=BROWSERS)
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """Each headless browser in turn (Chromium, Firefox), and the folder its downloads land in."""
    yield from _launch(request.param, tmp_path)


#: Seconds a browser test waits for the page to react and for a download to land.
PATIENCE = 15.0


def wait_for(condition: Callable[[], Any], what: str, state: Callable[[], Any] | None = None) -> Any:
    """``condition()`` once it is true, polled for :data:`PATIENCE` seconds; else an AssertionError
    naming ``what`` and, when given, what ``state()`` says of the page."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; page: {state() if state is not None else None}")


def downloaded(folder: Path, name: str) -> bool:
    """Whether a download has landed whole (Chromium writes ``*.crdownload``, Firefox ``*.part`` first)."""
    path = folder / name
    return path.is_file() and path.stat().st_size > 0 and not any(folder.glob("*.crdownload")) and not any(folder.glob("*.part"))
