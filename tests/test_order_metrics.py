"""Order-task metrics: accuracy, symmetric-pair accuracy and flip consistency, and the order-verdict parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.answers import parse_attached_removed
from lego_arta.harness.task_docs import aggregate, process_results
from lego_arta.metrics import bootstrap_ci, get_metric


def _pairs(n: int) -> tuple[list[bool], list[dict]]:
    labels = [attached for _ in range(n) for attached in (True, False)]
    return labels, [{"id": f"p{i // 2}", "attached": label} for i, label in enumerate(labels)]


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Attached.", True),
        ("removed", False),
        ("The part was added.", True),
        ("It was taken off, removed.", False),
        ("Attached or Removed?", None),
        ("", None),
        ("Yes.", None),
        ("I think so. Removed!", False),
    ],
)
def test_the_order_verdict_parser(text: str, verdict: bool | None) -> None:
    assert parse_attached_removed(text) is verdict


def test_hand_counted_scores() -> None:
    labels, targets = _pairs(4)
    # pair 0 both right; pair 1 both "Attached"; pair 2 both wrong (flipped the wrong way); pair 3 one unreadable
    answers = ["Attached", "Removed", "Attached", "Attached", "Removed", "Attached", "Attached", "hmm"]
    assert get_metric("order_accuracy").score(answers, labels) == 100 * 4 / 8
    assert get_metric("order_pair_accuracy").score(answers, targets) == 100 * 1 / 4
    assert get_metric("order_flip_consistency").score(answers, targets) == 100 * 2 / 4
    assert get_metric("order_pair_accuracy").per_sample(answers, targets) == [100.0, 100.0] + [0.0] * 6


@given(st.integers(1, 30), st.sampled_from(["Attached.", "Removed."]))
def test_a_constant_answer_scores_50_and_never_flips(n: int, answer: str) -> None:
    labels, targets = _pairs(n)
    answers = [answer] * (2 * n)
    assert get_metric("order_accuracy").score(answers, labels) == 50.0
    assert get_metric("order_pair_accuracy").score(answers, targets) == 0.0
    assert get_metric("order_flip_consistency").score(answers, targets) == 0.0


@given(st.lists(st.sampled_from(["Attached.", "Removed.", "?"]), min_size=2, max_size=40).filter(lambda a: len(a) % 2 == 0))
def test_pair_accuracy_never_exceeds_accuracy_or_flip_consistency(answers: list[str]) -> None:
    labels, targets = _pairs(len(answers) // 2)
    pair = get_metric("order_pair_accuracy").score(answers, targets)
    assert pair <= get_metric("order_accuracy").score(answers, labels) + 1e-9
    assert pair <= get_metric("order_flip_consistency").score(answers, targets) + 1e-9


def test_a_malformed_pair_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="pair 'p'"):
        get_metric("order_pair_accuracy").score(["Attached"] * 2, [{"id": "p", "attached": True}] * 2)
    with pytest.raises(ValueError, match="expected a mapping"):
        get_metric("order_flip_consistency").score(["Attached"], [True])


def test_harness_aggregation_scores_pair_metrics_over_all_records() -> None:
    """Records are computed one answer at a time; the pair metrics still see both orders."""
    labels, targets = _pairs(3)
    answers = ["Attached", "Removed", "Attached", "Attached", "Removed", "Attached"]
    docs = [{"id": f"r{i}", "label": label, "pair": target} for i, (label, target) in enumerate(zip(labels, targets))]
    records = [process_results("order", doc, [answer])["order_pair_accuracy"] for doc, answer in zip(docs, answers)]
    assert aggregate("order_accuracy", records) == pytest.approx(100 * 3 / 6)
    assert aggregate("order_pair_accuracy", records) == pytest.approx(100 / 3)
    assert aggregate("order_flip_consistency", records) == pytest.approx(200 / 3)


def test_pair_statistics_bootstrap() -> None:
    labels, targets = _pairs(20)
    answers = ["Attached", "Removed"] * 10 + ["Attached", "Attached"] * 10
    low, high = bootstrap_ci(get_metric("order_pair_accuracy").stats(answers, targets), n_resamples=200, seed=0)
    assert low < 50.0 < high
