"""``qa make`` on the shared real build: the files, the checks' placement, the sampling, and stability."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lego_arta.evaluation.built_splits import read_columns
from lego_arta.qa.questionnaire import MakeConfig, make_questionnaire
from lego_arta.qa.sampling import check_positions, interleave, manual_quotas
from lego_arta.study import QA_CHECKS
from tests.qa.conftest import PER_TASK, QA_CONFIG
from tests.support.folders import folder_files


def test_the_folder_holds_page_items_and_every_image(questionnaire: Path, items_document: dict[str, Any]) -> None:
    assert (questionnaire / "index.html").is_file()
    for item in items_document["items"]:
        assert [image["role"] for image in item["images"]] == (["collage"] if item["task"] == "object" else ["evaluating", "reference"])
        for image in item["images"]:
            assert (questionnaire / image["src"]).is_file(), image["src"]
    assert set(items_document["criteria"]) == {"object", "state"}


def test_the_page_is_self_contained(questionnaire: Path, items_document: dict[str, Any]) -> None:
    page = (questionnaire / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page), "the page must not load anything from the network"
    assert "<script src" not in page and "<link" not in page
    assert items_document["questionnaire"] in page
    assert '"expected"' not in page, "the checks' answers must not be in the page"


def test_items_are_sampled_per_task_with_the_studys_checks(items_document: dict[str, Any]) -> None:
    for task in ("object", "state"):
        mine = [item for item in items_document["items"] if item["task"] == task]
        checks = [item for item in mine if item["check"]]
        assert len(mine) == PER_TASK + QA_CHECKS[task] and len(checks) == QA_CHECKS[task]
        assert all(item["pair_id"] is None and item["expected"] for item in checks)
        assert all(item["pair_id"] and item["expected"] is None for item in mine if not item["check"])
        assert len({item["pair_id"] for item in mine if not item["check"]}) == PER_TASK
        assert [item["item"] for item in mine] == [f"{task}-{n:03d}" for n in range(1, len(mine) + 1)]


def test_no_check_sits_only_at_the_front(items_document: dict[str, Any]) -> None:
    for task in ("object", "state"):
        mine = [item for item in items_document["items"] if item["task"] == task]
        positions = [n for n, item in enumerate(mine) if item["check"]]
        assert max(positions) >= len(mine) // 2, f"{task} checks all in the first half: {positions}"
        assert positions != list(range(len(positions))), f"{task} checks sit at the front: {positions}"


@pytest.mark.parametrize(("regular", "checks"), [(100, 3), (100, 5), (12, 5), (1, 1), (0, 3), (3, 3)])
def test_check_positions_cover_the_whole_sequence(regular: int, checks: int) -> None:
    total = regular + checks
    for seed in range(20):
        positions = check_positions(regular, checks, np.random.default_rng(seed))
        assert positions == sorted(set(positions)) and len(positions) == checks and all(0 <= p < total for p in positions)
        assert all(n * total / checks <= p < (n + 1) * total / checks + 1 for n, p in enumerate(positions))
    merged = interleave(list(range(regular)), ["c"] * checks, positions)
    assert [n for n, x in enumerate(merged) if x == "c"] == positions


def test_the_sample_is_stratified_by_manual(built_dataset: Path, items_document: dict[str, Any]) -> None:
    for task in ("object", "state"):
        table = read_columns(built_dataset, task, "test", ["id", "manual_id"])
        manual_of = dict(zip(table["id"], table["manual_id"]))
        sampled = Counter(manual_of[i["pair_id"]] for i in items_document["items"] if i["task"] == task and not i["check"])
        assert dict(sampled) == {m: n for m, n in manual_quotas(Counter(table["manual_id"]), PER_TASK).items() if n}


def test_same_build_and_seed_give_byte_identical_folders_and_another_seed_another_sample(
    tmp_path: Path, built_dataset: Path, questionnaire: Path, items_document: dict[str, Any]
) -> None:
    again = tmp_path / "again"
    make_questionnaire(built_dataset, again, QA_CONFIG)
    assert folder_files(again) == folder_files(questionnaire)
    other = make_questionnaire(built_dataset, tmp_path / "other", replace(QA_CONFIG, seed=QA_CONFIG.seed + 1))
    pairs = [{i["pair_id"] for i in document["items"]} for document in (other, items_document)]
    assert pairs[0] != pairs[1] and other["questionnaire"] != items_document["questionnaire"]


def test_the_tutorial_shows_worked_examples_from_the_build(questionnaire: Path) -> None:
    page = (questionnaire / "index.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script id="qa-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert set(data["tutorial"]) == {"object", "state"}
    for task, examples in data["tutorial"].items():
        assert len(examples) == 3 and all((questionnaire / image["src"]).is_file() for e in examples for image in e["images"])
        assert any(e["scores"] for e in examples)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (MakeConfig(tasks=("scene",)), r"no questionnaire for task\(s\) \['scene'\]"),
        (MakeConfig(per_task=0), "--per-task must be at least 1"),
        (MakeConfig(split="validation"), "--split must be one of"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, built_dataset: Path, config: MakeConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_questionnaire(built_dataset, tmp_path / "qa", config)
    assert not (tmp_path / "qa").exists()


def test_a_missing_build_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make_questionnaire(tmp_path / "nowhere", tmp_path / "qa", MakeConfig())


def test_the_cli_writes_a_questionnaire(tmp_path: Path, built_dataset: Path) -> None:
    from lego_arta.cli import main

    out = tmp_path / "qa"
    assert main(["qa", "make", "--data", str(built_dataset), "--out", str(out), "--per-task", "4", "--tasks", "state", "--seed", "2"]) == 0
    document = json.loads((out / "items.json").read_text(encoding="utf-8"))
    assert {i["task"] for i in document["items"]} == {"state"} and len(document["items"]) == 4 + QA_CHECKS["state"]
    assert main(["qa", "make", "--data", str(built_dataset), "--out", str(out)]) == 2, "an existing folder needs --overwrite"


def test_qa_make_refuses_to_overwrite_a_foreign_folder_or_its_own_data(built_dataset: Path, tmp_path: Path) -> None:
    from lego_arta.cli import main

    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    assert main(["qa", "make", "--data", str(built_dataset), "--out", str(foreign), "--overwrite", "--per-task", "4"]) == 2
    assert (foreign / "keep.txt").read_text() == "mine"
    inside = built_dataset / "qa"
    assert main(["qa", "make", "--data", str(built_dataset), "--out", str(inside), "--per-task", "4"]) == 2
    assert not inside.exists()
