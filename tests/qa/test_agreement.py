"""Agreement statistics against hand-built tables: perfect agreement is 1, independent random raters
are about 0, and published textbook examples give their published values."""

from __future__ import annotations

import numpy as np
import pytest

from lego_arta.qa.agreement import agreement, cohen_mean, fleiss, krippendorff_alpha

#: Fleiss (1971), the worked example of Wikipedia's "Fleiss' kappa" article and of statsmodels'
#: tests: 10 subjects, 14 raters, 5 categories (count of raters per category); kappa = 0.210.
FLEISS_1971 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]
#: Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example with missing
#: values (4 observers × 12 units, values 1-5): nominal alpha 0.743, ordinal 0.815.
NAN = np.nan
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


def _ratings_from_counts(table: list[list[int]]) -> np.ndarray:
    """Items × raters scores with the given count of raters per category (rater order is irrelevant)."""
    return np.array([[category for category, count in enumerate(row) for _ in range(count)] for row in table])


@pytest.mark.parametrize("levels", [2, 3])
def test_perfect_agreement_is_one(levels: int) -> None:
    truth = np.arange(30) % levels
    matrix = np.repeat(truth[:, None], 5, axis=1)
    assert agreement(matrix, levels) == {"fleiss_kappa": 1.0, "krippendorff_alpha": 1.0, "cohen_kappa_mean": 1.0}


@pytest.mark.parametrize("levels", [2, 3])
def test_independent_random_raters_agree_about_as_chance(levels: int) -> None:
    matrix = np.random.default_rng(12).integers(0, levels, size=(3000, 5))
    for name, value in agreement(matrix, levels).items():
        assert value is not None and abs(value) < 0.03, f"{name} = {value}"


def test_fleiss_1971_example_gives_its_published_kappa() -> None:
    assert fleiss(_ratings_from_counts(FLEISS_1971), 5) == pytest.approx(0.210, abs=5e-4)


def test_krippendorff_2011_example_gives_its_published_alphas() -> None:
    values = KRIPPENDORFF_2011.T - 1  # our scores start at 0; alpha does not move with a shift
    assert krippendorff_alpha(values, 5, ordinal=False) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(values, 5, ordinal=True) == pytest.approx(0.815, abs=5e-4)


def test_cohen_wikipedia_example_gives_its_published_kappa() -> None:
    """Wikipedia's "Cohen's kappa" example: 50 proposals, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: kappa 0.4."""
    pairs = [(1, 1)] * 20 + [(1, 0)] * 5 + [(0, 1)] * 10 + [(0, 0)] * 15
    assert cohen_mean(np.array(pairs), 2, weighted=False) == pytest.approx(0.4)


def test_cohen_mean_averages_every_rater_pair_and_weights_ordered_grades() -> None:
    from sklearn.metrics import cohen_kappa_score

    matrix = np.random.default_rng(3).integers(0, 3, size=(40, 3))
    pairs = [(0, 1), (0, 2), (1, 2)]
    linear = np.mean([cohen_kappa_score(matrix[:, a], matrix[:, b], weights="linear") for a, b in pairs])
    assert cohen_mean(matrix, 3, weighted=True) == pytest.approx(linear)
    assert agreement(matrix, 3)["cohen_kappa_mean"] == pytest.approx(linear)


def test_undefined_agreement_is_none_not_nan() -> None:
    constant = np.zeros((10, 4), dtype=int)
    assert agreement(constant, 2) == {"fleiss_kappa": None, "krippendorff_alpha": None, "cohen_kappa_mean": None}
    one_rater = np.array([[0], [1], [1]])
    assert agreement(one_rater, 2) == {"fleiss_kappa": None, "krippendorff_alpha": None, "cohen_kappa_mean": None}
