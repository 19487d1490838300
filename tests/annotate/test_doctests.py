"""The examples in the annotation modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import lego_arta.annotate

MODULES = sorted(info.name for info in pkgutil.iter_modules(lego_arta.annotate.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"lego_arta.annotate.{name}")
    assert doctest.testmod(module).failed == 0
