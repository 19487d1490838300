"""The examples in the probe modules' (and the order task's) docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["lego_arta.probe.heads", "lego_arta.probe.cache", "lego_arta.probe.train", "lego_arta.probe.run",
           "lego_arta.tasks.order", "lego_arta.metrics.order"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    assert doctest.testmod(importlib.import_module(name)).failed == 0
