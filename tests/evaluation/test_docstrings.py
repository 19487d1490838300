"""The examples in the evaluation modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from lego_arta.evaluation import baselines, built_splits, report, results, scoring


@pytest.mark.parametrize("module", [baselines, built_splits, report, results, scoring], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert outcome.failed == 0
