"""``--model lego_arta_hf``: an in-process Hugging Face model whose P(Yes) gives AUROC and AP.

The real tiny LLaVA runs through real lmms-eval on a real build; P(Yes) is recomputed here
from the model's own forward pass, and AUROC from scikit-learn on the samples' log.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.harness import task_docs
from lego_arta.harness.hf_model import p_yes_from_logits, verdict_token_ids
from lego_arta.harness.lmms_eval_runner import run_lmms_eval
from lego_arta.models.tiny_vlm import build_tiny_vlm
from tests.support.cli import run_command

#: The verdict tasks and the prefix of their AUROC / AP metric names.
METRIC_PREFIX = {"lego_arta_state": "", "lego_arta_order": "order_"}
TASKS = tuple(METRIC_PREFIX)
LIMIT = 6


@given(
    st.lists(st.floats(-50, 50), min_size=4, max_size=4),
    st.lists(st.integers(0, 1), min_size=1, max_size=3),
    st.lists(st.integers(2, 3), min_size=1, max_size=3),
)
def test_p_yes_is_the_softmax_share_of_the_positive_ids(logits: list[float], positive: list[int], negative: list[int]) -> None:
    yes = sum(math.exp(logits[i]) for i in set(positive))
    no = sum(math.exp(logits[i]) for i in set(negative))
    assert p_yes_from_logits(logits, positive, negative) == pytest.approx(yes / (yes + no), rel=1e-9, abs=1e-12)


def test_p_yes_survives_logits_that_overflow_exp() -> None:
    assert p_yes_from_logits([1000.0, 999.0], [0], [1]) == pytest.approx(1 / (1 + math.exp(-1)))
    with pytest.raises(ValueError, match="each verdict word"):
        p_yes_from_logits([0.0, 1.0], [0], [])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-hf") / "tiny", seed=0)


def test_verdict_words_have_their_own_tokens_in_the_tiny_model(tiny: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    ids = {word: verdict_token_ids(tokenizer, word) for word in ("yes", "no", "attached", "removed")}
    assert all(ids.values()), ids
    assert all(tokenizer.convert_ids_to_tokens(i).strip("\u2581").lower() == word for word, found in ids.items() for i in found)
    assert verdict_token_ids(tokenizer, "zzzz") == ()


@pytest.fixture(scope="module")
def hf_run(verdict_data: Path, tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One real ``lego_arta_hf`` run of the tiny model on state and order: (results JSON, output folder)."""
    out = tmp_path_factory.mktemp("hf-eval")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HOME", str(out / "hf-home"))
        patch.setenv(task_docs.DATA_ENV, str(verdict_data))
        path = run_lmms_eval(
            data=verdict_data,
            model="lego_arta_hf",
            model_args=f"pretrained={tiny},device=cpu,device_map=cpu",
            tasks=",".join(TASKS),
            output=out,
            limit=LIMIT,
        )
        yield path, out


def _samples(out: Path, task: str) -> list[dict]:
    (path,) = out.rglob(f"*_samples_{task}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def _labels(data: Path, config: str) -> dict[str, bool]:
    import pyarrow.parquet as pq

    table = pq.read_table(sorted((data / config).glob("test-*.parquet")), columns=["id", "label"])
    return {row["id"]: bool(row["label"]) for row in table.to_pylist()}


@pytest.mark.slow
def test_auroc_and_ap_are_numbers_and_match_the_samples_p_yes(hf_run: tuple[Path, Path], verdict_data: Path) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    path, out = hf_run
    results = json.loads(path.read_text())["results"]
    for task, prefix in METRIC_PREFIX.items():
        config = task.removeprefix("lego_arta_")
        samples = _samples(out, task)
        assert len(samples) == LIMIT
        records = [s[f"{prefix}auroc"] for s in samples]
        p_yes = [r["p_yes"] for r in records]
        assert all(isinstance(p, float) and 0.0 < p < 1.0 for p in p_yes), p_yes
        truth = _labels(verdict_data, config)
        labels = [truth[r["id"]] for r in records]
        assert 0 < sum(labels) < len(labels), f"{task}: both labels among the first {LIMIT} rows"
        assert results[task][f"{prefix}auroc,none"] == pytest.approx(100 * roc_auc_score(labels, p_yes))
        assert results[task][f"{prefix}average_precision,none"] == pytest.approx(100 * average_precision_score(labels, p_yes))


@pytest.mark.slow
def test_score_and_report_show_the_run_s_auroc(hf_run: tuple[Path, Path], verdict_data: Path, tmp_path: Path) -> None:
    path, out = hf_run
    lmms = json.loads(path.read_text())["results"]["lego_arta_state"]
    (samples,) = out.rglob("*_samples_lego_arta_state.jsonl")
    ids = tmp_path / "ids.txt"  # the --limit run's rows only; the rest of the split would score as missing
    ids.write_text("".join(f"{s['auroc']['id']}\n" for s in _samples(out, "lego_arta_state")))
    scores = tmp_path / "scores"
    argv = ["--task", "state", "--predictions", str(samples), "--data", str(verdict_data), "--ids", str(ids), "--out", str(scores)]
    assert run_command("score", [*argv, "--resamples", "50"]) == 0
    (scored,) = scores.glob("*.results.json")
    rows = {row["metric"]: row for row in json.loads(scored.read_text())["rows"]}
    assert rows["auroc"]["value"] == pytest.approx(lmms["auroc,none"])
    assert rows["average_precision"]["value"] == pytest.approx(lmms["average_precision,none"])
    assert run_command("report", ["--results", str(scores), "--out", str(tmp_path / "report"), "--no-study"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert f"{lmms['auroc,none']:.2f}" in report, report
