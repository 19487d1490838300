"""``lego-arta compare``: gaps between two runs with intervals and p-values that resample manuals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lego_arta.evaluation.compare import compare_runs
from tests.evaluation.support import split_rows
from tests.support.cli import run_command


def _write(path: Path, answers: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "answer": v}) + "\n" for k, v in answers.items()), encoding="utf-8")
    return path


def test_a_known_set_of_broken_answers_gives_the_known_gaps(built_data: Path, tmp_path: Path) -> None:
    rows = split_rows(built_data, "state", "train")
    negatives = [r for r in rows if not r["label"]]
    broken = {r["id"] for r in negatives[:5]}  # B accepts 5 wrong assemblies A rejected
    perfect = _write(tmp_path / "a.jsonl", {r["id"]: r["answer"] for r in rows})
    worse = _write(tmp_path / "b.jsonl", {r["id"]: "Yes." if r["id"] in broken else r["answer"] for r in rows})
    result = compare_runs(perfect, worse, built_data, split="train", n_resamples=200)
    assert result.task == "state" and result.rows == len(rows) and result.manuals == len({r["manual_id"] for r in rows})
    tnr = result.metrics["tnr"]
    assert (tnr["a"], tnr["b"]) == (100.0, pytest.approx(100 * (len(negatives) - 5) / len(negatives)))
    assert tnr["gap"] == pytest.approx(-500 / len(negatives))
    assert tnr["gap_low"] <= tnr["gap"] <= tnr["gap_high"] <= 0.0
    states = {(r["manual_id"], r["session"], r["step_num"]) for r in rows}
    broken_states = {(r["manual_id"], r["session"], r["step_num"]) for r in negatives[:5]}
    assert result.metrics["group_acc"]["gap"] == pytest.approx(-100 * len(broken_states) / len(states))
    assert result.metrics["invalid_rate"]["gap"] == 0.0
    # two train manuals: the exact permutation test has 4 swap patterns, and both "no swap" and
    # "swap all" are as extreme as the observed gap
    assert 2 / 2**result.manuals <= tnr["p_value"] <= 1.0
    same = compare_runs(perfect, perfect, built_data, split="train", n_resamples=200)
    assert all(m["gap"] == 0.0 and m["p_value"] == 1.0 and m["gap_low"] == m["gap_high"] == 0.0 for m in same.metrics.values())


def test_the_command_prints_a_table_and_writes_json(built_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = split_rows(built_data, "object")
    a = _write(tmp_path / "base.jsonl", {r["id"]: r["answer"] for r in rows})
    b = _write(tmp_path / "lora.jsonl", {r["id"]: r["answer"] for r in rows[1:]})
    out = tmp_path / "compare.json"
    assert run_command("compare", [str(a), str(b), "--data", str(built_data), "--out", str(out), "--resamples", "50"]) == 0
    printed = capsys.readouterr()
    assert "lora vs base: object" in printed.out and "1 manuals" in printed.out and "without an answer" not in printed.out
    assert "1 rows without an answer" in printed.err, "the warning on stderr"
    document = json.loads(out.read_text())
    assert document["bootstrap"]["resample_unit"] == "manual" and document["permutation"]["unit"] == "manual"
    assert document["task"] == "object" and document["missing_b"] == 1 and document["metrics"]["valid_box_rate"]["gap"] < 0
