"""Closing the loop: the pairs ``qa score`` flags are left out by ``build(…, exclude=…)`` (the CLI's
``lego-arta build … --exclude flagged.json``) and counted in the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lego_arta.cli import build_parser
from lego_arta.dataset.pipeline import build
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.evaluation.built_splits import read_columns
from lego_arta.qa.scoring import read_flagged, score_ratings, write_outputs
from tests.qa.conftest import careful, ratings_document, write_json


def _rejects_first_items(item: dict[str, Any], criterion: str, levels: int) -> int:
    """Passes the checks; box Inaccurate on object-001 and relevance Low on state-001 when they are regular."""
    if item["check"]:
        return careful(item, criterion, levels)
    return 0 if item["item"] in {"object-001", "state-001"} else levels - 1


@pytest.mark.slow
def test_flagged_pairs_are_dropped_by_the_build_and_counted(
    tmp_path: Path, questionnaire: Path, items_document: dict[str, Any], built_dataset: Path, synthetic_raw: Path, built_recipe: BuildRecipe
) -> None:
    files = [write_json(tmp_path / f"{name}.json", ratings_document(items_document, name, _rejects_first_items)) for name in ("a", "b")]
    write_outputs(score_ratings(questionnaire / "items.json", files), tmp_path / "scores")
    flagged = read_flagged(tmp_path / "scores" / "flagged.json")
    assert flagged, "the ratings flag at least one pair"
    rebuilt = build(built_recipe, tmp_path / "clean", raw=synthetic_raw, progress=False, exclude=flagged)
    before = json.loads((built_dataset / "manifest.json").read_text(encoding="utf-8"))
    assert "removed_by_qa" not in before
    removed = rebuilt.manifest["removed_by_qa"]
    assert removed["excluded_ids"] == len(flagged) and removed["removed"] == len(flagged)
    for task in ("object", "state"):
        ids = set(read_columns(tmp_path / "clean", task, "test", ["id"])["id"])
        original = set(read_columns(built_dataset, task, "test", ["id"])["id"])
        assert ids == original - flagged
        assert rebuilt.counts[task]["test"] == before["counts"][task]["test"] - removed["per_split"].get(f"{task}/test", 0)


def test_the_build_command_takes_exclude_and_a_bad_flagged_file_is_named(tmp_path: Path) -> None:
    args = build_parser().parse_args(["build", "builders/quickstart.yaml", "--out", "x", "--exclude", "flagged.json"])
    assert args.exclude == Path("flagged.json")
    bad = write_json(tmp_path / "flagged.json", {"pairs": [{"item": "object-001"}]})
    with pytest.raises(ValueError, match=f"{bad}: expected"):
        read_flagged(bad)
