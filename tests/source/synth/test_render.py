"""Renderer tests: backgrounds, occlusion, ground-truth labels and boxes, highlight, layouts."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lego_arta.palette import COLOURS
from lego_arta.source.synth.camera import PLATE_HEIGHT, STUD_HEIGHT, View, fit_view, project
from lego_arta.source.synth.model import Colour, Placement, Shape
from lego_arta.source.synth.render import (
    Rendering,
    layout_columns,
    render_assembly,
    render_parts,
    render_start,
)

W, H = 320, 148
LIGHT_BLUE = (181, 217, 240)
RED = Colour("bright red", (201, 26, 9))
BLUE = Colour("bright blue", (0, 85, 191))
YELLOW = Colour("bright yellow", (242, 205, 55))
GREEN = Colour("dark green", (35, 120, 65))
BLACK = Colour("black", (27, 42, 52))
WHITE = Colour("white", (244, 244, 244))
TRANS = Colour("transparent light blue", (174, 233, 239), transparent=True)
MAGENTA = (230, 0, 230)
BRICK_2X4 = Shape("brick", 2, 4)
BRICK_2X2 = Shape("brick", 2, 2)
PLATE_2X4 = Shape("plate", 2, 4)
PLATE_1X1 = Shape("plate", 1, 1)
TILE_1X2 = Shape("tile", 1, 2)


def small_model() -> list[Placement]:
    """A base plate with bricks, a plate and a tile on it (no overlaps)."""
    return [
        Placement(Shape("plate", 4, 8), BLACK, 0, 0, 0),
        Placement(BRICK_2X4, RED, 0, 0, 1),
        Placement(BRICK_2X2, BLUE, 4, 2, 1),
        Placement(PLATE_2X4, YELLOW, 0, 0, 4),
        Placement(TILE_1X2, WHITE, 6, 0, 1, along_x=False),
        Placement(BRICK_2X2, GREEN, 4, 0, 1),
    ]


def top_centre_pixel(placement: Placement, view: View) -> tuple[int, int]:
    world = np.array([[placement.x + placement.size_x / 2, placement.y + placement.size_y / 2, placement.top * PLATE_HEIGHT]])
    px, py = project(world, view)[0]
    return int(round(px)), int(round(py))


def boxes_from_labels(labels: np.ndarray) -> dict[int, tuple[int, int, int, int]]:
    """Independent box computation: extremes of each label's pixel coordinates, half-open."""
    boxes = {}
    for value in np.unique(labels):
        if value == 0:
            continue
        ys, xs = np.nonzero(labels == value)
        boxes[int(value)] = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return boxes


# --- camera ---------------------------------------------------------------------------------


def test_camera_axes_match_the_manual_art() -> None:
    """x rises to the right at ~20°, y rises to the left at ~38° (measured on the real sample)."""
    view = View(width=100, height=100, scale=10.0, offset_x=50.0, offset_y=50.0)
    origin, ex, ey, ez = project(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]]), view)
    dx, dy, dz = ex - origin, ey - origin, ez - origin
    assert dx[0] > 0 and dx[1] < 0 and 15 <= math.degrees(math.atan2(-dx[1], dx[0])) <= 25
    assert dy[0] < 0 and dy[1] < 0 and 33 <= math.degrees(math.atan2(-dy[1], -dy[0])) <= 43
    assert abs(dz[0]) < 1e-9 and dz[1] < 0


def test_fit_view_keeps_the_model_inside_the_region() -> None:
    model = small_model()
    region = (0.1, 0.2, 0.5, 0.9)
    view = fit_view(model, W, H, margin=0.1, region=region)
    rendering = render_assembly(model, view)
    ys, xs = np.nonzero(rendering.labels)
    assert xs.min() >= region[0] * W and xs.max() <= region[2] * W
    assert ys.min() >= region[1] * H and ys.max() <= region[3] * H
    with pytest.raises(ValueError, match="region"):
        fit_view(model, W, H, region=(0.5, 0.0, 0.4, 1.0))


# --- backgrounds ----------------------------------------------------------------------------


def test_assembly_background_is_an_opaque_grey_gradient() -> None:
    model = small_model()
    rendering = render_assembly(model, fit_view(model, W, H))
    pixels = np.asarray(rendering.image)
    assert rendering.image.mode == "RGBA" and rendering.image.size == (W, H)
    assert (pixels[..., 3] == 255).all()
    top, bottom = pixels[0, :, :3], pixels[-1, :, :3]
    assert np.abs(top.astype(int) - 217).max() <= 1
    assert np.abs(bottom.astype(int) - 246).max() <= 1
    column = pixels[:, 0, 0].astype(int)
    assert (np.diff(column) >= 0).all()
    assert (pixels[..., 0] == pixels[..., 1]).all() or rendering.labels.any()


def test_parts_background_is_flat_light_blue() -> None:
    rendering = render_parts(small_model()[:3], [(BRICK_2X4, RED)], W, H)
    pixels = np.asarray(rendering.image)
    assert rendering.image.mode == "RGB" and rendering.image.size == (W, H)
    for y, x in [(0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)]:
        assert tuple(pixels[y, x]) == LIGHT_BLUE
    assert (pixels[rendering.labels == 0] == LIGHT_BLUE).all(axis=-1).mean() > 0.97


# --- occlusion ------------------------------------------------------------------------------


def test_part_stacked_on_top_is_seen_at_its_top_centre() -> None:
    lower = Placement(BRICK_2X4, RED, 0, 0, 0)
    upper = Placement(BRICK_2X4, BLUE, 0, 0, 3)
    for model in ([lower, upper], [upper, lower]):
        view = fit_view(model, W, H)
        rendering = render_assembly(model, view)
        upper_label = model.index(upper) + 1
        lower_label = model.index(lower) + 1
        x, y = top_centre_pixel(upper, view)
        assert rendering.labels[y, x] == upper_label
        # The lower brick's studs are plugged: its top centre now shows the upper brick's front face.
        x, y = top_centre_pixel(lower, view)
        assert rendering.labels[y, x] == upper_label
        # Lower brick's front face centre is still its own.
        front = np.array([[lower.x + lower.size_x / 2, lower.y, (lower.z + lower.size_z / 2) * PLATE_HEIGHT]])
        px, py = project(front, view)[0]
        assert rendering.labels[int(round(py)), int(round(px))] == lower_label


def _silhouette(placement: Placement, view: View) -> np.ndarray:
    return render_assembly([placement], view).labels > 0


def _eroded(mask: np.ndarray) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _nearer(a: Placement, b: Placement) -> Placement | None:
    """The placement nearer the camera where both are seen, from a separating axis of their boxes
    with studs (the camera looks from low x, low y, high z); None when the boxes intersect."""

    def extent(p: Placement) -> tuple[np.ndarray, np.ndarray]:
        low = np.array([p.x, p.y, p.z * PLATE_HEIGHT])
        high = np.array([p.x + p.size_x, p.y + p.size_y, p.top * PLATE_HEIGHT + (STUD_HEIGHT if p.shape.studded else 0)])
        return low, high

    (a_low, a_high), (b_low, b_high) = extent(a), extent(b)
    if a_high[0] <= b_low[0] or a_high[1] <= b_low[1]:
        return a
    if b_high[0] <= a_low[0] or b_high[1] <= a_low[1]:
        return b
    if a_high[2] <= b_low[2]:
        return b
    if b_high[2] <= a_low[2]:
        return a
    return None


def test_part_in_front_hides_the_part_behind() -> None:
    back = Placement(Shape("brick", 2, 2), BLUE, 1, 3, 0)
    front = Placement(Shape("brick", 1, 4), RED, 0, 0, 3)
    model = [back, front]
    view = fit_view(model, W, H)
    overlap = _eroded(_silhouette(back, view)) & _eroded(_silhouette(front, view))
    assert overlap.sum() > 50
    labels = render_assembly(model, view).labels
    assert (labels[overlap] == 2).all()


shapes = st.sampled_from([BRICK_2X4, BRICK_2X2, PLATE_2X4, PLATE_1X1, TILE_1X2, Shape("brick", 1, 6)])
placements = st.builds(
    Placement,
    shape=shapes,
    colour=st.sampled_from([RED, BLUE, YELLOW, GREEN, WHITE, TRANS]),
    x=st.integers(0, 6),
    y=st.integers(0, 6),
    z=st.integers(0, 6),
    along_x=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(a=placements, b=placements)
def test_occlusion_follows_the_separating_axis(a: Placement, b: Placement) -> None:
    nearer = _nearer(a, b)
    assume(nearer is not None and not (a.occupies() & b.occupies()))
    _check_occlusion(a, b, nearer)


@pytest.mark.xfail(
    strict=True,
    reason="renderer bug found by the property above (also on the code before 2026-12-01): a few "
    "pixels of a studded plate win the depth test over a flat tile in front of it on the same layer",
)
def test_a_tile_in_front_of_a_studded_plate_on_one_layer_hides_it() -> None:
    plate = Placement(Shape("plate", 2, 4), RED, 2, 4, 0, along_x=True)
    tile = Placement(Shape("tile", 1, 2), RED, 5, 3, 0, along_x=True)
    assert _nearer(plate, tile) is tile and not (plate.occupies() & tile.occupies())
    _check_occlusion(plate, tile, tile)


def _check_occlusion(a: Placement, b: Placement, nearer: Placement) -> None:
    model = [a, b]
    view = fit_view(model, W, H)
    mask_a, mask_b = _eroded(_silhouette(a, view)), _eroded(_silhouette(b, view))
    labels = render_assembly(model, view).labels
    front = model.index(nearer) + 1
    assert (labels[mask_a & mask_b] == front).all()
    grown_b = cv2.dilate(mask_b.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    grown_a = cv2.dilate(mask_a.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (labels[mask_a & ~grown_b] == 1).all()
    assert (labels[mask_b & ~grown_a] == 2).all()


def test_fully_enclosed_part_gets_no_box() -> None:
    hidden = Placement(PLATE_1X1, YELLOW, 3, 2, 0)
    wall = [
        Placement(Shape("brick", 2, 8), RED, 0, 0, 0),
        Placement(Shape("brick", 2, 8), BLUE, 0, 0, 3),
        Placement(Shape("brick", 2, 8), GREEN, 0, 0, 6),
    ]
    model = [hidden, *wall]
    view = fit_view(model, W, H)
    alone = render_assembly([hidden], view)
    assert 0 in alone.boxes
    rendering = render_assembly(model, view)
    assert 0 not in rendering.boxes
    assert not (rendering.labels == 1).any()
    assert sorted(rendering.boxes) == [1, 2, 3]


# --- labels and boxes -----------------------------------------------------------------------


@st.composite
def models(draw: st.DrawFn) -> list[Placement]:
    """Up to 8 non-overlapping placements (overlapping draws are skipped)."""
    chosen: list[Placement] = []
    filled: set[tuple[int, int, int]] = set()
    for candidate in draw(st.lists(placements, min_size=1, max_size=8)):
        voxels = candidate.occupies()
        if voxels & filled:
            continue
        chosen.append(candidate)
        filled |= voxels
    return chosen


@settings(max_examples=25, deadline=None)
@given(model=models(), highlight_first=st.booleans())
def test_boxes_agree_with_labels(model: list[Placement], highlight_first: bool) -> None:
    view = fit_view(model, W, H)
    highlight = {0} if highlight_first else set()
    rendering = render_assembly(model, view, highlight=highlight, boundary=MAGENTA if highlight else None)
    assert rendering.labels.dtype == np.int32 and rendering.labels.shape == (H, W)
    expected = {label - 1: box for label, box in boxes_from_labels(rendering.labels).items()}
    assert rendering.boxes == expected
    assert set(np.unique(rendering.labels)) <= set(range(len(model) + 1))
    for index, placement in enumerate(model):
        x, y = top_centre_pixel(placement, view)
        if 0 <= x < W and 0 <= y < H and rendering.labels[y, x] == index + 1:
            x1, y1, x2, y2 = rendering.boxes[index]
            assert x1 <= x < x2 and y1 <= y < y2
    for x1, y1, x2, y2 in rendering.boxes.values():
        assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H


def test_parts_outside_the_frame_are_clipped() -> None:
    model = small_model()
    view = fit_view(model, W, H)
    shifted = View(width=W, height=H, scale=view.scale * 2, offset_x=view.offset_x - W / 2, offset_y=view.offset_y)
    rendering = render_assembly(model, shifted, highlight={1}, boundary=MAGENTA)
    assert rendering.boxes
    for x1, y1, x2, y2 in rendering.boxes.values():
        assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
    assert rendering.boxes == {label - 1: box for label, box in boxes_from_labels(rendering.labels).items()}


def test_model_renders_every_visible_part() -> None:
    model = small_model()
    view = fit_view(model, 1024, 473)
    rendering = render_assembly(model, view)
    assert sorted(rendering.boxes) == list(range(len(model)))


# --- highlight ------------------------------------------------------------------------------


def _colour_mask(rendering: Rendering, rgb: tuple[int, int, int]) -> np.ndarray:
    pixels = np.asarray(rendering.image)[..., :3]
    return (pixels == np.array(rgb, dtype=np.uint8)).all(axis=-1)


@pytest.mark.parametrize("size", [(W, H), (1024, 473)])
def test_highlight_outlines_only_the_new_part(size: tuple[int, int]) -> None:
    model = small_model()
    view = fit_view(model, *size)
    plain = render_assembly(model, view)
    assert not _colour_mask(plain, MAGENTA).any()
    rendering = render_assembly(model, view, highlight={3}, boundary=MAGENTA)
    outline = _colour_mask(rendering, MAGENTA)
    assert outline.sum() > 0
    x1, y1, x2, y2 = rendering.boxes[3]
    ys, xs = np.nonzero(outline)
    assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2
    assert (rendering.labels[outline] == 4).all()
    # The outline hugs the part: every outline pixel is within 4 px of the part's own pixels.
    part = (plain.labels == 4).astype(np.uint8)
    near = cv2.dilate(part, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))).astype(bool)
    assert near[outline].all()
    # The part is tinted toward the boundary colour; other parts keep their pixels.
    before = np.asarray(plain.image)[..., :3][plain.labels == 4].astype(float).mean(axis=0)
    after = np.asarray(rendering.image)[..., :3][rendering.labels == 4].astype(float).mean(axis=0)
    assert np.abs(after - np.array(MAGENTA)).sum() < np.abs(before - np.array(MAGENTA)).sum()
    untouched = (plain.labels == rendering.labels) & (plain.labels != 4) & (rendering.labels != 4)
    assert (np.asarray(plain.image)[untouched] == np.asarray(rendering.image)[untouched]).all()


def test_no_other_pixel_takes_the_boundary_colour() -> None:
    """Even a boundary equal to a shaded face colour of another part marks only the outline."""
    model = small_model()
    view = fit_view(model, W, H)
    plain = np.asarray(render_assembly(model, view).image)[..., :3]
    # The most frequent colour of the red brick's pixels (its own face colour) as boundary.
    red_pixels = plain[render_assembly(model, view).labels == 2]
    values, counts = np.unique(red_pixels, axis=0, return_counts=True)
    boundary = tuple(int(v) for v in values[counts.argmax()])
    rendering = render_assembly(model, view, highlight={5}, boundary=boundary)
    marked = _colour_mask(rendering, boundary)
    assert marked.any()
    assert (rendering.labels[marked] == 6).all()
    x1, y1, x2, y2 = rendering.boxes[5]
    ys, xs = np.nonzero(marked)
    assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2


def test_highlight_index_must_exist() -> None:
    model = small_model()
    with pytest.raises(ValueError, match="highlight"):
        render_assembly(model, fit_view(model, W, H), highlight={len(model)}, boundary=MAGENTA)


# --- parts images ---------------------------------------------------------------------------


def _disjoint(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize("count", [1, 3, 9])
@pytest.mark.parametrize("with_assembly", [True, False])
def test_parts_image_layout(count: int, with_assembly: bool) -> None:
    pool = [(BRICK_2X4, RED), (TILE_1X2, WHITE), (PLATE_1X1, YELLOW), (Shape("brick", 1, 6), BLUE), (PLATE_2X4, TRANS)]
    parts = [pool[i % len(pool)] for i in range(count)]
    assembly = small_model() if with_assembly else []
    rendering = render_parts(assembly, parts, W, H)
    new_keys = sorted(k for k in rendering.boxes if k >= 0)
    assert new_keys == list(range(count))
    for i in range(count):
        assert rendering.boxes[i][0] >= W / 2
        for j in range(i):
            assert _disjoint(rendering.boxes[i], rendering.boxes[j])
    if with_assembly:
        x1, _, x2, _ = rendering.boxes[-1]
        assert x2 < W * 0.62
        assert all(_disjoint(rendering.boxes[-1], rendering.boxes[i]) for i in range(count))
        assert (rendering.labels == -1).any()
    else:
        assert -1 not in rendering.boxes
    expected = boxes_from_labels(np.where(rendering.labels > 0, rendering.labels, 0))
    assert {k: v for k, v in rendering.boxes.items() if k >= 0} == {label - 1: box for label, box in expected.items()}


extents = st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.5, 12), st.floats(0.5, 6)).map(
    lambda v: (v[0], v[1], v[0] + v[2], v[1] + v[3])
)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(extents, min_size=1, max_size=12), cap=st.floats(1, 80))
def test_column_layout_keeps_items_apart_and_inside(items: list[tuple[float, float, float, float]], cap: float) -> None:
    region = (200.0, 10.0, 320.0, 140.0)
    layout = layout_columns(items, region, cap, gap=0.8, min_gap_px=3)
    assert 0 < layout.scale <= cap
    placed = [
        (ox + layout.scale * l, oy + layout.scale * t, ox + layout.scale * r, oy + layout.scale * b)
        for (l, t, r, b), (ox, oy) in zip(items, layout.offsets, strict=True)
    ]
    for i, (x1, y1, x2, y2) in enumerate(placed):
        assert region[0] - 1e-6 <= x1 and x2 <= region[2] + 1e-6
        assert region[1] - 1e-6 <= y1 and y2 <= region[3] + 1e-6
        for a1, b1, a2, b2 in placed[:i]:
            assert x2 + 3 - 1e-6 <= a1 or a2 + 3 - 1e-6 <= x1 or y2 + 3 - 1e-6 <= b1 or b2 + 3 - 1e-6 <= y1


def test_new_parts_are_shown_at_the_assembly_scale_or_smaller() -> None:
    assembly = small_model()
    brick = (BRICK_2X4, RED)
    rendering = render_parts(assembly, [brick], 1024, 473)
    in_model = render_parts(assembly[:1] + [Placement(BRICK_2X4, RED, 0, 0, 1)], [], 1024, 473)
    # A 2x4 brick on its own is no wider than the whole sub-assembly of which it is a part.
    new_w = rendering.boxes[0][2] - rendering.boxes[0][0]
    assert new_w < rendering.boxes[-1][2] - rendering.boxes[-1][0]
    assert new_w <= in_model.boxes[-1][2] - in_model.boxes[-1][0]


# --- start image, sizes, determinism --------------------------------------------------------


def test_start_image_shows_every_model_side_by_side() -> None:
    first = small_model()
    purple = Colour("medium lilac", (150, 60, 200))
    second = [Placement(BRICK_2X4, purple, 0, 0, 0), Placement(BRICK_2X2, purple, 0, 0, 3)]
    image = render_start([first, second], W, H)
    assert image.mode == "RGBA" and image.size == (W, H)
    pixels = np.asarray(image)[..., :3].astype(int)
    background = np.asarray(render_start([], W, H))[..., :3].astype(int)
    changed = np.abs(pixels - background).sum(axis=-1) > 0
    columns = np.flatnonzero(changed.any(axis=0))
    assert columns.size
    # Two separate clusters of columns: a gap of background columns between the models.
    assert (np.diff(columns) > 3).any()
    # The second model (the only purple parts) is drawn to the right of the first.
    purple_like = (pixels[..., 2] > pixels[..., 1] + 60) & (pixels[..., 0] > pixels[..., 1] + 40)
    assert purple_like.sum() > 50
    assert np.flatnonzero(purple_like.any(axis=0)).min() > W / 2


def test_renders_scale_with_the_frame() -> None:
    model = small_model()
    small = render_assembly(model, fit_view(model, W, H))
    large = render_assembly(model, fit_view(model, 1024, 473))
    for index in range(len(model)):
        a = np.array(small.boxes[index]) / np.array([W, H, W, H])
        b = np.array(large.boxes[index]) / np.array([1024, 473, 1024, 473])
        assert np.abs(a - b).max() < 0.03


def test_renders_are_deterministic() -> None:
    model = small_model()
    view = fit_view(model, W, H)
    first = render_assembly(model, view, highlight={2}, boundary=MAGENTA)
    second = render_assembly(model, view, highlight={2}, boundary=MAGENTA)
    assert first.image.tobytes() == second.image.tobytes()
    assert first.labels.tobytes() == second.labels.tobytes()
    assert first.boxes == second.boxes
    parts = [(BRICK_2X4, RED), (TILE_1X2, WHITE)]
    assert render_parts(model, parts, W, H).image.tobytes() == render_parts(model, parts, W, H).image.tobytes()
    assert render_start([model], W, H).tobytes() == render_start([model], W, H).tobytes()


def test_empty_inputs_render_backgrounds() -> None:
    empty = render_assembly([], fit_view([], W, H))
    assert empty.boxes == {} and not empty.labels.any()
    parts = render_parts([], [], W, H)
    assert parts.boxes == {} and (np.asarray(parts.image) == LIGHT_BLUE).all()


# --- colours a person would name --------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(COLOURS), st.floats(0, 359.9), st.floats(0.85, 1.0))
def test_a_highlighted_part_keeps_the_name_of_its_colour_with_the_strongest_such_tint(
    colour: Colour, hue: float, saturation: float
) -> None:
    from lego_arta.source.synth.catalog import _boundary_from_hue
    from lego_arta.source.synth.render import HIGHLIGHT_TINTS, nearest_colour_name, part_tint

    outline = _boundary_from_hue("outline", hue, saturation).rgb
    tint = part_tint(colour, outline)
    base, towards = np.asarray(colour.rgb, float), np.asarray(outline, float)
    assert tint == 0.0 or nearest_colour_name(base * (1 - tint) + tint * towards) == colour.name
    stronger = [t for t in HIGHLIGHT_TINTS if t > tint]
    assert all(nearest_colour_name(base * (1 - t) + t * towards) != colour.name for t in stronger)


def test_every_palette_colour_is_its_own_nearest_name_untinted() -> None:
    from lego_arta.source.synth.render import nearest_colour_name

    assert [nearest_colour_name(c.rgb) for c in COLOURS] == [c.name for c in COLOURS]


def test_a_rendered_part_is_tinted_by_its_own_share() -> None:
    """White under a yellow outline would read brick yellow at 25%: it is tinted less, and the outline stays."""
    from lego_arta.source.synth.render import part_tint

    white = Colour("white", next(c.rgb for c in COLOURS if c.name == "white"))
    yellow = (255, 236, 32)
    model = [Placement(Shape("plate", 6, 8), Colour("black", (27, 42, 52)), 0, 0, 0), Placement(Shape("brick", 2, 4), white, 1, 1, 1)]
    view = fit_view(model, W, H)
    plain = render_assembly(model, view)
    lit = render_assembly(model, view, highlight={1}, boundary=yellow)
    share = part_tint(white, yellow)
    assert share < 0.25
    inside = (plain.labels == 2) & (lit.labels == 2)
    share32 = np.float32(share)
    expected = (
        np.asarray(plain.image)[..., :3][inside].astype(np.float32) * (1.0 - share32) + share32 * np.asarray(yellow, np.float32)
    ).round()
    assert np.array_equal(np.asarray(lit.image)[..., :3][inside], expected.astype(np.uint8))
    assert _colour_mask(lit, yellow).any()
