"""Synonym variants end to end: built beside their originals, scored by lmms-eval, compared by ``robustness``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lego_arta.dataset.export import llava_view
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.evaluation.robustness import robustness
from lego_arta.harness.lmms_eval_runner import run_lmms_eval
from lego_arta.tasks.synonym_variants import SUFFIX, synonym_split
from tests.support.cli import error_printed

CONFIGS = ("scene", "object", "state", "scene_syn", "object_syn", "state_syn")


@pytest.fixture(scope="module")
def with_variants(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: BuildRecipe) -> Path:
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("built-syn") / "lego-arta"
    build(replace(built_recipe, configs=CONFIGS), out, raw=synthetic_raw, progress=False)
    return out


def _rows(folder: Path, config: str, split: str) -> list[dict]:
    return pq.read_table(sorted((folder / config).glob(f"{split}-*.parquet")), columns=None).to_pylist()


def _write(path: Path, answers: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "answer": a}) + "\n" for i, a in answers.items()))
    return path


@pytest.mark.slow
def test_variants_are_test_only_aligned_rows_recorded_in_manifest_and_card(with_variants: Path) -> None:
    assert not list((with_variants / "state_syn").glob("train-*")), "a variant must not reach training"
    for task in ("scene", "object", "state"):
        originals = {row["id"]: row for row in _rows(with_variants, task, "test")}
        variants = _rows(with_variants, f"{task}_syn", "test")
        assert variants and len(variants) == len(originals)
        for row in variants:
            original = originals[row["id"].removesuffix(SUFFIX)]
            assert row["image"]["bytes"] == original["image"]["bytes"] and row["answer"] == original["answer"]
            assert row["query"] != original["query"] and len(row["query"].split()) == len(original["query"].split())
    manifest = json.loads((with_variants / "manifest.json").read_text())
    assert manifest["task_notes"]["state_syn"]["synonym_split"] == synonym_split(0).to_dict()
    assert "`state_syn`" in (with_variants / "README.md").read_text()
    llava = json.loads((llava_view(with_variants) / "llava" / "train.json").read_text())
    assert llava and not any(entry["task"].endswith("_syn") for entry in llava)


def _yes_then_no(folder: Path, tmp_path: Path) -> tuple[Path, Path, float]:
    """Always Yes on state, always No on state_syn, and always-Yes's F1 counted from the labels."""
    state = _rows(folder, "state", "test")
    positives, negatives = sum(r["label"] for r in state), sum(not r["label"] for r in state)
    yes = _write(tmp_path / "yes.jsonl", {r["id"]: "Yes." for r in state})
    no_on_variant = _write(tmp_path / "no.jsonl", {r["id"] + SUFFIX: "No." for r in state})
    return yes, no_on_variant, 100 * 2 * positives / (2 * positives + negatives)


@pytest.mark.slow
def test_robustness_reports_the_known_gap_and_agreement(with_variants: Path, tmp_path: Path) -> None:
    yes, no_on_variant, f1 = _yes_then_no(with_variants, tmp_path)
    same_on_variant = _write(tmp_path / "same.jsonl", {r["id"] + SUFFIX: "Yes." for r in _rows(with_variants, "state", "test")})
    result = robustness("state", yes, no_on_variant, with_variants, n_resamples=200)
    assert result.original["f1"] == pytest.approx(f1) and result.varied["f1"] == 0.0
    assert result.gaps["f1"] == pytest.approx(-f1) and result.consistency == 0.0
    assert result.intervals["f1"].low <= -f1 + 1e-9 <= result.intervals["f1"].high + 1e-9
    steady = robustness("state", yes, same_on_variant, with_variants, n_resamples=200)
    assert steady.gaps == dict.fromkeys(steady.gaps, 0.0) and steady.consistency == 100.0
    assert all(interval == (0.0, 0.0) for interval in steady.intervals.values())


@pytest.mark.slow
def test_dummy_model_scores_the_variant_exactly_as_the_original(with_variants: Path, tmp_path: Path) -> None:
    path = run_lmms_eval(
        data=with_variants, model="dummy", model_args="response=Yes", tasks="lego_arta_state,lego_arta_syn", output=tmp_path
    )
    results = json.loads(path.read_text())["results"]
    for metric in ("f1", "tnr", "fpr", "invalid_rate", "balanced_acc", "mcc", "group_acc", "tnr_displaced"):
        assert results["lego_arta_state_syn"][f"{metric},none"] == results["lego_arta_state"][f"{metric},none"]
    assert {"lego_arta_scene_syn", "lego_arta_object_syn"} <= set(results)


@pytest.mark.slow
def test_report_shows_the_robustness_gap_beside_the_scores(with_variants: Path, tmp_path: Path) -> None:
    from lego_arta.cli import main

    yes, no_on_variant, f1 = _yes_then_no(with_variants, tmp_path)
    runs = tmp_path / "runs"
    assert (
        main(
            [
                "robustness",
                "--task",
                "state",
                "--original",
                str(yes),
                "--variant",
                str(no_on_variant),
                "--data",
                str(with_variants),
                "--out",
                str(runs),
                "--name",
                "always-yes-then-no",
                "--resamples",
                "100",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "score",
                "--data",
                str(with_variants),
                "--task",
                "state",
                "--predictions",
                str(yes),
                "--name",
                "always-yes",
                "--out",
                str(runs),
                "--resamples",
                "100",
            ]
        )
        == 0
    )
    assert main(["report", "--results", str(runs), "--out", str(tmp_path / "report"), "--no-study"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    section = report[report.index("## Synonym robustness") :]
    row = next(line for line in section.splitlines() if line.startswith("| always-yes-then-no | state | F1 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[3:6] == [f"{f1:.2f}", "0.00", f"{-f1:+.2f}"] and cells[-1] == "0.00"
    assert "## state" in report, "the scores of the same run stay in the report"


@pytest.mark.slow
def test_answers_that_pair_no_row_are_an_error(with_variants: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 28: answers of another split exited 0 with empty numbers; now an error naming both files."""
    from lego_arta.cli import main

    train = _rows(with_variants, "state", "train")
    original = _write(tmp_path / "train.jsonl", {r["id"]: "Yes." for r in train})
    variant = _write(tmp_path / "train-syn.jsonl", {r["id"] + SUFFIX: "Yes." for r in train})
    runs = tmp_path / "runs"
    assert (
        main(
            [
                "robustness",
                "--task",
                "state",
                "--original",
                str(original),
                "--variant",
                str(variant),
                "--data",
                str(with_variants),
                "--out",
                str(runs),
                "--resamples",
                "10",
            ]
        )
        == 2
    )
    message = " ".join(error_printed(capsys).split())
    assert "no state row of the test split has an answer in both files" in message and "train.jsonl" in message
    assert not runs.exists()


def test_report_leaves_out_a_robustness_result_with_no_paired_rows(tmp_path: Path) -> None:
    from lego_arta.evaluation.results import load_results

    document = {
        "format": "lego-arta-robustness/1",
        "task": "state",
        "variant": "state_syn",
        "system": "x",
        "rows": 2,
        "metrics": {"f1": {"original": 0.0, "variant": 0.0, "gap": 0.0, "gap_low": 0.0, "gap_high": 0.0}},
        "consistency": 0.0,
        "missing": ["a", "b", "a" + SUFFIX, "b" + SUFFIX],
    }
    (tmp_path / "robustness-state.json").write_text(json.dumps(document))
    loaded = load_results([tmp_path])
    assert loaded.robustness == () and loaded.skipped_files == (f"{tmp_path / 'robustness-state.json'} (robustness with no paired rows)",)
    (tmp_path / "robustness-state.json").write_text(json.dumps({**document, "missing": ["a"]}))
    assert len(load_results([tmp_path]).robustness) == 1
