"""Grounding quality of object answers: IoU of the predicted box and the share of usable boxes.

The predicted box is the *first* box :func:`lego_arta.answers.parse_boxes` reads from the answer
(the query asks for one object); an answer without a box scores IoU 0, so IoU already includes
the penalty for format failures and :func:`valid_box_rate` says how much of it that is (the
study printed "/" where no answer held a box).

Answers are read in the run's box convention: ``frames`` gives each answer's
:class:`~lego_arta.answers.BoxFrame` (format and image size); without it, the ``auto`` rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lego_arta.answers import AUTO, FRAME, BoxFrame, parse_boxes
from lego_arta.boxes import FrameBox as Box
from lego_arta.metrics.bootstrap import SampleStats, mean_stats
from lego_arta.metrics.text import check_not_empty, check_same_length


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes as a fraction; 0 when the union is empty.

    >>> box_iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    """
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _truth_box(i: int, box: Sequence[float]) -> Box:
    """Validate a reference box: four finite numbers, ordered, inside the 0–100 frame."""
    values = tuple(float(v) for v in box)
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"boxes[{i}] = {list(box)!r}: expected four finite numbers x1, y1, x2, y2")
    x1, y1, x2, y2 = values
    if not (0.0 <= x1 <= x2 <= FRAME and 0.0 <= y1 <= y2 <= FRAME):
        raise ValueError(f"boxes[{i}] = {list(box)!r}: expected 0 <= x1 <= x2 <= {FRAME:g} and 0 <= y1 <= y2 <= {FRAME:g}")
    return (x1, y1, x2, y2)


def first_box(answer: object, frame: BoxFrame = AUTO) -> Box | None:
    """The first box :func:`~lego_arta.answers.parse_boxes` reads from an answer; ``None`` without one."""
    found = parse_boxes(answer, frame) if isinstance(answer, str) else []
    return found[0][1] if found else None


def answer_frames(answers: Sequence[object], frames: Sequence[BoxFrame] | None) -> Sequence[BoxFrame]:
    """One frame per answer: ``frames`` as given (checked for length), or ``auto`` for every answer."""
    if frames is None:
        return [AUTO] * len(answers)
    check_same_length(answers, frames, "box frames")
    return frames


def iou_per_sample(answers: Sequence[str], boxes: Sequence[Sequence[float]], frames: Sequence[BoxFrame] | None = None) -> list[float]:
    """IoU in percent of each answer's first box with its true box; 0 without a box."""
    check_same_length(answers, boxes, "boxes")
    scores = []
    for i, (answer, truth, frame) in enumerate(zip(answers, boxes, answer_frames(answers, frames))):
        predicted = first_box(answer, frame)
        true_box = _truth_box(i, truth)
        scores.append(100.0 * box_iou(predicted, true_box) if predicted is not None else 0.0)
    return scores


def iou(answers: Sequence[str], boxes: Sequence[Sequence[float]], frames: Sequence[BoxFrame] | None = None) -> float:
    """Mean IoU in percent (0–100 frame), answers without a box counting 0.

    >>> iou(["<p>brick</p>{<0><0><10><10>}", "no idea"], [[0, 0, 10, 10], [0, 0, 10, 10]])
    50.0
    """
    return float(np.mean(iou_per_sample(answers, boxes, frames)))


def iou_stats(answers: Sequence[str], boxes: Sequence[Sequence[float]], frames: Sequence[BoxFrame] | None = None) -> SampleStats:
    """Bootstrap statistics of the mean IoU."""
    return mean_stats(iou_per_sample(answers, boxes, frames))


def valid_box_per_sample(answers: Sequence[str], frames: Sequence[BoxFrame] | None = None) -> list[bool]:
    """Whether each answer holds at least one usable box."""
    return [first_box(answer, frame) is not None for answer, frame in zip(answers, answer_frames(answers, frames))]


def valid_box_rate(answers: Sequence[str], frames: Sequence[BoxFrame] | None = None) -> float:
    """Share of answers with a usable box, in percent.

    >>> valid_box_rate(["<20><61><30><78>", "somewhere left"])
    50.0
    """
    check_not_empty(answers)
    return float(100.0 * np.mean(valid_box_per_sample(answers, frames)))


def valid_box_stats(answers: Sequence[str], frames: Sequence[BoxFrame] | None = None) -> SampleStats:
    """Bootstrap statistics of the valid-box rate."""
    return mean_stats([100.0 * valid for valid in valid_box_per_sample(answers, frames)])
