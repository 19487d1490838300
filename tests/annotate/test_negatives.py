"""Wrong-state negatives: displaced ≥5% inside the background box, inputs untouched, rejections counted,
and the previous step's own highlight removed (one highlighted item per image, as in a positive)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.annotate.background import mask_box
from lego_arta.annotate.boundary import boundary_mask, highlighted_item_mask
from lego_arta.annotate.negatives import (
    MAX_TINT,
    MIN_DISPLACEMENT,
    NEGATIVES_PER_STATE,
    background_box,
    make_negatives,
    remove_highlight,
    tint_share,
)
from tests.annotate.conftest import SynthManual
from tests.annotate.drawing import draw_block, draw_outline, gradient_backdrop

GREY, BLUE, RED = (163, 162, 164), (13, 105, 171), (196, 40, 27)
LIME = (150, 255, 0)
MODEL = (40, 60, 280, 150)
ITEM = (100, 40, 140, 70)


def _state(item: tuple[int, int, int, int] = ITEM, outline: bool = True) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(step image with the outlined new item, previous image, the ring's box)."""
    previous = gradient_backdrop(200, 320)
    draw_block(previous, MODEL, GREY)
    draw_block(previous, (60, 80, 120, 110), BLUE)
    step = previous.copy()
    draw_block(step, item, RED)
    ring = draw_outline(step, item, LIME, thickness=2) if outline else item
    return step, previous, ring


def _check(result, count: int) -> None:
    assert len(result.negatives) + sum(result.rejected.values()) == count


def test_negatives_are_displaced_inside_the_model_box_and_inputs_untouched() -> None:
    step, previous, ring = _state()
    step_copy, previous_copy = step.copy(), previous.copy()
    result = make_negatives(step, previous, LIME, np.random.default_rng(0))
    _check(result, NEGATIVES_PER_STATE)
    assert len(result.negatives) == NEGATIVES_PER_STATE and not result.rejected
    assert np.array_equal(step, step_copy) and np.array_equal(previous, previous_copy)
    mx1, my1, mx2, my2 = MODEL
    width, height = mx2 - mx1, my2 - my1
    offsets = []
    for negative in result.negatives:
        assert negative.item_box == ring
        # Where the item really is in the negative: its outline pixels, found independently.
        found = mask_box(boundary_mask(negative.image, LIME, tolerance=0))
        assert found == negative.pasted_box
        dx, dy = found[0] - ring[0], found[1] - ring[1]
        assert (dx, dy) == negative.offset
        assert max(abs(dx) / width, abs(dy) / height) >= MIN_DISPLACEMENT
        assert mx1 <= found[0] and my1 <= found[1] and found[2] <= mx2 and found[3] <= my2
        changed = np.argwhere((negative.image != previous).any(axis=2))
        assert changed[:, 1].min() >= found[0] and changed[:, 1].max() < found[2]
        assert changed[:, 0].min() >= found[1] and changed[:, 0].max() < found[3]
        offsets.append((dx, dy))
    assert len(set(offsets)) == len(offsets)


def test_same_seed_same_negatives_other_seed_other_places() -> None:
    step, previous, _ = _state()
    first = make_negatives(step, previous, LIME, np.random.default_rng(5))
    again = make_negatives(step, previous, LIME, np.random.default_rng(5))
    other = make_negatives(step, previous, LIME, np.random.default_rng(6))
    assert [n.offset for n in first.negatives] == [n.offset for n in again.negatives]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first.negatives, again.negatives, strict=True))
    assert [n.offset for n in first.negatives] != [n.offset for n in other.negatives]


def test_degenerate_states_are_rejected_and_counted() -> None:
    rng = np.random.default_rng(0)
    step, previous, _ = _state(outline=False)
    assert make_negatives(step, previous, LIME, rng).rejected == Counter({"empty mask": 3})
    step, previous, _ = _state(item=(2, 50, 40, 80))  # its outline reaches column 0
    result = make_negatives(step, previous, LIME, rng)
    assert result.rejected == Counter({"item touches image border": 3}) and not result.negatives
    step, previous, _ = _state(item=(30, 20, 300, 60))
    assert make_negatives(step, previous, LIME, rng).rejected == Counter({"item larger than background box": 3})
    step, previous, _ = _state()
    assert make_negatives(step, previous[:100], LIME, rng).rejected == Counter({"image sizes differ": 3})
    assert make_negatives(step, gradient_backdrop(200, 320), LIME, rng).rejected == Counter({"previous image has no model": 3})
    # An item almost as large as the model box has room for at most a few distinct places.
    step, previous, _ = _state(item=(46, 66, 270, 140))
    crowded = make_negatives(step, previous, LIME, rng, count=5, min_displacement=0.04)
    _check(crowded, 5)
    assert crowded.rejected["no room to displace"] >= 1


#: The previous step's new part (its tint must not take the outline's hue, or it counts as outline)
#: and a tint share unlike the synthetic renderer's, so it must be estimated.
PURPLE = (107, 50, 124)
OLD_ITEM = (180, 90, 230, 130)
TINT = 0.35


def _tint(image: np.ndarray, box: tuple[int, int, int, int], rgb: tuple[int, int, int], share: float) -> None:
    x1, y1, x2, y2 = box
    region = image[y1:y2, x1:x2].astype(np.float64)
    image[y1:y2, x1:x2] = (region * (1 - share) + share * np.asarray(rgb, np.float64)).round().astype(np.uint8)


def _highlighted_previous(item: tuple[int, int, int, int] = ITEM, old: tuple[int, int, int, int] = OLD_ITEM):
    """(step image, previous image with its own new part tinted and outlined, that previous unhighlighted)."""
    plain = gradient_backdrop(200, 320)
    draw_block(plain, MODEL, GREY)
    draw_block(plain, (60, 80, 120, 110), BLUE)
    draw_block(plain, old, PURPLE)
    previous = plain.copy()
    _tint(previous, old, LIME, TINT)
    draw_outline(previous, old, LIME, thickness=2)
    step = plain.copy()
    draw_block(step, item, RED)
    _tint(step, item, LIME, TINT)
    draw_outline(step, item, LIME, thickness=2)
    return step, previous, plain


def _lime_pixels(image: np.ndarray) -> int:
    """Pixels of exactly the outline colour."""
    return int((image == LIME).all(axis=2).sum())


def test_a_negative_shows_one_highlighted_item_and_the_previous_one_unhighlighted() -> None:
    step, previous, plain = _highlighted_previous()
    previous_copy = previous.copy()
    result = make_negatives(step, previous, LIME, np.random.default_rng(0))
    assert len(result.negatives) == NEGATIVES_PER_STATE
    assert np.array_equal(previous, previous_copy)
    for negative in result.negatives:
        # exactly the outline pixels of a positive: no second outline
        assert _lime_pixels(negative.image) == _lime_pixels(step)
        # away from the pasted item the negative is the previous step as it looks unhighlighted
        x1, y1, x2, y2 = (int(v) for v in negative.pasted_box)
        away = np.ones(step.shape[:2], bool)
        away[y1:y2, x1:x2] = False
        assert np.array_equal(negative.image[away], plain[away])


def test_a_highlight_hidden_in_the_next_step_is_untinted_and_its_outline_inpainted() -> None:
    old = (110, 50, 150, 80)  # under the new item: the step image cannot show it
    step, previous, plain = _highlighted_previous(old=old)
    restored = remove_highlight(previous, LIME, reference=step)
    assert _lime_pixels(restored) == 0 and not boundary_mask(restored, LIME).any()
    x1, y1, x2, y2 = old
    inside = np.abs(restored[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1].astype(int) - plain[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1])
    assert inside.max() <= 2, "the interior is the part's own colour again, up to rounding"


def test_without_a_usable_reference_the_outline_goes_and_the_tint_stays() -> None:
    step, previous, _ = _highlighted_previous()
    moved = np.roll(step, 9, axis=1)  # the camera moved: the next image cannot show the old part
    for reference in (None, moved, step[:100]):
        restored = remove_highlight(previous, LIME, reference=reference)
        assert _lime_pixels(restored) == 0
        x1, y1, x2, y2 = OLD_ITEM
        assert np.array_equal(restored[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2], previous[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2])
        ring = np.zeros(previous.shape[:2], bool)
        ring[y1 - 6 : y2 + 6, x1 - 6 : x2 + 6] = True
        assert np.array_equal(restored[~ring], previous[~ring])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(*[st.integers(0, 255)] * 3), min_size=20, max_size=60),
    st.floats(0.0, MAX_TINT - 0.05),
    st.tuples(*[st.integers(0, 255)] * 3),
)
def test_tint_share_recovers_the_mix(pixels: list, share: float, colour: tuple[int, int, int]) -> None:
    plain = np.array(pixels, dtype=np.uint8)
    towards = np.asarray(colour, np.float64) - plain
    tinted = (plain + share * towards).round().astype(np.uint8)
    rms = float(np.sqrt((towards * towards).sum(axis=1).mean()))
    if rms < 20:  # nearly the boundary colour already: a tint is barely visible, no claim
        return
    # rounding moves each channel by at most 0.5, so the least-squares share by at most 0.5·√3 / rms
    estimate = tint_share(tinted, plain, colour)
    assert estimate is not None and abs(estimate - share) <= 0.5 * np.sqrt(3) / rms + 1e-9


def test_background_box_of_the_previous_image() -> None:
    _, previous, _ = _state()
    assert background_box(previous) == MODEL


@pytest.mark.slow
def test_negatives_on_synthetic_states_agree_with_the_truth(synth_manuals: list[SynthManual]) -> None:
    made = 0
    rejected: Counter[str] = Counter()
    for manual in synth_manuals:
        for session in manual.truth["sessions"]:
            if not session["boundary"]:
                continue
            colour = tuple(session["boundary"]["rgb"])
            steps = session["steps"]
            for before, now in zip(steps, steps[1:]):
                step = manual.image(now["step"]["file"])
                previous = manual.image(before["step"]["file"])
                model_box = _union(before["step"]["boxes"].values())
                assert background_box(previous) == model_box
                present = now["step"]["present"]
                labels = manual.labels(now["step"]["labels"])
                wanted = [position + 1 for position, index in enumerate(present) if index in set(now["placed"])]
                truth_item = np.isin(labels, wanted)
                mask = highlighted_item_mask(step, colour)
                if truth_item.any() and mask.any():
                    assert (mask & truth_item).sum() / (mask | truth_item).sum() >= 0.9
                result = make_negatives(step, previous, colour, np.random.default_rng(0))
                _check(result, NEGATIVES_PER_STATE)
                made += len(result.negatives)
                rejected.update(result.rejected)
                width, height = model_box[2] - model_box[0], model_box[3] - model_box[1]
                for negative in result.negatives:
                    # one highlighted item, as in the positive: the previous highlight is gone
                    assert boundary_mask(negative.image, colour, tolerance=0).sum() == boundary_mask(step, colour, tolerance=0).sum()
                    dx, dy = negative.offset
                    assert max(abs(dx) / width, abs(dy) / height) >= MIN_DISPLACEMENT
                    px1, py1, px2, py2 = negative.pasted_box
                    assert model_box[0] <= px1 and model_box[1] <= py1 and px2 <= model_box[2] and py2 <= model_box[3]
                    # the pasted pixels are the true item's pixels, moved by the offset
                    ys, xs = np.nonzero(truth_item & mask)
                    inside = (ys + dy < step.shape[0]) & (xs + dx < step.shape[1])
                    assert np.array_equal(negative.image[ys[inside] + dy, xs[inside] + dx], step[ys[inside], xs[inside]])
    assert made > 30
    assert sum(rejected.values()) / (made + sum(rejected.values())) <= 0.2, rejected


def _union(boxes) -> tuple[float, float, float, float]:
    boxes = list(boxes)
    return (
        float(min(b[0] for b in boxes)),
        float(min(b[1] for b in boxes)),
        float(max(b[2] for b in boxes)),
        float(max(b[3] for b in boxes)),
    )
