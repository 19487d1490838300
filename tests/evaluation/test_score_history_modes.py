"""``lego-arta score`` says which history mode it scored, and refuses predictions that mix modes.

The data are a real guide build (tests/conftest.py). Gold-history predictions (no ``"mode"``, as
any harness writes them) score exactly as the mode-blind scorer :func:`score_answers` scores the
same answers; ``lego-arta converse``'s own-history lines are scored and recorded as such.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lego_arta.cli import main
from lego_arta.evaluation.scoring import load_references, score_answers
from tests.support.cli import error_printed

RESAMPLES = "20"


def _answers(data: Path) -> list[tuple[str, str]]:
    """Every test row with a plausible answer: the reference for even rows, "No." for odd ones (so scores are not all 100)."""
    rows = pq.read_table(sorted((data / "guide").glob("test-*.parquet")), columns=["id", "answer"]).to_pylist()
    return [(row["id"], row["answer"] if i % 2 == 0 else "No.") for i, row in enumerate(rows)]


def _write(path: Path, answers: list[tuple[str, str]], modes: list[str | None]) -> Path:
    lines = [{"id": i, "answer": a, **({"mode": m} if m is not None else {})} for (i, a), m in zip(answers, modes, strict=True)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _score(data: Path, predictions: Path, out: Path, *extra: str) -> int:
    argv = ["score", "--task", "guide", "--predictions", str(predictions), "--data", str(data), "--out", str(out), "--resamples", RESAMPLES]
    return main([*argv, *extra])


@pytest.mark.parametrize(
    ("mode", "setting"), [(None, "with instruction"), ("gold_history", "with instruction"), ("own_history", "own_history")]
)
def test_score_records_and_prints_the_mode_it_scored_and_gold_history_scores_as_before(
    guide_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str | None, setting: str
) -> None:
    answers = _answers(guide_data)
    predictions = _write(tmp_path / "run.jsonl", answers, [mode] * len(answers))
    assert _score(guide_data, predictions, tmp_path / "out") == 0
    printed = capsys.readouterr().out
    scored = mode or "gold_history"
    assert f"{len(answers)} rows, boxes read as auto, {scored})" in printed
    results = json.loads((tmp_path / "out" / "run-guide.results.json").read_text())
    (run,) = results["runs"]
    assert run["mode"] == scored and run["setting"] == setting
    assert {row["setting"] for row in results["rows"]} == {setting}
    blind = score_answers("guide", load_references("guide", guide_data), dict(answers), n_resamples=int(RESAMPLES))
    assert {row["metric"]: row["value"] for row in results["rows"]} == blind.scores, "the mode changes what is recorded, not the scores"


def test_an_explicit_setting_wins_over_the_mode(guide_data: Path, tmp_path: Path) -> None:
    answers = _answers(guide_data)
    predictions = _write(tmp_path / "run.jsonl", answers, ["own_history"] * len(answers))
    assert _score(guide_data, predictions, tmp_path / "out", "--setting", "chat v2") == 0
    (run,) = json.loads((tmp_path / "out" / "run-guide.results.json").read_text())["runs"]
    assert (run["setting"], run["mode"]) == ("chat v2", "own_history")


@pytest.mark.parametrize(
    ("first", "later", "said"),
    [
        ("own_history", None, "mode gold_history (no mode field), but line 1 is own_history"),
        (None, "own_history", "mode own_history, but line 1 is gold_history (no mode field)"),
        ("gold_history", "own_history", "mode own_history, but line 1 is gold_history"),
    ],
)
def test_a_file_mixing_history_modes_is_refused_naming_both_lines(
    guide_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], first: str | None, later: str | None, said: str
) -> None:
    answers = _answers(guide_data)
    modes = [first] * 3 + [later] * (len(answers) - 3)
    predictions = _write(tmp_path / "mixed.jsonl", answers, modes)
    assert _score(guide_data, predictions, tmp_path / "out") == 2
    printed = error_printed(capsys)
    assert f"{predictions}:4: {said}" in printed
    assert "score each mode's predictions as a file of its own" in printed
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("task", "mode"), [("state", "own_history"), ("guide", "own history"), ("guide", "")])
def test_a_mode_the_task_does_not_have_is_refused(guide_data: Path, tmp_path: Path, task: str, mode: str) -> None:
    from lego_arta.evaluation.scoring import score_predictions

    answers = _answers(guide_data)[:2]
    predictions = _write(tmp_path / "p.jsonl", answers, [mode] * 2)
    with pytest.raises(ValueError, match="mode") as refused:
        score_predictions(task, predictions, guide_data)
    assert str(predictions) in str(refused.value)
