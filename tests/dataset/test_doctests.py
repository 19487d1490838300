"""The examples in the dataset modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["export", "splits", "recipe", "card", "pairs", "pipeline", "layout"])
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"lego_arta.dataset.{name}")
    assert doctest.testmod(module).failed == 0
