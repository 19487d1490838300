"""Scores, reports and ``compare`` carry the benchmark version of the data; ``compare`` refuses mixed versions without ``--force``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lego_arta.dataset.benchmark import BENCHMARK_VERSION
from lego_arta.evaluation.compare import compare_runs
from tests.evaluation.support import split_rows
from tests.support.cli import run_command


def _score(built: Path, answers: dict[str, str], out: Path, name: str) -> Path:
    predictions = out / f"{name}.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    predictions.write_text("".join(json.dumps({"id": k, "answer": v}) + "\n" for k, v in answers.items()), encoding="utf-8")
    assert (
        run_command(
            "score", ["--task", "state", "--predictions", str(predictions), "--data", str(built), "--out", str(out), "--resamples", "20"]
        )
        == 0
    )
    return out / f"{name}-state.samples.jsonl"


@pytest.fixture(scope="module")
def older_build(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same rows, recorded as built by an earlier benchmark version (only the manifest says so)."""
    copy = tmp_path_factory.mktemp("older") / "lego-arta"
    shutil.copytree(built_data, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["benchmark_version"] = "0.9.0"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_score_compare_and_report_carry_the_data_version_and_compare_refuses_a_mix(
    built_data: Path, older_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = split_rows(built_data, "state")
    answers = {r["id"]: r["answer"] for r in rows}
    new = _score(built_data, answers, tmp_path / "new", "base")
    old = _score(older_build, {**answers, rows[0]["id"]: "maybe"}, tmp_path / "old", "lora")
    results = json.loads((tmp_path / "new" / "base-state.results.json").read_text())
    assert [run["benchmark_version"] for run in results["runs"]] == [BENCHMARK_VERSION]
    assert json.loads((tmp_path / "old" / "lora-state.results.json").read_text())["runs"][0]["benchmark_version"] == "0.9.0"

    same = compare_runs(new, new, built_data, n_resamples=20)
    assert same.benchmark_versions == {"data": BENCHMARK_VERSION, "a": BENCHMARK_VERSION, "b": BENCHMARK_VERSION}
    with pytest.raises(
        ValueError, match=rf"different benchmark versions \(data {BENCHMARK_VERSION}, a {BENCHMARK_VERSION}, b 0.9.0\).*--force"
    ):
        compare_runs(new, old, built_data, n_resamples=20)
    out = tmp_path / "compare.json"
    assert run_command("compare", [str(new), str(old), "--data", str(built_data), "--resamples", "20", "--force", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["benchmark_version"] == {"data": BENCHMARK_VERSION, "a": BENCHMARK_VERSION, "b": "0.9.0"}

    capsys.readouterr()
    assert run_command("report", ["--results", str(tmp_path / "new"), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"Benchmark version: {BENCHMARK_VERSION}" in text and f"(benchmark {BENCHMARK_VERSION})" in text
    assert run_command("report", ["--results", str(tmp_path / "new"), str(tmp_path / "old"), "--out", str(tmp_path / "mixed")]) == 0
    mixed = (tmp_path / "mixed" / "report.md").read_text()
    assert f"different benchmark versions (0.9.0, {BENCHMARK_VERSION})" in mixed
    warned = capsys.readouterr()
    assert "different benchmark versions" in warned.err and "different benchmark versions" not in warned.out, "a warning: stderr"


def test_lmms_eval_results_carry_the_version_of_the_rendered_task_files() -> None:
    from lego_arta.evaluation.results import document_benchmark_version
    from lego_arta.harness.task_files import render

    assert f'version: "{BENCHMARK_VERSION}"' in render()["_default_template_yaml"]
    assert document_benchmark_version({"versions": {"lego_arta_state": BENCHMARK_VERSION, "lego_arta": "N/A"}}) == BENCHMARK_VERSION
    assert document_benchmark_version({"versions": {"lego_arta_state": 1.0}}) == "unknown", "an unversioned task file says nothing"
    with pytest.raises(ValueError, match="several benchmark versions"):
        document_benchmark_version({"versions": {"lego_arta_state": "1.0.0", "lego_arta_scene": "2.0.0"}})
