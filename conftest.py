"""What every collected item shares: the test suite (``tests/``) and the package's docstring examples
(``lego_arta/``, collected by ``--doctest-modules``; see ``[tool:pytest]`` in setup.cfg).

Collecting the package imports every module of it, and with them ``huggingface_hub``, ``datasets``
and ``evaluate``, which read ``HF_HOME`` and the offline switches once, at import. So the sandbox is
set up in :func:`pytest_configure`, before collection, not in a session fixture.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent / "lego_arta"
#: The ``HF_HOME`` this sandbox made, so a worker tells it from one the caller gave.
SANDBOX_MARK = "LEGO_ARTA_SANDBOX_HF_HOME"


def pytest_configure(config: pytest.Config) -> None:
    """Nothing may be fetched from the Hub: every Hugging Face cache in a temporary folder, offline.

    An ``HF_HOME`` given by the caller (a CI cache) is kept. Otherwise each process (each xdist
    worker, which inherits the controller's environment) gets its own, as a per-worker fixture did.
    """
    home = tempfile.mkdtemp(prefix="lego-arta-hf-home-")
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))
    given = os.environ.get("HF_HOME") if os.environ.get("HF_HOME") != os.environ.get(SANDBOX_MARK) else None
    os.environ["HF_HOME"], os.environ[SANDBOX_MARK] = given or home, home
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _examples_in_tmp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A docstring example runs in an empty temporary folder, so one that writes ``out/…`` never
    writes into the checkout (the suite's own tests keep their working directory)."""
    if Path(request.node.path).is_relative_to(PACKAGE):
        monkeypatch.chdir(request.getfixturevalue("tmp_path"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files that hold a ``slow`` test run first, each file's tests in their own order (so a module
    fixture is still made once), the rest after them in collection order.

    ``make test`` runs on two workers: a test of minutes that starts near the end of the collection
    (``tests/test_wheel.py`` sorts after every folder) keeps one worker busy while the other has
    nothing left, so the long ones go first and the many short ones fill in behind them.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)
