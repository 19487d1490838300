"""Seeded percentile-bootstrap confidence intervals for every metric, corpus-level ones included.

A benchmark score over a few thousand answers moves by points between resamples; reporting the
interval keeps readers from ranking models on noise. Corpus BLEU and micro-averaged rates are not
means of per-sample scores, so resampling works on *sufficient statistics*: each metric exposes a
:class:`SampleStats` (one row of counts per sample plus the function that turns column sums into
the metric), and a resample is a weighted sum of rows. Anything else can be bootstrapped through a
plain function of an index array.

Rows are not independent draws: the rows of one manual share images, objects and states (4
object pairs per object, 4 state pairs per state), so resampling rows makes intervals too narrow.
Every interval the toolkit reports is a **cluster bootstrap**: pass ``clusters`` (the manual of
each row) and a resample draws manuals with replacement, each row weighted by its manual's draw
count (:data:`RESAMPLE_UNIT`). Without ``clusters`` every row is its own cluster.

Same inputs and seed give the same interval: resamples are drawn from
``numpy.random.default_rng(seed)``, one ``integers(0, k, k)`` draw over the ``k`` clusters per
resample, whatever the kind of statistic, so the three call styles agree on a shared seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: Resamples for a reported interval; 1000 keeps the Monte-Carlo error of a 95% bound well below 0.5 points.
DEFAULT_RESAMPLES = 1000
#: Two-sided error rate: 0.05 gives a 95% interval.
DEFAULT_ALPHA = 0.05
#: What the toolkit's intervals resample (recorded beside every interval it writes).
RESAMPLE_UNIT = "manual"

IndexStatistic = Callable[[np.ndarray], float]


class Interval(NamedTuple):
    """A confidence interval in the metric's unit (percent); unpacks as ``low, high``."""

    low: float
    high: float


@dataclass(frozen=True, eq=False)
class SampleStats:
    """Per-sample sufficient statistics of one metric.

    ``values`` has one row per sample; ``aggregate`` maps the column sums of any multiset of rows
    to the metric in percent. The metric over all samples is ``aggregate(values.sum(axis=0))``.

    >>> stats = mean_stats([100.0, 0.0, 50.0])
    >>> stats.score()
    50.0
    >>> stats.score(np.array([0, 0, 2]))
    83.33333333333333
    """

    values: np.ndarray
    aggregate: Callable[[np.ndarray], float]
    #: For a metric without sufficient statistics (AUROC): the metric of ``values`` rows under
    #: per-row ``weights`` (a resample's draw counts); ``aggregate`` is then unused.
    weighted_rows: Callable[[np.ndarray, np.ndarray], float] | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2:
            raise ValueError(f"SampleStats.values must be 2-D (samples x statistics), got shape {self.values.shape}")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def score(self, indices: np.ndarray | None = None) -> float:
        """The metric over all samples, or over ``indices`` (repeats count once per repeat)."""
        if indices is None:
            return self.weighted(np.ones(len(self)))
        return self.weighted(np.bincount(indices, minlength=len(self)).astype(np.float64))

    def weighted(self, weights: np.ndarray, values: np.ndarray | None = None) -> float:
        """The metric with each row counted ``weights[i]`` times (over other ``values`` rows of the same shape when given)."""
        rows = self.values if values is None else values
        if self.weighted_rows is not None:
            return float(self.weighted_rows(rows, np.asarray(weights, dtype=np.float64)))
        return float(self.aggregate(np.asarray(weights, dtype=np.float64) @ rows))


def ratio(numerator: float, denominator: float) -> float:
    """``100 * numerator / denominator``, 0 when the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    return 100.0 * numerator / denominator if denominator else 0.0


def mean_stats(per_sample: Sequence[float]) -> SampleStats:
    """Statistics of a plain mean of per-sample scores (already in percent)."""
    bad = next((i for i, v in enumerate(per_sample) if v is None or not np.isfinite(v)), None)
    if bad is not None:
        raise ValueError(
            f"per-sample score {bad} is {per_sample[bad]!r}: a mean needs a number per sample"
            " (bootstrap T_ACC/E_ACC through t_acc_stats/e_acc_stats instead)"
        )
    values = np.column_stack([np.asarray(per_sample, dtype=np.float64), np.ones(len(per_sample))])
    return SampleStats(values.reshape(len(per_sample), 2), lambda sums: sums[0] / sums[1] if sums[1] else 0.0)


def bootstrap_ci(
    statistic: SampleStats | IndexStatistic | Sequence[float],
    n_samples: int | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    clusters: Sequence[str] | None = None,
) -> Interval:
    """Percentile-bootstrap ``(low, high)`` interval of a metric, resampling ``clusters`` when given.

    ``statistic`` is one of

    - a :class:`SampleStats` (what every ``*_stats`` function in :mod:`lego_arta.metrics` returns),
    - per-sample scores in percent (the interval of their mean),
    - a function of an index array (samples drawn with replacement) returning the metric; then
      ``n_samples`` is required. Use it for metrics without sufficient statistics.

    ``clusters`` gives each sample's cluster (its manual); a resample then draws clusters.

    >>> low, high = bootstrap_ci([0.0, 100.0] * 50, n_resamples=200, seed=1)
    >>> round(low), round(high)
    (40, 59)
    >>> bootstrap_ci([0.0, 100.0] * 50, n_resamples=200, seed=1, clusters=["a", "b"] * 50)
    Interval(low=0.0, high=100.0)
    """
    if isinstance(statistic, SampleStats):
        n = len(statistic)
        score: IndexStatistic = statistic.score
    elif callable(statistic):
        if n_samples is None:
            raise ValueError("bootstrap_ci over a function of indices needs n_samples")
        n = n_samples
        score = statistic
    else:
        stats = mean_stats(statistic)
        n = len(stats)
        score = stats.score
    if n_samples is not None and n_samples != n:
        raise ValueError(f"n_samples={n_samples} disagrees with the {n} samples of the statistic")
    if n < 1:
        raise ValueError("bootstrap_ci needs at least one sample")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    index = cluster_index(clusters, n)
    if isinstance(statistic, SampleStats):
        table = statistic
        draws = (table.weighted(weights) for weights in cluster_weights(index, n_resamples, seed))
    else:
        rows = np.arange(n)
        draws = (score(np.repeat(rows, weights)) for weights in cluster_weights(index, n_resamples, seed))
    return _percentiles(np.array([float(value) for value in draws]), alpha)


def _percentiles(draws: np.ndarray, alpha: float) -> Interval:
    """The two-sided percentile interval of bootstrap draws; draws where the metric is undefined
    (NaN: a resample without both classes, for AUROC) are left out, and none defined gives NaN."""
    defined = draws[np.isfinite(draws)]
    if not len(defined):
        return Interval(math.nan, math.nan)
    low, high = np.quantile(defined, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(low), float(high))


def cluster_index(clusters: Sequence[str] | None, n: int) -> np.ndarray:
    """Each sample's cluster as an integer ``0..k-1`` (clusters in sorted order); every sample its
    own cluster without ``clusters``."""
    if clusters is None:
        return np.arange(n)
    if len(clusters) != n:
        raise ValueError(f"{len(clusters)} cluster labels for {n} samples: give one per sample")
    return np.unique(np.asarray(clusters, dtype=str), return_inverse=True)[1].reshape(-1)


def cluster_weights(index: np.ndarray, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Per resample, each sample's weight: how often its cluster was drawn (``k`` draws of ``k``)."""
    rng = np.random.default_rng(seed)
    k = int(index.max()) + 1 if len(index) else 0
    for _ in range(n_resamples):
        yield np.bincount(rng.integers(0, k, k), minlength=k)[index]


def intervals(
    stats: Mapping[str, SampleStats],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    clusters: Sequence[str] | None = None,
) -> dict[str, Interval]:
    """Bootstrap interval of every metric in ``stats`` (each from the same seed, so the
    metrics of one task are resampled over the same draws; over ``clusters`` when given)."""
    return {name: bootstrap_ci(table, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=clusters) for name, table in stats.items()}


def add_intervals(
    scores: Mapping[str, float],
    stats: Mapping[str, SampleStats],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    clusters: Sequence[str] | None = None,
) -> dict[str, float]:
    """``scores`` plus flat ``<metric>_low`` / ``<metric>_high`` keys, the shape JSON result
    files and ``evaluate`` outputs want."""
    flat = dict(scores)
    for name, (low, high) in intervals(stats, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=clusters).items():
        flat[f"{name}_low"] = low
        flat[f"{name}_high"] = high
    return flat


def _check_paired(first: SampleStats, second: SampleStats, clusters: Sequence[str]) -> None:
    if len(first) != len(second) or len(first) != len(clusters):
        raise ValueError(f"paired samples must align: {len(first)} and {len(second)} rows, {len(clusters)} cluster labels")


def paired_cluster_gap_ci(
    first: SampleStats,
    second: SampleStats,
    clusters: Sequence[str],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> Interval:
    """Interval of ``second.score() - first.score()`` over the same samples, resampling whole clusters.

    Rows of one manual share images and objects, so they are not independent draws: resampling
    rows makes intervals too narrow. Each resample draws clusters (manuals) with replacement and
    weights every row by its cluster's draw count, on both sides at once (paired).

    >>> a = mean_stats([0.0, 0.0, 100.0, 100.0]); b = mean_stats([100.0, 100.0, 100.0, 100.0])
    >>> paired_cluster_gap_ci(a, b, ["m1", "m1", "m2", "m2"], n_resamples=200)
    Interval(low=0.0, high=100.0)
    """
    _check_paired(first, second, clusters)
    index = cluster_index(clusters, len(first))
    gaps = []
    for draw in cluster_weights(index, n_resamples, seed):
        weights = draw.astype(np.float64)
        gaps.append(second.weighted(weights) - first.weighted(weights))
    return _percentiles(np.asarray(gaps), alpha)


#: Gaps within this of the observed one count as "as large" (float noise of equal sums).
_GAP_TOLERANCE = 1e-9


def paired_cluster_permutation_p(
    first: SampleStats,
    second: SampleStats,
    clusters: Sequence[str],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> float:
    """Two-sided p-value of ``second.score() - first.score()`` under "A and B are exchangeable".

    A permutation swaps the A and B answers of whole clusters (manuals): each manual's rows move
    together, as in the cluster bootstrap, so a model's correlated answers within a manual are never
    split. With ``2**k <= n_resamples`` for ``k`` manuals every swap pattern is enumerated (an exact
    test; its smallest p-value is ``2 / 2**k``); otherwise ``n_resamples`` seeded random patterns,
    ``p = (1 + as large) / (1 + n_resamples)``.

    >>> a = mean_stats([0.0] * 8); b = mean_stats([100.0] * 8)
    >>> paired_cluster_permutation_p(a, b, ["m1", "m1", "m2", "m2", "m3", "m3", "m4", "m4"])
    0.125
    >>> paired_cluster_permutation_p(a, a, ["m1"] * 4 + ["m2"] * 4)
    1.0
    """
    _check_paired(first, second, clusters)
    if first.values.shape != second.values.shape:
        raise ValueError(f"paired statistics differ in shape: {first.values.shape} and {second.values.shape}")
    index = cluster_index(clusters, len(first))
    k = int(index.max()) + 1 if len(index) else 0

    ones = np.ones(len(first))

    def gap(flip: np.ndarray) -> float:
        swapped = flip[index][:, None]
        a = np.where(swapped, second.values, first.values)
        b = np.where(swapped, first.values, second.values)
        return second.weighted(ones, b) - first.weighted(ones, a)

    observed = abs(gap(np.zeros(k, dtype=bool)))
    if 2**k <= n_resamples:
        patterns = (np.array([(code >> bit) & 1 for bit in range(k)], dtype=bool) for code in range(2**k))
        gaps = np.array([abs(gap(flip)) for flip in patterns])
        return float(np.mean(gaps >= observed - _GAP_TOLERANCE))
    rng = np.random.default_rng(seed)
    larger = sum(abs(gap(rng.random(k) < 0.5)) >= observed - _GAP_TOLERANCE for _ in range(n_resamples))
    return float((1 + larger) / (1 + n_resamples))
