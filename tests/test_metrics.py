"""Metrics against their reference implementations (sacrebleu, rouge-score, scikit-learn, scipy)
and against hand-computed values."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score.rouge_scorer import RougeScorer
from scipy.stats import bootstrap as scipy_bootstrap
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, matthews_corrcoef

import lego_arta.metrics as metrics
from lego_arta.metrics import bootstrap

_VOCAB = (
    "put the red brick on top of blue plate 2x2 attach it to left side find 1 white tile "
    "insert axle into technic beam yellow transparent green slope turn model around"
).split()


def _sentences(rng: np.random.Generator, n: int, punctuate: bool = True) -> list[str]:
    """Random instruction-like sentences, some capitalised and punctuated, some empty."""
    out = []
    for _ in range(n):
        words = list(rng.choice(_VOCAB, size=int(rng.integers(0, 14))))
        sentence = " ".join(words)
        if punctuate and words:
            sentence = sentence.capitalize() + str(rng.choice([".", "!", ",", ""]))
        out.append(sentence)
    return out


def _corpus(seed: int, n: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    references = _sentences(rng, n)
    answers = []
    for ref in references:  # half of the answers borrow words from their reference
        answers.append(ref if rng.random() < 0.2 else _sentences(rng, 1)[0] + " " + " ".join(ref.split()[: int(rng.integers(0, 5))]))
    return answers, references


# --- normaliser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Put it ON the body.", "put it on the body"),
        ("  bright-yellow\tbrick,\n1x2!! ", "bright yellow brick 1x2"),
        ("“Quoted” (brick)", "quoted brick"),
        ("Ｆｕｌｌ ｗｉｄｔｈ", "full width"),
        ("1×2 plate", "1 2 plate"),
        ("snake_case", "snake case"),
        ("", ""),
        ("...", ""),
    ],
)
def test_normalise_text(raw: str, normalised: str) -> None:
    assert metrics.normalise_text(raw) == normalised


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_text_is_idempotent_and_folded(raw: str) -> None:
    once = metrics.normalise_text(raw)
    assert metrics.normalise_text(once) == once
    assert "  " not in once and once == once.strip()


# --- BLEU / ROUGE-1 against the libraries ---------------------------------------------------------


@pytest.mark.parametrize(("seed", "n"), [(0, 1), (1, 7), (2, 50), (3, 200)])
def test_bleu_equals_sacrebleu(seed: int, n: int) -> None:
    answers, references = _corpus(seed, n)
    norm = metrics.normalise_text
    expected = sacrebleu.corpus_bleu([norm(a) for a in answers], [[norm(r) for r in references]]).score
    assert metrics.bleu(answers, references) == pytest.approx(expected, abs=1e-9)
    raw = sacrebleu.corpus_bleu(answers, [references]).score
    assert metrics.bleu(answers, references, normalise=False) == pytest.approx(raw, abs=1e-9)


@pytest.mark.parametrize(("seed", "n"), [(4, 3), (5, 60)])
def test_bleu_statistics_resample_corpus_bleu(seed: int, n: int) -> None:
    answers, references = _corpus(seed, n)
    stats = metrics.bleu_stats(answers, references)
    assert stats.score() == pytest.approx(metrics.bleu(answers, references), abs=1e-9)
    idx = np.random.default_rng(seed).integers(0, n, n)
    norm = metrics.normalise_text
    subset = sacrebleu.corpus_bleu([norm(answers[i]) for i in idx], [[norm(references[i]) for i in idx]]).score
    assert stats.score(idx) == pytest.approx(subset, abs=1e-9)


def test_bleu_per_sample_equals_sentence_bleu() -> None:
    answers, references = _corpus(6, 20)
    norm = metrics.normalise_text
    expected = [sacrebleu.sentence_bleu(norm(a), [norm(r)]).score for a, r in zip(answers, references)]
    assert metrics.bleu_per_sample(answers, references) == pytest.approx(expected)


@pytest.mark.parametrize(("seed", "n"), [(0, 1), (7, 9), (8, 120)])
@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge1_equals_rouge_score(seed: int, n: int, use_stemmer: bool) -> None:
    answers, references = _corpus(seed, n)
    scorer = RougeScorer(["rouge1"], use_stemmer=use_stemmer)
    norm = metrics.normalise_text
    per_sample = [100 * scorer.score(norm(r), norm(a))["rouge1"].fmeasure for a, r in zip(answers, references)]
    assert metrics.rouge1_per_sample(answers, references, use_stemmer=use_stemmer) == pytest.approx(per_sample)
    assert metrics.rouge1(answers, references, use_stemmer=use_stemmer) == pytest.approx(float(np.mean(per_sample)))


def test_rouge1_takes_the_reference_as_target() -> None:
    # precision 1/1, recall 1/4: F1 = 2 * 1 * 0.25 / 1.25 = 40
    assert metrics.rouge1(["brick"], ["put the brick down"]) == pytest.approx(40.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: metrics.bleu([], []),
        lambda: metrics.rouge1([], []),
        lambda: metrics.t_acc([], []),
        lambda: metrics.iou([], []),
        lambda: metrics.valid_box_rate([]),
        lambda: metrics.state_scores([], []),
        lambda: metrics.bleu(["a"], ["a", "b"]),
        lambda: metrics.state_scores(["Yes"], [True, False]),
        lambda: metrics.bleu([None], ["a"]),  # type: ignore[list-item]
    ],
)
def test_empty_or_mismatched_inputs_are_refused(call) -> None:
    with pytest.raises(ValueError):
        call()


# --- T_ACC / E_ACC --------------------------------------------------------------------------------


def test_t_acc_matches_phrases_at_word_boundaries() -> None:
    answers = ["Put the Light-Purple brick on the plate.", "attach the reddish tiles", "nothing"]
    ents = [["light purple", "brick", "technic beam"], ["red", "tile"], []]
    # found: 2 of 3, 0 of 2 ("red" is not in "reddish", "tile" is not "tiles"), and no entities
    assert metrics.t_acc(answers, ents) == pytest.approx(100 * 2 / 5)
    assert metrics.t_acc(answers, ents, average="macro") == pytest.approx((200 / 3 + 0) / 2)
    assert metrics.t_acc_per_sample(answers, ents) == [pytest.approx(200 / 3), 0.0, None]


def test_entities_count_as_listed() -> None:
    assert metrics.t_acc(["a red brick"], [["red", "red", "plate"]]) == pytest.approx(200 / 3)


def test_t_acc_without_any_entities_is_zero() -> None:
    assert metrics.t_acc(["anything"], [[]]) == 0.0


@pytest.mark.parametrize("bad", [[["red", "  .. "]], ["red brick"]])
def test_t_acc_refuses_malformed_entities(bad: list) -> None:
    with pytest.raises(ValueError, match=r"entities\[0\]"):
        metrics.t_acc(["red brick"], bad)


def test_e_acc_reads_the_predicted_label_only() -> None:
    answers = [
        "<p>1 light purple brick</p>{<57><15><82><35>} next to a red plate",
        "a red plate [10, 20, 30, 40]",
        "<p></p> red",
    ]
    ents = [["light purple", "brick", "red"], ["red", "plate"], ["red"]]
    # 2 of 3 (the red outside the label does not count), 2 of 2 (no tag: whole answer), 0 of 1
    assert metrics.e_acc(answers, ents) == pytest.approx(100 * 4 / 6)
    assert metrics.e_acc_per_sample(answers, ents) == [pytest.approx(200 / 3), 100.0, 0.0]


# --- IoU ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth", "expected"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 100.0),  # identical
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),  # disjoint
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges
        ((0, 0, 10, 10), (10, 10, 20, 20), 0.0),  # touching corners
        ((20, 20, 40, 40), (0, 0, 100, 100), 4.0),  # contained: 400 / 10000
        ((0, 0, 10, 10), (5, 5, 15, 15), 100 * 25 / 175),  # partial overlap
        ((0, 0, 20, 10), (10, 0, 30, 10), 100 * 100 / 300),
    ],
)
def test_iou_against_hand_computation(predicted, truth, expected) -> None:
    answer = "<p>x</p>{" + "".join(f"<{v}>" for v in predicted) + "}"
    assert metrics.iou([answer], [truth]) == pytest.approx(expected)
    assert 100 * metrics.box_iou(truth, predicted) == pytest.approx(expected)


def test_iou_counts_missing_boxes_as_zero_and_uses_the_first_box() -> None:
    answers = ["I cannot see it", "<0><0><10><10> and <50><50><60><60>", "[0.0, 0.0, 0.1, 0.1]"]
    truth = [[0, 0, 10, 10]] * 3
    assert metrics.iou_per_sample(answers, truth) == [0.0, 100.0, pytest.approx(100.0)]
    assert metrics.iou(answers, truth) == pytest.approx(200 / 3)
    assert metrics.valid_box_rate(answers) == pytest.approx(200 / 3)


@pytest.mark.parametrize("bad", [[0, 0, 10], [0, 0, 120, 10], [10, 0, 5, 10], [0, 0, float("nan"), 1]])
def test_iou_refuses_malformed_true_boxes(bad: list) -> None:
    with pytest.raises(ValueError, match=r"boxes\[1\]"):
        metrics.iou(["<1><1><2><2>", "<1><1><2><2>"], [[0, 0, 10, 10], bad])


def test_zero_area_true_box_scores_zero() -> None:
    assert metrics.iou(["<0><0><10><10>"], [[5, 5, 5, 5]]) == 0.0


# --- state scores against scikit-learn ------------------------------------------------------------


def _sklearn_state(answers: list[str], labels: list[bool]) -> dict[str, float]:
    """Reference: unreadable answers flipped to the wrong class, then scikit-learn."""
    from lego_arta.answers import parse_yes_no

    parsed = [parse_yes_no(a) for a in answers]
    predicted = [(not y) if p is None else p for p, y in zip(parsed, labels)]
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[False, True]).ravel()
    return {
        "f1": 100 * f1_score(labels, predicted, labels=[False, True], pos_label=True, zero_division=0),
        "tnr": 100 * tn / (tn + fp) if tn + fp else 0.0,
        "fpr": 100 * fp / (fp + tn) if fp + tn else 0.0,
        "invalid_rate": 100 * sum(p is None for p in parsed) / len(parsed),
        "balanced_acc": 100 * balanced_accuracy_score(labels, predicted),
        "mcc": 100 * matthews_corrcoef(labels, predicted),
    }


_ANSWER_POOL = ["Yes.", "No.", "yes", "No, it is not.", "The answer is yes", "maybe", "", "yes and no", "Nope"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 5, 40, 300])
def test_state_scores_equal_sklearn_on_random_labels(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    labels = [bool(v) for v in rng.random(n) < rng.random()]
    answers = [str(a) for a in rng.choice(_ANSWER_POOL, size=n)]
    assert metrics.state_scores(answers, labels) == pytest.approx(_sklearn_state(answers, labels))


@pytest.mark.parametrize(
    ("answers", "labels"),
    [
        (["Yes."] * 5, [True] * 5),  # all positive, all right
        (["Yes."] * 5, [False] * 5),  # all negative, always-yes model
        (["No."] * 4, [False] * 4),
        (["maybe"] * 4, [True, False, True, False]),  # all invalid
        (["maybe"] * 3, [True] * 3),
        (["No", "Yes"], [True, False]),  # all wrong
    ],
)
def test_state_scores_edge_cases_equal_sklearn(answers: list[str], labels: list[bool]) -> None:
    assert metrics.state_scores(answers, labels) == pytest.approx(_sklearn_state(answers, labels))


def test_always_yes_model_has_full_fpr() -> None:
    scores = metrics.state_scores(["Yes."] * 4, [True, False, False, False])
    assert scores == pytest.approx({"f1": 40.0, "tnr": 0.0, "fpr": 100.0, "invalid_rate": 0.0, "balanced_acc": 50.0, "mcc": 0.0})


def test_state_references_may_be_reference_answers() -> None:
    answers = ["Yes.", "No.", "Yes", "perhaps"]
    assert metrics.state_scores(answers, ["Yes.", "No.", "No.", "Yes."]) == metrics.state_scores(answers, [True, False, False, True])
    with pytest.raises(ValueError, match=r"labels\[0\]"):
        metrics.state_scores(["Yes."], ["perhaps"])


def test_state_outcomes_flag_invalid_answers() -> None:
    outcomes = metrics.state_outcomes(["Yes.", "no", "???", "???", "yes"], [True, False, True, False, False])
    assert outcomes == ["tp", "tn", "fn_invalid", "fp_invalid", "fp"]


# --- bootstrap ------------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_paths_agree() -> None:
    rng = np.random.default_rng(3)
    values = list(100.0 * (rng.random(150) < 0.3))
    stats = metrics.mean_stats(values)
    first = metrics.bootstrap_ci(values, n_resamples=300, seed=11)
    assert metrics.bootstrap_ci(values, n_resamples=300, seed=11) == first
    assert metrics.bootstrap_ci(stats, n_resamples=300, seed=11) == first
    as_function = metrics.bootstrap_ci(lambda idx: float(np.mean(np.asarray(values)[idx])), 150, n_resamples=300, seed=11)
    assert as_function == pytest.approx(first)
    assert metrics.bootstrap_ci(values, n_resamples=300, seed=12) != first
    assert first.low <= float(np.mean(values)) <= first.high


@pytest.mark.parametrize("seed", [0, 1])
def test_bootstrap_matches_scipy_percentile_interval(seed: int) -> None:
    values = np.random.default_rng(seed).normal(50.0, 20.0, 400)
    ours = metrics.bootstrap_ci(list(values), n_resamples=4000, seed=seed)
    ref = scipy_bootstrap((values,), np.mean, n_resamples=4000, method="percentile", rng=np.random.default_rng(seed + 100))
    # Independent Monte-Carlo draws: the bounds agree to a fraction of the standard error (1 point).
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.4)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.4)


def test_every_metric_has_a_bootstrap_interval_around_its_score() -> None:
    answers, references = _corpus(9, 80)
    ents = [r.lower().split()[:2] for r in references]
    scene = {
        "t_acc": metrics.t_acc_stats(answers, ents),
        "bleu": metrics.bleu_stats(answers, references),
        "rouge1": metrics.rouge1_stats(answers, references),
    }
    assert {k: s.score() for k, s in scene.items()} == pytest.approx(
        {"t_acc": metrics.t_acc(answers, ents), "bleu": metrics.bleu(answers, references), "rouge1": metrics.rouge1(answers, references)}
    )
    rng = np.random.default_rng(9)
    boxes_true = [[10, 10, 50, 50]] * 80
    box_answers = [f"<p>{r}</p>{{<{int(rng.integers(0, 40))}><10><50><50>}}" if rng.random() < 0.7 else r for r in references]
    obj = {
        "e_acc": metrics.e_acc_stats(box_answers, ents),
        "iou": metrics.iou_stats(box_answers, boxes_true),
        "valid_box_rate": metrics.valid_box_stats(box_answers),
    }
    assert {k: s.score() for k, s in obj.items()} == pytest.approx(
        {
            "e_acc": metrics.e_acc(box_answers, ents),
            "iou": metrics.iou(box_answers, boxes_true),
            "valid_box_rate": metrics.valid_box_rate(box_answers),
        }
    )
    labels = list(rng.random(80) < 0.25)
    state_answers = [str(a) for a in rng.choice(_ANSWER_POOL, size=80)]
    state = metrics.state_stats(state_answers, labels)
    for stats in (scene, obj, state):
        for name, (low, high) in metrics.intervals(stats, n_resamples=200).items():
            assert low <= stats[name].score() + 1e-9 and stats[name].score() <= high + 1e-9, name
    flat = metrics.add_intervals(metrics.state_scores(state_answers, labels), state, n_resamples=200)
    assert set(flat) == {f"{m}{s}" for m in metrics.STATE_METRICS for s in ("", "_low", "_high")}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statistic": lambda idx: 0.0}, "n_samples"),
        ({"statistic": [1.0], "n_resamples": 0}, "n_resamples"),
        ({"statistic": [1.0], "alpha": 1.5}, "alpha"),
        ({"statistic": []}, "at least one"),
        ({"statistic": [1.0, 2.0], "n_samples": 3}, "disagrees"),
        ({"statistic": [50.0, None]}, "per-sample score 1"),
        ({"statistic": [float("nan")]}, "per-sample score 0"),
    ],
)
def test_bootstrap_refuses_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.bootstrap_ci(**kwargs)


# --- packaging and import cost ---------------------------------------------------------------------


def test_plain_import_stays_light() -> None:
    probe = "import sys, lego_arta.metrics; print(sorted(m for m in ('evaluate', 'rouge_score', 'sacrebleu', 'nltk', 'datasets', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_evaluate_module_path_names_shipped_folders() -> None:
    for task in ("scene", "object", "state"):
        folder = f"lego_arta_{task}"
        path = metrics.evaluate_module_path(task)
        assert path == metrics.evaluate_module_path(folder)
        assert path.endswith(folder)
    with pytest.raises(ValueError, match="known tasks"):
        metrics.evaluate_module_path("bleu")


def test_ratio_zero_division() -> None:
    assert bootstrap.ratio(1, 0) == 0.0 and math.isclose(bootstrap.ratio(1, 4), 25.0)
