"""``lego-arta report --eval-results``: the Hub's ``.eval_results/*.yaml`` per model and task, and the benchmark's ``eval.yaml``.

The contract (Hub docs, "Evaluation Results"): a result file is a YAML list of entries
``{dataset: {id, task_id[, revision]}, value[, verifyToken, date, source, notes]}``; ``task_id`` is a
task ``id`` of the benchmark's ``eval.yaml`` (``name``, ``description``, ``evaluation_framework``,
``tasks: [{id[, config, split]}]``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lego_arta.dataset.benchmark import BENCHMARK_VERSION
from lego_arta.evaluation.hub_results import write_eval_results
from tests.evaluation.support import split_rows
from tests.support.cli import run_command

ENTRY_KEYS = {"dataset", "value", "verifyToken", "date", "source", "notes"}
DATASET_KEYS = {"id", "task_id", "revision"}


def _score(built: Path, task: str, answers: dict[str, str], root: Path, name: str, setting: str) -> None:
    out = root / setting.replace(" ", "-")  # one folder per setting: score names its files <name>-<task>
    out.mkdir(exist_ok=True)
    predictions = out / f"{name}-{task}.jsonl"
    predictions.write_text("".join(json.dumps({"id": k, "answer": v}) + "\n" for k, v in answers.items()), encoding="utf-8")
    assert (
        run_command(
            "score",
            [
                "--task",
                task,
                "--predictions",
                str(predictions),
                "--data",
                str(built),
                "--out",
                str(out),
                "--name",
                name,
                "--setting",
                setting,
                "--resamples",
                "20",
            ],
        )
        == 0
    )


@pytest.fixture(scope="module")
def scored(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scored")
    state = {r["id"]: r["answer"] for r in split_rows(built_data, "state")}
    scene = {r["id"]: r["answer"] for r in split_rows(built_data, "scene")}
    _score(built_data, "state", state, out, "model-a", "with instruction")
    _score(built_data, "state", dict.fromkeys(state, "Yes."), out, "model-a", "no instruction")
    _score(built_data, "scene", scene, out, "model-b", "with instruction")
    return out


def test_result_files_follow_the_hub_contract_and_equal_the_scores(scored: Path, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    assert run_command("report", ["--results", str(scored), "--eval-results", str(hub), "--dataset-id", "org/lego-arta"]) == 0
    benchmark = yaml.safe_load((hub / "eval.yaml").read_text())
    assert {"name", "description", "evaluation_framework", "tasks"} <= set(benchmark)
    task_ids = [task["id"] for task in benchmark["tasks"]]
    assert len(task_ids) == len(set(task_ids)) and "state_balanced_acc" in task_ids and "order_order_accuracy" in task_ids
    assert all(task["split"] == "test" and task["id"].startswith(task["config"] + "_") for task in benchmark["tasks"])

    files = sorted(str(p.relative_to(hub)) for p in hub.rglob("*.yaml") if p.name != "eval.yaml")
    assert files == [
        "model-a/.eval_results/lego_arta_state.yaml",
        "model-a/.eval_results/lego_arta_state_no-instruction.yaml",
        "model-b/.eval_results/lego_arta_scene.yaml",
    ]
    rows = {
        (r["system"], r["setting"], r["metric"]): r["value"]
        for path in scored.rglob("*.results.json")
        for r in json.loads(path.read_text())["rows"]
    }
    for name in files:
        entries = yaml.safe_load((hub / name).read_text())
        system = name.split("/")[0]
        assert isinstance(entries, list) and entries
        for entry in entries:
            assert set(entry) <= ENTRY_KEYS and set(entry["dataset"]) <= DATASET_KEYS
            assert entry["dataset"]["id"] == "org/lego-arta" and entry["dataset"]["task_id"] in task_ids
            assert f"benchmark {BENCHMARK_VERSION}" in entry["notes"]
            setting = entry["notes"].split("query setting: ")[1]
            metric = entry["dataset"]["task_id"].split("_", 1)[1]
            assert entry["value"] == pytest.approx(rows[system, setting, metric], abs=1e-4)
    always_yes = yaml.safe_load((hub / files[1]).read_text())
    assert {e["dataset"]["task_id"]: e["value"] for e in always_yes}["state_balanced_acc"] == 50.0, "a constant is at chance"

    again = tmp_path / "again"
    assert run_command("report", ["--results", str(scored), "--eval-results", str(again), "--dataset-id", "org/lego-arta"]) == 0
    assert all((hub / name).read_bytes() == (again / name).read_bytes() for name in [*files, "eval.yaml"]), "same results, same bytes"


def test_mixed_benchmark_versions_and_nothing_to_write_are_refused(tmp_path: Path) -> None:
    from lego_arta.evaluation.results import ResultRow

    row = ResultRow("state", "m", "with instruction", "f1", 50.0)
    with pytest.raises(ValueError, match=r"different benchmark versions \(0.9.0, 1.0.0\)"):
        write_eval_results([row], tmp_path, versions={"a.json": "1.0.0", "b.json": "0.9.0"})
    with pytest.raises(ValueError, match="no results of ours"):
        write_eval_results([], tmp_path)
    with pytest.raises(ValueError, match="--out .*--eval-results"):
        run_command("report", ["--results", str(tmp_path)])
