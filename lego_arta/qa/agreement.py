"""Inter-rater agreement over an items × raters matrix of integer scores, from the field's libraries.

Fleiss' kappa comes from statsmodels (``aggregate_raters`` + ``fleiss_kappa``), Cohen's kappa
from scikit-learn (``cohen_kappa_score``, averaged over rater pairs, linearly weighted for the
ordered 3-level criteria) and Krippendorff's alpha from the ``krippendorff`` package (ordinal for
ordered grades, nominal for the 0/1 criteria; missing scores as NaN). Undefined values (one
rater, or every score the same: the expected disagreement is 0) are ``None``, never NaN in JSON.

>>> perfect = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [1, 1, 1]])
>>> agreement(perfect, levels=3)
{'fleiss_kappa': 1.0, 'krippendorff_alpha': 1.0, 'cohen_kappa_mean': 1.0}
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np


def _defined(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def fleiss(matrix: np.ndarray, levels: int) -> float | None:
    """Fleiss' kappa of complete ratings (items × raters, scores ``0 … levels-1``)."""
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    if matrix.shape[0] < 1 or matrix.shape[1] < 2:
        return None
    table, _ = aggregate_raters(np.asarray(matrix, dtype=int), n_cat=levels)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _defined(fleiss_kappa(table, method="fleiss"))


def krippendorff_alpha(matrix: np.ndarray, levels: int, *, ordinal: bool) -> float | None:
    """Krippendorff's alpha of items × raters scores (NaN marks a missing score)."""
    import krippendorff

    data = np.asarray(matrix, dtype=float).T
    if data.shape[0] < 2 or np.count_nonzero(~np.isnan(data)) < 2:
        return None
    try:
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            value = krippendorff.alpha(
                reliability_data=data, value_domain=list(range(levels)), level_of_measurement="ordinal" if ordinal else "nominal"
            )
    except ValueError:
        return None
    return _defined(value)


def cohen_mean(matrix: np.ndarray, levels: int, *, weighted: bool) -> float | None:
    """Cohen's kappa averaged over every pair of raters (linear weights when ``weighted``); pairs
    where it is undefined (both raters constant) are left out of the mean."""
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import cohen_kappa_score

    values = []
    for a, b in itertools.combinations(range(matrix.shape[1]), 2):
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            kappa = cohen_kappa_score(matrix[:, a], matrix[:, b], labels=list(range(levels)), weights="linear" if weighted else None)
        if math.isfinite(kappa):
            values.append(float(kappa))
    return float(np.mean(values)) if values else None


def agreement(matrix: np.ndarray, levels: int) -> dict[str, float | None]:
    """The three agreement statistics of one criterion; 3+ levels count as ordered grades."""
    matrix = np.asarray(matrix)
    ordered = levels > 2
    return {
        "fleiss_kappa": fleiss(matrix, levels),
        "krippendorff_alpha": krippendorff_alpha(matrix, levels, ordinal=ordered),
        "cohen_kappa_mean": cohen_mean(matrix, levels, weighted=ordered),
    }
