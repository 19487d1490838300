"""The recipe's ``scene_pairing``: the strict task rule (default) and the study's scene per assembly step.

Counts are checked against the generator's truth (which steps have an object-finding row), and
the lenient rule's queries against the strict build's: a step without its own object-finding row
is asked about the parts the session's latest one named.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lego_arta.dataset.pipeline import build
from lego_arta.dataset.recipe import BuildRecipe
from tests.dataset.built_folder import all_rows


@pytest.fixture(scope="module")
def scene_builds(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: BuildRecipe) -> dict[str, Path]:
    out = {}
    for pairing in ("strict", "every_step"):
        folder = tmp_path_factory.mktemp(f"scene-{pairing}") / "built"
        build(replace(built_recipe, configs=("scene",), scene_pairing=pairing), folder, raw=synthetic_raw, progress=False)
        out[pairing] = folder
    return out


def _steps(raw: Path) -> list[tuple[str, str, int, bool]]:
    """(manual, session, step number, has its own object-finding row) of every assembly step."""
    found = []
    for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        for session in truth["sessions"]:
            found += [(folder.name, session["name"], step["number"], step["eop"] is not None) for step in session["steps"]]
    return found


def _by_step(folder: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    rows = all_rows(folder, "scene")
    keyed = {(r["manual_id"], r["session"], r["step_num"]): r for r in rows}
    assert len(keyed) == len(rows), "one scene per assembly step"
    return keyed


@pytest.mark.slow
def test_strict_pairs_only_steps_with_their_own_object_finding_row(scene_builds: dict[str, Path], synthetic_raw: Path) -> None:
    steps = _steps(synthetic_raw)
    assert set(_by_step(scene_builds["strict"])) == {(m, s, n) for m, s, n, eop in steps if eop}
    assert "scene pairing: `strict`" in (scene_builds["strict"] / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_step_pairs_each_step_with_its_sessions_latest_object_finding_row(scene_builds: dict[str, Path], synthetic_raw: Path) -> None:
    steps = _steps(synthetic_raw)
    strict, lenient = _by_step(scene_builds["strict"]), _by_step(scene_builds["every_step"])
    assert set(lenient) == {(m, s, n) for m, s, n, _ in steps} and len(lenient) > len(strict)
    latest: dict[tuple[str, str], int] = {}
    for manual, session, number, eop in steps:
        if eop:
            latest[manual, session] = number
        row = lenient[manual, session, number]
        assert row["query"] == strict[manual, session, latest[manual, session]]["query"]
    for key, row in strict.items():
        assert lenient[key]["id"] == row["id"] and lenient[key]["answer"] == row["answer"]
    manifest = json.loads((scene_builds["every_step"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["recipe"]["scene_pairing"] == "every_step"
    assert "scene pairing: `every_step`" in (scene_builds["every_step"] / "README.md").read_text(encoding="utf-8")
