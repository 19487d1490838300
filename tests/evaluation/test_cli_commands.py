"""The user-facing commands, run through ``lego_arta.cli.main`` as a shell user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lego_arta.cli import build_parser, main
from lego_arta.evaluation.built_splits import read_columns

SUBCOMMANDS = (
    "quickstart",
    "synth",
    "parse",
    "crawl",
    "build",
    "push",
    "tiny-model",
    "eval",
    "score",
    "robustness",
    "compare",
    "baselines",
    "report",
    "qa",
    "finetune",
    "merge",
    "export",
    "probe",
    "synonym-map",
    "tasks-path",
    "converse",
)


def test_every_documented_subcommand_is_wired() -> None:
    parser = build_parser()
    (subparsers,) = [action for action in parser._actions if action.dest == "command"]
    assert set(subparsers.choices) == set(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_of_each_subcommand_through_python_m(name: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "lego_arta", name, "--help"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: ")


def test_score_then_report_from_the_command_line(built_data: Path, tmp_path: Path) -> None:
    truth = read_columns(built_data, "state", "test", ["id", "answer"])
    flipped = {"Yes.": "No.", "No.": "Yes."}
    answers = [flipped[truth["answer"][0]], *truth["answer"][1:]]
    predictions = tmp_path / "flip-first.jsonl"
    predictions.write_text("".join(json.dumps({"id": i, "answer": a}) + "\n" for i, a in zip(truth["id"], answers)))

    assert (
        main(
            [
                "score",
                "--task",
                "state",
                "--predictions",
                str(predictions),
                "--data",
                str(built_data),
                "--out",
                str(tmp_path / "scores"),
                "--resamples",
                "50",
            ]
        )
        == 0
    )
    samples = (tmp_path / "scores" / "flip-first-state.samples.jsonl").read_text().splitlines()
    assert len(samples) == len(truth["id"])
    results = json.loads((tmp_path / "scores" / "flip-first-state.results.json").read_text())
    positives = truth["answer"].count("Yes.")
    true_positives = positives - (truth["answer"][0] == "Yes.")
    false_positives = int(truth["answer"][0] == "No.")
    expected_f1 = 100 * 2 * true_positives / (2 * true_positives + false_positives + (positives - true_positives))
    f1 = [row["value"] for row in results["rows"] if row["metric"] == "f1"]
    assert f1 == [pytest.approx(expected_f1)]

    assert main(["report", "--results", str(tmp_path / "scores"), "--out", str(tmp_path / "report")]) == 0
    (markdown,) = (tmp_path / "report").glob("*.md")
    table_lines = [line for line in markdown.read_text().splitlines() if line.startswith("| flip-first |")]
    assert len(table_lines) == 1 and f"{expected_f1:.2f}" in table_lines[0]
