"""Fixtures of the annotate tests: small synthetic manuals (both kinds) and their truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lego_arta.source.synth.generator import write_manual
from lego_arta.source.synth.plan import plan_manual

#: Small frames keep generation to a few seconds per manual; the algorithms are size-independent.
WIDTH, HEIGHT = 512, 237
SEED = 0
#: Manuals generated: this many with highlighted sessions and this many without.
HIGHLIGHTED, PLAIN = 2, 1


@dataclass(frozen=True)
class SynthManual:
    folder: Path
    truth: dict[str, Any]

    def image(self, file: str) -> np.ndarray:
        return np.array(Image.open(self.folder / "images" / file).convert("RGB"))

    def labels(self, relative: str) -> np.ndarray:
        return np.array(Image.open(self.folder / relative)).astype(np.int64)


def _pick_indexes() -> list[int]:
    """The first plan indexes giving the wanted mix of highlighted and plain manuals."""
    highlighted, plain = [], []
    for index in range(50):
        kind = highlighted if plan_manual(index, SEED).highlighted else plain
        kind.append(index)
        if len(highlighted) >= HIGHLIGHTED and len(plain) >= PLAIN:
            return sorted(highlighted[:HIGHLIGHTED] + plain[:PLAIN])
    raise AssertionError("the planner made no mix of highlighted and plain manuals in 50 tries")


@pytest.fixture(scope="session")
def synth_manuals(tmp_path_factory: pytest.TempPathFactory) -> list[SynthManual]:
    """Synthetic manuals written once per test session (read-only for tests)."""
    root = tmp_path_factory.mktemp("annotate_manuals")
    manuals = []
    for index in _pick_indexes():
        folder = write_manual(plan_manual(index, SEED), root, width=WIDTH, height=HEIGHT)
        manuals.append(SynthManual(folder, json.loads((folder / "truth.json").read_text(encoding="utf-8"))))
    return manuals


@pytest.fixture(scope="session")
def synth_root(synth_manuals: list[SynthManual]) -> Path:
    return synth_manuals[0].folder.parent
