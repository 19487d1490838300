"""The report: our rows beside the study's published ones, charts that are real PNGs, stable bytes."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import pytest
from PIL import Image

from lego_arta.evaluation.report import render_markdown, write_report
from lego_arta.evaluation.results import (
    STUDY,
    ResultRow,
    lmms_eval_rows,
    load_results,
    study_query_settings,
    study_rows,
    write_results,
)
from tests.support.cli import run_command

OURS = [
    ResultRow("state", "always-yes", "baseline", "f1", 40.0, 35.5, 44.25, n=120),
    ResultRow("state", "always-yes", "baseline", "tnr", 0.0, 0.0, 0.0, n=120),
    ResultRow("state", "always-yes", "baseline", "fpr", 100.0, 100.0, 100.0, n=120),
    ResultRow("state", "always-yes", "baseline", "invalid_rate", 0.0, 0.0, 0.0, n=120),
    ResultRow("object", "centre-box", "baseline", "iou", 12.345, 10.0, 14.5, n=80),
]


def _lmms_results(model_args: str, tasks: dict[str, dict[str, float]]) -> dict:
    """An lmms-eval 0.7.3 results JSON reduced to the keys the report reads (layout as written by the CLI)."""
    results, configs = {}, {}
    for task, scores in tasks.items():
        results[task] = {"alias": task, **{f"{m},none": v for m, v in scores.items()}, **{f"{m}_stderr,none": "N/A" for m in scores}}
        if task.startswith("lego_arta_"):
            config, _, variant = task[len("lego_arta_") :].partition("_")
            kwargs = {"config": config, "with_instruction": "noctx" not in variant, "in_context_examples": 2 if "icl" in variant else 0}
            configs[task] = {"task": task, "dataset_name": config, "lmms_eval_specific_kwargs": {"default": kwargs, **kwargs}}
        else:
            configs[task] = {"task": task}
    return {
        "results": results,
        "configs": configs,
        "config": {"model": "llava_hf", "model_args": model_args},
        "n-samples": {task: {"original": 10, "effective": 10} for task in tasks},
    }


def _published() -> list[dict[str, str]]:
    text = resources.files("lego_arta").joinpath("data/thesis_results.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def test_packaged_study_tables_hold_every_published_number() -> None:
    published = _published()
    assert len(study_rows()) == len(published)
    assert {(r.task, r.system) for r in study_rows()} == {(p["task"], p["model"]) for p in published}
    assert {r.setting for r in study_rows()} == {"zero-shot", "LoRA"}
    gpt4o = {r.metric: r.value for r in study_rows() if r.system == "GPT-4o" and r.task == "state"}
    assert gpt4o == {"f1": 40.54, "tnr": 56.94, "fpr": 43.06}
    qwen = {(r.setting, r.metric): r.value for r in study_query_settings()}
    assert qwen[("with instruction, 2 examples", "t_acc")] == 11.90 and qwen[("no instruction", "iou")] == 0.10


def test_markdown_has_our_rows_and_every_study_row_of_each_task(tmp_path: Path) -> None:
    written = write_report(OURS, tmp_path)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert written[0] == tmp_path / "report.md"
    assert "| always-yes | ours | baseline | 120 | 40.00 [35.50, 44.25] | 0.00 [0.00, 0.00] |" in text
    # object columns: E_ACC, echo rate, IoU, then the valid-box rate and nine quadrant columns
    assert "| centre-box | ours | baseline | 80 | – | – | 12.35 [10.00, 14.50] | – |" in text, "ours: not measured"
    state = text.split("## state")[1]
    object_section = text.split("## object")[1].split("## state")[0]
    for record in _published():
        section = state if record["task"] == "state" else object_section if record["task"] == "object" else None
        setting = "LoRA" if record["setting"] == "lora" else "zero-shot"
        if section is not None:
            assert f"| {record['model']} | study | {setting} |" in section, record
    assert "| GPT-4o | study | zero-shot |  | 40.54 | 56.94 | 43.06 | – |" in state
    assert "| InstructBLIP | study | zero-shot |  | 86.66 | – | / | – |" in object_section, "the study printed '/' for no valid box"
    assert "## scene" not in text, "a task without results of ours gets no section"


def test_charts_are_valid_pngs_without_a_software_stamp(tmp_path: Path) -> None:
    written = write_report(OURS, tmp_path, stem="run")
    charts = [path for path in written if path.suffix == ".png"]
    assert {path.name for path in charts} == {
        "run-state-f1.png",
        "run-state-tnr.png",
        "run-state-fpr.png",
        "run-state-invalid_rate.png",
        "run-object-iou.png",
    }
    for path in charts:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 100
            assert "Software" not in image.info
        assert f"]({path.name})" in (tmp_path / "run.md").read_text(encoding="utf-8")


def test_same_rows_give_byte_identical_outputs(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in write_report(OURS, tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_report(OURS, tmp_path / "b")}
    assert first == second


def test_lmms_eval_results_become_rows_with_their_query_setting() -> None:
    document = _lmms_results(
        "pretrained=/models/tiny-llava,device=cpu",
        {
            "lego_arta_state": {"f1": 25.0, "tnr": 10.0, "fpr": 90.0, "invalid_rate": 5.0},
            "lego_arta_state_noctx_icl": {"f1": 20.0, "tnr": 12.0, "fpr": 88.0, "invalid_rate": 6.0},
            "mmmu_val": {"mmmu_acc": 30.0},
        },
    )
    rows, skipped = lmms_eval_rows(document, where="r.json")
    assert skipped == ["mmmu_val"]
    assert {(r.system, r.setting) for r in rows} == {
        ("llava_hf tiny-llava", "with instruction"),
        ("llava_hf tiny-llava", "no instruction, 2 examples"),
    }
    assert {r.metric: r.value for r in rows if r.setting == "with instruction"} == {
        "f1": 25.0,
        "tnr": 10.0,
        "fpr": 90.0,
        "invalid_rate": 5.0,
    }
    assert all(r.n == 10 and r.low is None for r in rows)


def test_cli_reads_folders_of_mixed_results_and_adds_a_query_setting_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    (results / "eval").mkdir(parents=True)
    document = _lmms_results(
        "pretrained=/m/tiny",
        {
            "lego_arta_state": {"f1": 25.0, "tnr": 10.0, "fpr": 90.0, "invalid_rate": 5.0},
            "lego_arta_state_noctx": {"f1": 21.0, "tnr": 11.0, "fpr": 89.0, "invalid_rate": 5.0},
        },
    )
    (results / "eval" / "20261123_000000_results.json").write_text(json.dumps(document), encoding="utf-8")
    (results / "eval" / "manifest.json").write_text(json.dumps({"files": {}}), encoding="utf-8")
    write_results(results / "baselines.json", OURS)
    assert run_command("report", ["--results", str(results), "--out", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr()
    assert "manifest.json" in printed.err and "not a results file" in printed.err, "a skip is a warning: stderr"
    assert "not a results file" not in printed.out and "wrote" in printed.out
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "| llava_hf tiny | ours | with instruction | 10 | 25.00 | 10.00 | 90.00 | 5.00 |" in text
    query = text.split("## Query settings")[1]
    assert "| llava_hf tiny | ours | no instruction | 10 |" in query
    assert "| Qwen-VL | study | no instruction, 2 examples |  | 6.84 |" in query
    assert (tmp_path / "report" / "report-state-f1.png").is_file()


def test_bad_or_clashing_results_are_refused(tmp_path: Path) -> None:
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ValueError, match="neither a lego-arta results file"):
        load_results([stray])
    write_results(tmp_path / "a" / "one.json", OURS[:1])
    write_results(tmp_path / "b" / "two.json", OURS[:1])
    with pytest.raises(ValueError, match="is also in"):
        load_results([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(FileNotFoundError):
        load_results([tmp_path / "absent"])
    with pytest.raises(ValueError, match="no results of ours"):
        write_report([row for row in study_rows() if row.source == STUDY], tmp_path / "out")
    with pytest.raises(ValueError, match="not a state metric"):
        ResultRow("state", "x", "baseline", "iou", 1.0)


def test_markdown_without_study_rows_has_only_ours() -> None:
    text = render_markdown(OURS, stem="r", title="T", include_study=False)
    assert "| study |" not in text and "| always-yes | ours |" in text
