"""No cheap image statistic may tell a state's positive from its negatives (SPEC §3, state task).

A negative is the previous step's image with the step's item pasted at a wrong place. If that image
kept its own highlight, every negative would show two highlighted items and a positive one, and
counting the boundary colour's pixels would answer Yes/No without looking at the geometry. Each
statistic below is scored by the best single threshold chosen on the same rows (an upper bound on
what a threshold can learn); chance is 0.5.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.dataset.built_folder import all_rows, decode, truth_steps

RGB = tuple[int, int, int]

#: A pixel "has the boundary colour" within this RGB (Euclidean) distance of it.
NEAR_COLOUR_DISTANCE = 40.0
#: Looser: the boundary hue (±degrees) at any visible saturation, which a tint toward it also shows.
LOOSE_HUE_DEGREES = 30.0
LOOSE_SATURATION_SHARE = 0.15
LOOSE_VALUE_SHARE = 0.25
#: Best-threshold balanced accuracy allowed (before removing the previous highlight: ~0.79 on
#: the boundary-colour count, ~0.60 on the loose-hue count).
MAX_BALANCED_ACCURACY = 0.6


def best_threshold_balanced_accuracy(values: np.ndarray, labels: np.ndarray) -> float:
    """Highest ``(TPR + TNR) / 2`` of any rule ``value >= t`` or ``value < t``.

    >>> best_threshold_balanced_accuracy(np.array([1, 2, 3, 4]), np.array([False, False, True, True]))
    1.0
    >>> best_threshold_balanced_accuracy(np.array([1, 1, 1, 1]), np.array([False, True, False, True]))
    0.5
    """
    order = np.argsort(values, kind="stable")
    ordered, positive = values[order], labels[order].astype(bool)
    # rule "value >= t" for t at each distinct value: rows from the first of that value on are Yes
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    positives_below = np.r_[0, np.cumsum(positive)][starts]
    negatives_below = np.r_[0, np.cumsum(~positive)][starts]
    tpr = 1.0 - positives_below / positive.sum()
    tnr = negatives_below / (~positive).sum()
    score = 0.5 * (tpr + tnr)
    return float(max(score.max(), (1.0 - score).max()))


def _hsv(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV_FULL).astype(np.float64)


def near_colour_pixels(image: np.ndarray, colour: RGB) -> int:
    distance = np.sqrt(((image.astype(np.float64) - np.asarray(colour, np.float64)) ** 2).sum(axis=2))
    return int((distance <= NEAR_COLOUR_DISTANCE).sum())


def loose_hue_pixels(image: np.ndarray, colour: RGB) -> int:
    hsv, target = _hsv(image), _hsv(np.uint8([[colour]]))[0, 0]
    gap = np.abs(hsv[..., 0] - target[0])
    gap = np.minimum(gap, 256 - gap) * (360.0 / 256.0)
    return int(
        (
            (gap <= LOOSE_HUE_DEGREES)
            & (hsv[..., 1] >= LOOSE_SATURATION_SHARE * target[1])
            & (hsv[..., 2] >= LOOSE_VALUE_SHARE * target[2])
        ).sum()
    )


def mean_saturation(image: np.ndarray, colour: RGB) -> float:
    return float(_hsv(image)[..., 1].mean())


STATISTICS = {"near_colour_pixels": near_colour_pixels, "loose_hue_pixels": loose_hue_pixels, "mean_saturation": mean_saturation}


@pytest.fixture(scope="module")
def state_statistics(built_dataset: Path, synthetic_raw: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every statistic of every state row's image, and the rows' labels (True: positive)."""
    values: dict[str, list[float]] = {name: [] for name in STATISTICS}
    labels = []
    for row in all_rows(built_dataset, "state"):
        colour = truth_steps(synthetic_raw, row["manual_id"])[row["session"], row["step_num"]].boundary
        assert colour is not None, (row["manual_id"], row["session"], row["step_num"])
        image = decode(row["image"]["bytes"])
        for name, statistic in STATISTICS.items():
            values[name].append(statistic(image, colour))
        labels.append(bool(row["label"]))
    return {name: np.asarray(v, np.float64) for name, v in values.items()}, np.asarray(labels)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_no_image_statistic_separates_positives_from_negatives(
    state_statistics: tuple[dict[str, np.ndarray], np.ndarray], name: str
) -> None:
    values, labels = state_statistics
    assert labels.sum() >= 20 and (~labels).sum() >= 20, "too few state rows to measure"
    accuracy = best_threshold_balanced_accuracy(values[name], labels)
    assert accuracy <= MAX_BALANCED_ACCURACY, (
        f"{name} alone tells positives from negatives with balanced accuracy {accuracy:.3f} "
        f"(median positive {np.median(values[name][labels]):.1f}, negative {np.median(values[name][~labels]):.1f})"
    )


def test_the_threshold_score_on_small_cases() -> None:
    labels = np.array([False, False, True, True])
    assert best_threshold_balanced_accuracy(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 1.0
    assert best_threshold_balanced_accuracy(np.array([4.0, 3.0, 2.0, 1.0]), labels) == 1.0  # either direction
    assert best_threshold_balanced_accuracy(np.array([1.0, 1.0, 1.0, 1.0]), labels) == 0.5
    # 1 of 2 positives above every negative: TPR 0.5, TNR 1
    assert best_threshold_balanced_accuracy(np.array([1.0, 2.0, 0.0, 3.0]), labels) == 0.75
