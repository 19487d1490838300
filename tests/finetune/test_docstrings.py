"""The docstring examples of the fine-tuning modules run (those needing a model or data are marked +SKIP)."""

from __future__ import annotations

import doctest
import importlib
from types import ModuleType

import pytest

MODULES = ("augment", "command", "data", "fingerprint", "lora", "merge", "train", "training_log", "vlm")


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module: ModuleType = importlib.import_module(f"lego_arta.finetune.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0
