"""The examples in the qa modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["criteria", "sampling", "questionnaire", "baseline", "labelstudio", "formats", "agreement", "scoring", "report", "command"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"lego_arta.qa.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
