"""The suite runs every docstring example of the package: pytest collects ``lego_arta`` beside
``tests`` with ``--doctest-modules`` (setup.cfg), so no hand-kept list of modules can miss one."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pytest_collects_the_package_docstring_examples() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pytest_section = config["tool:pytest"]
    assert pytest_section["testpaths"].split() == ["tests", "lego_arta"]
    assert "--doctest-modules" in pytest_section["addopts"].split()
    assert (ROOT / "conftest.py").is_file(), "the root conftest.py sandboxes the examples (offline, temporary folder)"
