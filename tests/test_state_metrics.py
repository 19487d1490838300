"""State metrics a constant cannot game, and intervals that resample manuals (issue 11).

References are independent implementations: scikit-learn for balanced accuracy, MCC and
per-kind recall, pandas for the per-state grouping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, matthews_corrcoef, recall_score

import lego_arta.metrics as metrics
from lego_arta.answers import parse_yes_no
from lego_arta.metrics.bootstrap import paired_cluster_gap_ci, paired_cluster_permutation_p
from lego_arta.metrics.groups import group_acc
from lego_arta.metrics.registry import get_metric
from lego_arta.metrics.yesno import tnr_of_kind
from lego_arta.tasks import get_task

#: scikit-learn warns on single-class inputs, which the edge cases are on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found", "ignore:y_pred contains classes not in y_true")

ANSWERS = ["Yes.", "No.", "yes", "No, it is not.", "maybe", ""]


def _predicted(answers: list[str], labels: list[bool]) -> list[bool]:
    """What an answer counts as: its verdict, or the wrong class when unreadable."""
    return [(not y) if parse_yes_no(a) is None else bool(parse_yes_no(a)) for a, y in zip(answers, labels)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(ANSWERS)), min_size=1, max_size=60))
def test_balanced_accuracy_and_mcc_equal_sklearn(rows: list[tuple[bool, str]]) -> None:
    labels, answers = [r[0] for r in rows], [r[1] for r in rows]
    predicted = _predicted(answers, labels)
    scores = metrics.state_scores(answers, labels)
    assert scores["balanced_acc"] == pytest.approx(100 * balanced_accuracy_score(labels, predicted))
    assert scores["mcc"] == pytest.approx(100 * matthews_corrcoef(labels, predicted), abs=1e-9)


def _state_rows(n_states: int, negatives: int = 3) -> pd.DataFrame:
    rows = []
    for state in range(n_states):
        manual, session, step = f"m{state % 4}", f"s{state % 2}", state
        rows.append({"label": True, "negative_kind": "none", "manual_id": manual, "session": session, "step_num": step})
        for index in range(negatives):
            kind = ("displaced", "shifted", "missing")[index % 3]
            rows.append({"label": False, "negative_kind": kind, "manual_id": manual, "session": session, "step_num": step})
    return pd.DataFrame(rows)


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    return {column: frame[column].tolist() for column in frame.columns}


def test_always_yes_gets_chance_balanced_accuracy_zero_mcc_and_no_state() -> None:
    frame = _state_rows(12)
    scores = get_task("state").scores(["Yes."] * len(frame), _columns(frame))
    assert scores["f1"] == pytest.approx(40.0)  # what the issue measured: F1 alone looks like a model
    assert (scores["balanced_acc"], scores["mcc"], scores["group_acc"]) == (50.0, 0.0, 0.0)
    assert {k: v for k, v in scores.items() if k.startswith("tnr_")} == {"tnr_displaced": 0.0, "tnr_missing": 0.0, "tnr_shifted": 0.0}
    always_no = get_task("state").scores(["No."] * len(frame), _columns(frame))
    assert (always_no["balanced_acc"], always_no["mcc"], always_no["group_acc"]) == (50.0, 0.0, 0.0)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12), st.integers(1, 3), st.lists(st.sampled_from(ANSWERS), min_size=48, max_size=48))
def test_group_accuracy_and_tnr_per_kind_equal_independent_references(n_states: int, negatives: int, pool: list[str]) -> None:
    frame = _state_rows(n_states, negatives)
    answers = pool[: len(frame)]
    predicted = _predicted(answers, frame["label"].tolist())
    frame = frame.assign(right=[p == y for p, y in zip(predicted, frame["label"])])
    expected = 100 * frame.groupby(["manual_id", "session", "step_num"])["right"].all().mean()
    scores = get_task("state").scores(answers, _columns(frame))
    assert scores["group_acc"] == pytest.approx(expected)
    for kind, rows in frame[~frame["label"]].groupby("negative_kind"):
        said = [predicted[i] for i in rows.index]
        assert scores[f"tnr_{kind}"] == pytest.approx(100 * recall_score([False] * len(said), said, pos_label=False, zero_division=0))
    assert sorted(k for k in scores if k.startswith("tnr_")) == sorted(f"tnr_{k}" for k in set(frame["negative_kind"]) - {"none"})


def test_tnr_of_a_kind_ignores_other_rows_and_a_new_kind_needs_no_registration() -> None:
    assert tnr_of_kind("rotated", ["No.", "Yes.", "maybe"], ["rotated", "none", "rotated"]) == 50.0
    assert get_metric("tnr_upside_down").label == "TNR upside_down"
    with pytest.raises(KeyError, match="families: tnr_<value>"):
        get_metric("nonsense_metric")


def test_group_accuracy_refuses_targets_without_a_key() -> None:
    with pytest.raises(ValueError, match="expected \\(label, \\*group key\\)"):
        group_acc(["Yes."], [True])


# --- intervals resample manuals -------------------------------------------------------------------


def test_cluster_bootstrap_is_wider_than_rows_when_manuals_are_correlated() -> None:
    # 10 manuals of 20 identical rows each: 10 independent draws, not 200.
    values = [100.0 * (m % 2) for m in range(10) for _ in range(20)]
    manuals = [f"m{m}" for m in range(10) for _ in range(20)]
    by_row = metrics.bootstrap_ci(values, n_resamples=500, seed=0)
    by_manual = metrics.bootstrap_ci(values, n_resamples=500, seed=0, clusters=manuals)
    assert (by_manual.high - by_manual.low) > 2 * (by_row.high - by_row.low)
    # A resample of manuals keeps each manual's 20 rows together: a mean of 10 draws of 0/100.
    assert by_manual.low % 10 == pytest.approx(0.0) and by_manual.high % 10 == pytest.approx(0.0)


def test_every_state_metric_resamples_whole_states_by_manual() -> None:
    frame = _state_rows(16)
    rng = np.random.default_rng(4)
    answers = [str(a) for a in rng.choice(ANSWERS, size=len(frame))]
    spec = get_task("state")
    flat = spec.scores_with_intervals(answers, _columns(frame), n_resamples=200, clusters=frame["manual_id"].tolist())
    for name in spec.metrics_for(_columns(frame)):
        assert flat[f"{name}_low"] <= flat[name] + 1e-9 <= flat[f"{name}_high"] + 2e-9, name
    # group accuracy over whole resampled states is a multiple of 100/states drawn
    assert flat["group_acc_low"] * 16 / 100 == pytest.approx(round(flat["group_acc_low"] * 16 / 100), abs=1e-6)


def test_paired_permutation_p_value_is_exact_for_few_manuals() -> None:
    manuals = [f"m{m}" for m in range(6) for _ in range(5)]
    worse = metrics.mean_stats([0.0] * 30)
    better = metrics.mean_stats([100.0] * 30)
    # all 6 manuals better: only the identity and the full swap are as extreme, p = 2 / 64
    assert paired_cluster_permutation_p(worse, better, manuals) == pytest.approx(2 / 64)
    assert paired_cluster_permutation_p(worse, worse, manuals) == 1.0
    monte_carlo = paired_cluster_permutation_p(worse, better, manuals, n_resamples=20, seed=3)
    assert monte_carlo == paired_cluster_permutation_p(worse, better, manuals, n_resamples=20, seed=3)
    assert 0 < monte_carlo <= 1
    low, high = paired_cluster_gap_ci(worse, better, manuals, n_resamples=100)
    assert low == high == 100.0
