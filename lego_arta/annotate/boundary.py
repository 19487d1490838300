"""The highlight ("boundary") colour of a session, and the item it outlines (SPEC §3, state task).

In highlighted manuals the parts added by an assembly step are outlined (and tinted) in one vivid
colour per session. The study recovered it from pixels: K-means (5 clusters) per image → candidate
colours, HSV filtering for saturated ones, colours recurring across the session's steps, a vote.

Saturation alone cannot tell a highlight from a vivid part (real bright orange parts are as
saturated as any highlight), so each step votes for its candidate that is most *new*: the highlight
moves to the newly added parts every step, while a part colour stays where it was. With a fixed
camera per session (as in the manuals) a part colour's pixels are mostly the same as one step
before; the highlight's are mostly not.

>>> import numpy as np
>>> vote = session_boundary([np.full((20, 20, 3), 230, np.uint8)] * 3)
>>> vote.bound_color is None, vote.support
(True, 0.0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController

from lego_arta.annotate.background import as_rgb
from lego_arta.annotate.colours import to_lab
from lego_arta.study import KMEANS_CLUSTERS

RGB = tuple[int, int, int]

#: K-means clusters per image (the study's 5).
CLUSTERS = KMEANS_CLUSTERS
#: K-means restarts; fixed so results never depend on library defaults.
KMEANS_INIT = 3
#: Pixels fed to K-means per image at most (a deterministic stride subsample).
MAX_SAMPLES = 20_000
#: HSV filter (OpenCV 0–255 scales): a candidate highlight is saturated and bright.
MIN_SATURATION = 150
MIN_VALUE = 150
#: A cluster's colour is the median of its most vivid pixels, this share of them.
PURE_SHARE = 0.25
#: A candidate must cover at least this many pixels of its image (a real outline, not a speck).
MIN_CANDIDATE_PIXELS = 12
#: Two colours within this CIE Lab distance are the same candidate.
SAME_COLOUR_DE = 12.0
#: Per step, the candidate whose pixels are most new wins that step's vote, if at least this new.
MIN_NOVELTY = 0.5
#: The session's colour must recur in, and win the vote of, at least this share of its steps.
MIN_RECURRENCE = 0.5
MIN_SUPPORT = 0.5
#: ...and win at least this many votes: one image alone cannot show a colour recurring (the first
#: step has nothing to compare with, so every colour in it looks new).
MIN_VOTES = 2
#: Default RGB distance (per channel) of outline pixels from the boundary colour.
OUTLINE_TOLERANCE = 40
#: Antialiased outline pixels: same hue within this many degrees, and this share of the outline
#: colour's saturation and value.
OUTLINE_HUE_DEGREES = 20.0
OUTLINE_PURITY = 0.6
#: Gaps in an outline up to this many pixels are closed before the enclosed item is filled.
OUTLINE_GAP_PX = 2


@dataclass(frozen=True)
class BoundaryVote:
    """A session's candidate highlight colours, the voted colour (None: not highlighted) and the
    share of the session's steps that voted for the leading candidate (also when it was not
    accepted, so a near miss shows)."""

    color_list: tuple[RGB, ...]
    bound_color: RGB | None
    support: float


@dataclass(frozen=True)
class SaturatedPixels:
    """The pixels of one image passing the HSV filter: flat positions, RGB and CIE Lab."""

    positions: np.ndarray
    rgb: np.ndarray
    lab: np.ndarray

    @staticmethod
    def of(image: np.ndarray) -> SaturatedPixels:
        rgb = as_rgb(image)
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV).reshape(-1, 3)
        positions = np.flatnonzero((hsv[:, 1] >= MIN_SATURATION) & (hsv[:, 2] >= MIN_VALUE))
        pixels = rgb.reshape(-1, 3)[positions]
        return SaturatedPixels(positions=positions, rgb=pixels, lab=to_lab(pixels))


def _unique_colours(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct colours ``(n, 3)`` uint8 and their counts, sorted (fast: packed into one integer)."""
    packed = (pixels[:, 0].astype(np.int32) << 16) | (pixels[:, 1].astype(np.int32) << 8) | pixels[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    colours = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1).astype(np.uint8)
    return colours, counts


def _purest_colour(colours: np.ndarray, counts: np.ndarray) -> RGB:
    """Median of a cluster's most vivid pixels (the top :data:`PURE_SHARE` by HSV S×V).

    An outline drawn in one colour keeps it exactly on clean images; antialiasing mixes its
    edge pixels with their neighbours, which only makes them less vivid, so the most vivid pixels
    are the outline's own colour.
    """
    hsv = cv2.cvtColor(colours.reshape(-1, 1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float64)
    vivid = hsv[:, 1] * hsv[:, 2]
    order = np.lexsort((colours[:, 2], colours[:, 1], colours[:, 0], -vivid))
    cumulative = np.cumsum(counts[order])
    keep = order[: int(np.searchsorted(cumulative, PURE_SHARE * cumulative[-1])) + 1]
    expanded = np.repeat(colours[keep], counts[keep], axis=0)
    median = np.median(expanded, axis=0)
    return (int(round(median[0])), int(round(median[1])), int(round(median[2])))


def image_candidates(image: np.ndarray | SaturatedPixels, *, clusters: int = CLUSTERS, seed: int = 0) -> list[RGB]:
    """Candidate highlight colours of one image: K-means over its saturated pixels (weighted distinct
    colours), each cluster represented by its most frequent exact colour, kept when that colour
    passes the HSV filter."""
    saturated = image if isinstance(image, SaturatedPixels) else SaturatedPixels.of(image)
    pixels = saturated.rgb
    if len(pixels) < MIN_CANDIDATE_PIXELS:
        return []
    stride = max(1, len(pixels) // MAX_SAMPLES)
    colours, counts = _unique_colours(pixels[::stride])
    k = min(clusters, len(colours))
    from sklearn.cluster import KMeans  # seconds to import: a command that never clusters (eval, score, --help) skips it

    model = KMeans(n_clusters=k, n_init=KMEANS_INIT, random_state=seed)
    labels = model.fit_predict(to_lab(colours).astype(np.float64), sample_weight=counts.astype(np.float64))
    candidates: list[RGB] = []
    for cluster in range(k):
        members, weights = colours[labels == cluster], counts[labels == cluster]
        if weights.sum() * stride < MIN_CANDIDATE_PIXELS:
            continue
        colour = _purest_colour(members, weights)
        hsv = cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2HSV)[0, 0]
        if hsv[1] >= MIN_SATURATION and hsv[2] >= MIN_VALUE:
            candidates.append(colour)
    return sorted(candidates)


def vividness(colour: RGB) -> float:
    """HSV saturation × value in 0–1: highlights are drawn in the most vivid colours."""
    hsv = cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2HSV)[0, 0]
    return float(hsv[1]) / 255.0 * float(hsv[2]) / 255.0


def _near(lab: np.ndarray, colour: RGB, max_de: float = SAME_COLOUR_DE) -> np.ndarray:
    target = to_lab(np.array([colour], dtype=np.uint8))[0]
    # The three squares summed element-wise, in the order a reduction over the last axis adds them
    # (numpy's reduction over a 3-wide axis is several times slower on every saturated pixel).
    diff = lab - target
    return diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1] + diff[..., 2] * diff[..., 2] <= max_de * max_de


def novelty(image: np.ndarray, previous: np.ndarray | None, colour: RGB) -> float:
    """Share of ``colour``'s pixels in ``image`` that were not that colour one step before.

    Only saturated pixels count (the HSV filter). 1.0 without a previous image of the same size.
    """
    now = SaturatedPixels.of(image)
    before = None if previous is None or as_rgb(previous).shape != as_rgb(image).shape else _lab_at(previous, now.positions)
    return _novelty(now, before, colour)


def _lab_at(image: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return to_lab(as_rgb(image).reshape(-1, 3)[positions])


def _novelty(now: SaturatedPixels, before_lab: np.ndarray | None, colour: RGB) -> float:
    mine = _near(now.lab, colour)
    if not mine.any():
        return 0.0
    if before_lab is None:
        return 1.0
    return float((mine & ~_near(before_lab, colour)).sum() / mine.sum())


def _group(colours: Sequence[RGB]) -> list[list[RGB]]:
    """Greedy grouping of colours within ``SAME_COLOUR_DE`` of a group's first colour, in sorted order."""
    groups: list[list[RGB]] = []
    for colour in sorted(colours):
        lab = to_lab(np.array([colour], dtype=np.uint8))[0]
        for group in groups:
            head = to_lab(np.array([group[0]], dtype=np.uint8))[0]
            if np.sqrt(((lab - head) ** 2).sum()) <= SAME_COLOUR_DE:
                group.append(colour)
                break
        else:
            groups.append([colour])
    return groups


@lru_cache(maxsize=1)
def _thread_pools() -> ThreadpoolController:
    """The process's native thread pools (BLAS, OpenMP), found once: looking them up on every
    session took longer than voting a small session."""
    return ThreadpoolController()


def session_boundary(
    step_images: Sequence[np.ndarray],
    *,
    clusters: int = CLUSTERS,
    seed: int = 0,
) -> BoundaryVote:
    """Vote the highlight colour of a session from its assembly images, in step order.

    ``color_list``: every candidate colour seen (sorted); ``bound_color``: the colour most steps
    voted for when it recurs in and wins at least half of the steps (and at least
    :data:`MIN_VOTES`), else None (not highlighted).
    """
    if not step_images:
        return BoundaryVote(color_list=(), bound_color=None, support=0.0)
    saturated = [SaturatedPixels.of(image) for image in step_images]
    with _thread_pools().limit(limits=1):  # tiny K-means problems: thread start-up would dominate
        per_image = [image_candidates(pixels, clusters=clusters, seed=seed) for pixels in saturated]
    every = sorted({c for cands in per_image for c in cands})
    groups = _group(every)
    group_of = {colour: index for index, group in enumerate(groups) for colour in group}
    votes: Counter[int] = Counter()
    voted_colours: dict[int, Counter[RGB]] = {}
    recurrence: Counter[int] = Counter()
    for index, candidates in enumerate(per_image):
        if not candidates:
            continue
        now = saturated[index]
        same_size = index > 0 and as_rgb(step_images[index - 1]).shape == as_rgb(step_images[index]).shape
        before = _lab_at(step_images[index - 1], now.positions) if same_size else None
        scored = sorted(
            ((_novelty(now, before, c), vividness(c), c) for c in candidates),
            key=lambda item: (-item[0] * item[1], item[2]),
        )
        for group in {group_of[c] for c in candidates}:
            recurrence[group] += 1
        if scored and scored[0][0] >= MIN_NOVELTY:
            group = group_of[scored[0][2]]
            votes[group] += 1
            voted_colours.setdefault(group, Counter())[scored[0][2]] += 1
    steps = len(step_images)
    if not votes:
        return BoundaryVote(color_list=tuple(every), bound_color=None, support=0.0)
    winner, count = min(votes.items(), key=lambda item: (-item[1], item[0]))
    support = count / steps
    if count < MIN_VOTES or support < MIN_SUPPORT or recurrence[winner] / steps < MIN_RECURRENCE:
        return BoundaryVote(color_list=tuple(every), bound_color=None, support=support)
    colour = min(voted_colours[winner].items(), key=lambda item: (-item[1], item[0]))[0]
    return BoundaryVote(color_list=tuple(every), bound_color=colour, support=support)


def boundary_mask(image: np.ndarray, colour: RGB, *, tolerance: int = OUTLINE_TOLERANCE) -> np.ndarray:
    """Bool ``H×W``: outline pixels of ``colour``.

    A pixel is outline when every RGB channel is within ``tolerance`` of the colour, or, for a
    chromatic colour, when it has the colour's hue (±:data:`OUTLINE_HUE_DEGREES`) and at least
    :data:`OUTLINE_PURITY` of its saturation and value: antialiasing mixes outline pixels with their
    neighbours, which keeps the hue but dulls the colour. Both tests are boxes in a colour space
    (RGB, then OpenCV's 0-255 HSV with the hue circle cut into at most two ranges), so each is one
    ``cv2.inRange`` pass over the image: a pasted negative looks for outlines three times.

    >>> image = np.full((3, 4, 3), 230, np.uint8); image[1, 1:3] = (0, 200, 0); image[2, 3] = (0, 120, 0)
    >>> boundary_mask(image, (0, 200, 0)).astype(int).tolist()
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]
    """
    rgb = np.ascontiguousarray(as_rgb(image))
    low = tuple(max(0, int(c) - tolerance) for c in colour)
    high = tuple(min(255, int(c) + tolerance) for c in colour)
    near = cv2.inRange(rgb, low, high)  # every channel within tolerance, in one pass
    target = cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2HSV_FULL)[0, 0]
    if target[1] < MIN_SATURATION:
        return near > 0
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL)
    for low_hue, high_hue in _hue_ranges(int(target[0])):
        floor = (low_hue, _at_least(OUTLINE_PURITY * int(target[1])), _at_least(OUTLINE_PURITY * int(target[2])))
        cv2.bitwise_or(near, cv2.inRange(hsv, floor, (high_hue, 255, 255)), dst=near)
    return near > 0


def _at_least(share: float) -> int:
    """The smallest 8-bit level ``v`` with ``v >= share`` (levels are integers)."""
    return int(np.ceil(share))


#: Hue steps of OpenCV's 256-step hue circle within :data:`OUTLINE_HUE_DEGREES` (360/256 degrees each).
_HUE_STEPS = int(np.flatnonzero(np.arange(129) * (360.0 / 256.0) <= OUTLINE_HUE_DEGREES)[-1])


def _hue_ranges(hue: int) -> list[tuple[int, int]]:
    """Inclusive 0-255 hue ranges within :data:`_HUE_STEPS` of ``hue`` on the circle (two when it wraps).

    >>> _hue_ranges(100), _hue_ranges(5), _hue_ranges(250)
    ([(86, 114)], [(0, 19), (247, 255)], [(236, 255), (0, 8)])
    """
    low, high = hue - _HUE_STEPS, hue + _HUE_STEPS
    if low >= 0 and high <= 255:
        return [(low, high)]
    if low < 0:
        return [(0, high), (256 + low, 255)]
    return [(low, 255), (0, high - 256)]


def highlighted_item_mask(image: np.ndarray, colour: RGB, *, tolerance: int = OUTLINE_TOLERANCE) -> np.ndarray:
    """Bool ``H×W``: the outlined item, outline included (each closed outline filled).

    Small gaps in the outline are closed first; an outline that does not close on itself adds
    only its own pixels.
    """
    return filled_outline(boundary_mask(image, colour, tolerance=tolerance))


def filled_outline(outline: np.ndarray) -> np.ndarray:
    """Bool ``H×W``: ``outline`` with every closed outline filled (gaps up to :data:`OUTLINE_GAP_PX` closed).

    The work is done on the outline's bounding box, grown by more than the closing can reach
    (twice its radius): outside it the closed outline is empty, so the fill is the same as on the
    whole image at a fraction of the pixels.

    >>> ring = np.zeros((15, 15), bool); ring[5, 5:10] = ring[9, 5:10] = ring[5:10, 5] = ring[5:10, 9] = True
    >>> int(filled_outline(ring).sum()), bool(filled_outline(ring)[7, 7])
    (25, True)
    """
    outline = np.ascontiguousarray(outline, dtype=bool).view(np.uint8)
    x, y, w, h = cv2.boundingRect(outline)
    if w == 0:
        return outline.astype(bool)
    size = 2 * OUTLINE_GAP_PX + 1  # the closing's kernel; the crop is grown by as much
    height, width = outline.shape
    rows, cols = slice(max(y - size, 0), min(y + h + size, height)), slice(max(x - size, 0), min(x + w + size, width))
    part = outline[rows, cols]
    closed = cv2.morphologyEx(part, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(closed)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    result = outline.astype(bool)
    result[rows, cols] |= filled > 0
    return result
