"""Results on stdout, errors on stderr: what ``lego-arta score … > table.txt`` relies on.

A researcher sends a command's output to a file or down a pipe; an error printed on stdout lands
in that file and the terminal shows nothing. These run the installed ``lego-arta`` entry point in
its own process, as a shell does, with a narrow terminal (``COLUMNS=60``) so that a line rich
wrapped would show up as two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lego_arta.evaluation.built_splits import read_columns

#: The console script ``pip install`` puts beside the interpreter: what a shell runs.
LEGO_ARTA = Path(sys.executable).with_name("lego-arta")


def lego_arta(*argv: str) -> subprocess.CompletedProcess[str]:
    """``lego-arta ARGV…`` as its own process: exit status, stdout and stderr apart."""
    assert LEGO_ARTA.is_file(), f"{LEGO_ARTA} is missing: install the package (make .venv/.installed-all)"
    env = {**os.environ, "COLUMNS": "60"}
    return subprocess.run([str(LEGO_ARTA), *argv], capture_output=True, text=True, timeout=300, env=env, check=False)


def test_a_missing_predictions_file_is_one_error_line_on_stderr_and_nothing_on_stdout(built_dataset: Path, tmp_path: Path) -> None:
    missing = tmp_path / "a-predictions-file-that-was-never-written.jsonl"
    done = lego_arta("score", "--task", "state", "--predictions", str(missing), "--data", str(built_dataset))
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout == "", "stdout is for results; the error went there"
    lines = done.stderr.splitlines()
    assert len(lines) == 1, f"one line, not wrapped at 60 columns nor followed by a traceback: {lines}"
    assert lines[0].startswith("error: ") and str(missing) in lines[0], lines[0]


def test_a_score_with_a_row_unanswered_prints_the_table_on_stdout_and_the_warning_on_stderr(built_dataset: Path, tmp_path: Path) -> None:
    truth = read_columns(built_dataset, "state", "test", ["id", "answer"])
    predictions = tmp_path / "all-but-one.jsonl"
    predictions.write_text("".join(json.dumps({"id": i, "answer": a}) + "\n" for i, a in zip(truth["id"][1:], truth["answer"][1:])))
    done = lego_arta("score", "--task", "state", "--predictions", str(predictions), "--data", str(built_dataset), "--resamples", "20")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "all-but-one: state" in " ".join(done.stdout.split()), "the table, titled with the run, on stdout"
    assert "1 missing" not in done.stdout, "the table alone on stdout"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("1 missing")]
    assert len(warnings) == 1 and truth["id"][0] in warnings[0], done.stderr
    assert "error:" not in done.stderr
