"""The manual planner: determinism, physically valid builds, true spatial phrases, consistent
object-finding lines, highlight colours, and study-scale counts.

The checks here re-derive everything from the words of each line and the placements with their own
code (regular expressions, exact fractions, voxel sets), never with the planner's helpers.
"""

from __future__ import annotations

import colorsys
import os
import random
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pytest

from lego_arta.source.layout import ImageName, parse_image_name, split_manual_id
from lego_arta.source.synth.assembly import AssemblyState, build_problems, choose_placement
from lego_arta.source.synth.catalog import COLOURS, NoBoundaryColour, pick_boundary_colour
from lego_arta.source.synth.model import Colour, ManualPlan, Placement, SessionPlan, Shape
from lego_arta.source.synth.plan import (
    eop_parts,
    placements_after,
    plan_manual,
    plan_manuals,
    presence_by_step,
)

STUDY = {"sessions": 397, "steps": 5614, "eop": 4814}
TOLERANCE = 0.15
VALIDITY_SEEDS = range(20)

SHAPE = r"(?:brick|plate|flat tile) \d+x\d+"
POSITIONS = {
    ("left", "front"): "at the front left",
    ("centre", "front"): "at the front",
    ("right", "front"): "at the front right",
    ("left", "middle"): "on the left side",
    ("centre", "middle"): "in the centre",
    ("right", "middle"): "on the right side",
    ("left", "back"): "at the back left",
    ("centre", "back"): "at the back",
    ("right", "back"): "at the back right",
}
ASSEMBLY = re.compile(
    rf"^(?P<verb>Put|Place|Attach|Add|Mount|Press) (?P<det>the other|the last|the|another|1) "
    rf"(?:(?P<colour>[a-z ]+) )?(?P<shape>{SHAPE})(?: (?P<orient>horizontally|vertically))? "
    rf"(?:on the table|(?:on top of|onto|on) the (?P<target>previous piece|(?:(?P<tcolour>[a-z ]+) )?(?P<tshape>{SHAPE})), "
    rf"(?P<pos>{'|'.join(POSITIONS.values())}))\.$"
)
OPENER = r"(?:Now, we will build the (?P<title>[^.]+)\. )?"
FIND = re.compile(rf"^{OPENER}Find (?P<items>.+)\.$")
COLLECT = re.compile(rf"^{OPENER}Collect the following (?P<total>\d+) pieces: (?P<items>.+)\.$")
ITEM = re.compile(r"^(?P<count>\d+) (?P<colour>[a-z ]+?) (?P<kind>bricks?|plates?|flat tiles?) (?P<size>\d+x\d+)$")


@pytest.fixture(scope="module")
def study_plans() -> list[ManualPlan]:
    return plan_manuals(65, seed=0)


@pytest.fixture(scope="module")
def seeded_plans() -> list[ManualPlan]:
    return [plan_manual(seed % 7, seed) for seed in VALIDITY_SEEDS]


def _text(line: tuple) -> str:
    return "".join(text for _, text in line)


def _singular(kind: str) -> str:
    return kind[:-1] if kind.endswith("s") else kind


# --- determinism and scale ------------------------------------------------------------------------


def test_same_index_and_seed_give_the_same_plan() -> None:
    assert plan_manual(3, 11) == plan_manual(3, 11)


def test_different_seeds_or_indices_give_different_plans() -> None:
    base = plan_manual(3, 11)
    assert plan_manual(3, 12).sessions != base.sessions
    assert plan_manual(4, 11).sessions != base.sessions


def test_study_scale_counts(study_plans: list[ManualPlan]) -> None:
    sessions = [s for m in study_plans for s in m.sessions]
    steps = [step for s in sessions for step in s.steps]
    measured = {"sessions": len(sessions), "steps": len(steps), "eop": sum(step.has_eop for step in steps)}
    for key, reference in STUDY.items():
        assert abs(measured[key] - reference) <= TOLERANCE * reference, (key, measured[key], reference)
    highlighted = sum(m.highlighted for m in study_plans)
    assert 0.5 * len(study_plans) <= highlighted <= 0.8 * len(study_plans)


def test_ids_are_unique_and_follow_the_site_pattern(study_plans: list[ManualPlan]) -> None:
    ids = [m.manual_id for m in study_plans]
    assert len(set(ids)) == len(ids)
    for index, manual in enumerate(study_plans):
        set_number, slug = split_manual_id(manual.manual_id)
        assert set_number == manual.set_number == str(90000 + index)
        assert slug == "-".join(manual.set_name.lower().split())


@pytest.mark.parametrize("bad", [{"sessions": (0, 2)}, {"steps_per_session": (5, 3)}, {"highlight_share": 1.5}])
def test_rejects_bad_options(bad: dict) -> None:
    with pytest.raises(ValueError):
        plan_manual(0, 0, **bad)


def test_options_bound_sessions_and_steps() -> None:
    plan = plan_manual(2, 5, sessions=(2, 2), steps_per_session=(3, 3), highlight_share=1.0)
    assert len(plan.sessions) == 2
    assert all(len(s.steps) == 3 for s in plan.sessions)
    assert all(s.boundary is not None for s in plan.sessions)
    assert all(s.boundary is None for s in plan_manual(2, 5, highlight_share=0.0).sessions)


# --- structure ------------------------------------------------------------------------------------


def test_sessions_steps_and_image_names(study_plans: list[ManualPlan]) -> None:
    for manual in study_plans:
        assert [s.name for s in manual.sessions] == [f"sm{i:02d}-Bag" for i in range(1, len(manual.sessions) + 1)]
        for session in manual.sessions:
            assert [step.number for step in session.steps] == list(range(len(session.steps)))
            placed = [i for step in session.steps for i in step.placed]
            assert placed == list(range(len(session.placements))), "steps place every part once, in build order"
            assert all(1 <= len(step.placed) <= 3 for step in session.steps)
            assert session.steps[0].has_eop and session.steps[0].placed[0] == 0
            codes = [step.code for step in session.steps]
            assert all(codes[:-1]) and len(set(codes)) == len(codes)
            for step in session.steps:
                for cls in ("eop", "step"):
                    decoded = ImageName(session.name, cls, step.number, step.code or None).file_name()
                    assert parse_image_name(decoded) == ImageName(session.name, cls, step.number, step.code or None)


def test_presence_helpers(study_plans: list[ManualPlan]) -> None:
    manual = study_plans[0]
    presence = presence_by_step(manual)
    for session, per_step in zip(manual.sessions, presence):
        assert placements_after(session, -1) == ()
        assert per_step[-1] == tuple(range(len(session.placements)))
        for k, step in enumerate(session.steps):
            before = set(per_step[k - 1]) if k else set()
            assert set(per_step[k]) - before == set(step.placed)
            found = Counter((g.shape, g.colour) for g in step.find for _ in range(g.count))
            assert Counter((session.placements[i].shape, session.placements[i].colour) for i in eop_parts(session, k)) == found


# --- geometry -------------------------------------------------------------------------------------


def _check_build(session: SessionPlan) -> None:
    """Independent physics: voxel sets, and each part on studs of an earlier studded part."""
    filled: set[tuple[int, int, int]] = set()
    base = session.placements[0]
    assert base.z == 0 and base.shape.kind == "plate"
    for i, part in enumerate(session.placements):
        voxels = {
            (x, y, z)
            for x in range(part.x, part.x + part.size_x)
            for y in range(part.y, part.y + part.size_y)
            for z in range(part.z, part.z + part.shape.height)
        }
        assert not voxels & filled, f"{session.name}: part {i} overlaps"
        filled |= voxels
        assert 0 <= part.x and part.x + part.size_x <= base.size_x and 0 <= part.y and part.y + part.size_y <= base.size_y
        if i == 0:
            continue
        below = [
            earlier for earlier in session.placements[:i] if earlier.z + earlier.shape.height == part.z and _overlap(part, earlier) > 0
        ]
        assert below, f"{session.name}: part {i} floats"
        assert all(b.shape.kind != "tile" for b in below), f"{session.name}: part {i} rests on a tile"


def _overlap(a: Placement, b: Placement) -> int:
    dx = min(a.x + a.size_x, b.x + b.size_x) - max(a.x, b.x)
    dy = min(a.y + a.size_y, b.y + b.size_y) - max(a.y, b.y)
    return max(dx, 0) * max(dy, 0)


def test_every_build_is_physically_valid(seeded_plans: list[ManualPlan], study_plans: list[ManualPlan]) -> None:
    for manual in seeded_plans + study_plans[:20]:
        for session in manual.sessions:
            _check_build(session)
            assert build_problems(session.placements) == []


def test_build_problems_flags_overlap_floating_and_tiles() -> None:
    session = plan_manual(0, 0).sessions[0]
    base, part = session.placements[0], session.placements[1]
    floating = Placement(part.shape, part.colour, 0, 0, part.z + 9, part.along_x)
    assert any("rests on nothing" in p for p in build_problems([base, floating]))
    assert any("overlaps" in p for p in build_problems([base, base]))
    tile = Placement(Shape("tile", 2, 2), part.colour, 0, 0, 1)
    on_tile = Placement(Shape("plate", 1, 1), part.colour, 0, 0, 2)
    assert any("tile" in p for p in build_problems([base, tile, on_tile]))


# --- text -----------------------------------------------------------------------------------------


def _third(start: int, size: int, ref_start: int, ref_size: int, words: tuple[str, str, str]) -> str:
    u = (start + Fraction(size, 2) - ref_start) / ref_size
    return words[0] if u < Fraction(1, 3) else words[2] if u > Fraction(2, 3) else words[1]


def _check_session_text(session: SessionPlan) -> None:
    parts = session.placements
    hand: Counter = Counter()
    totals: Counter = Counter()
    openers = 0
    for step in session.steps:
        for line in step.eop_lines + step.step_lines:
            assert all(text for _, text in line)
            assert {cls for cls, _ in line} <= {None, "verb", "det", "colorinfo", "theme", "target", "suffix"}
        if step.has_eop:
            assert not +hand, f"{session.name}: an eop line while parts are still in hand"
            (line,) = step.eop_lines
            text = _text(line)
            match = FIND.match(text) if len(step.find) == 1 else COLLECT.match(text)
            assert match, text
            if match["title"]:
                openers += 1
                assert step.number == 0 and match["title"] == session.title
            items = re.split(r", and |, ", match["items"])
            parsed = [ITEM.match(item) for item in items]
            assert all(parsed), items
            kinds = [(f"{_singular(p['kind'])} {p['size']}", p["colour"], int(p["count"])) for p in parsed]
            assert kinds == [(g.shape.name, g.colour.name, g.count) for g in step.find]
            if len(step.find) > 1:
                assert int(match["total"]) == sum(g.count for g in step.find)
            assert [t for c, t in line if c == "det"] == [p["count"] for p in parsed]
            assert [t for c, t in line if c == "colorinfo"] == [p["colour"] for p in parsed]
            assert [t for c, t in line if c == "theme"] == [f"{p['kind']} {p['size']}" for p in parsed]
            hand = Counter({(g.shape.name, g.colour.name): g.count for g in step.find})
            totals = Counter(hand)
        assert len(step.step_lines) == len(step.placed)
        for index, line in zip(step.placed, step.step_lines):
            part = parts[index]
            kind = (part.shape.name, part.colour.name)
            text = _text(line)
            match = ASSEMBLY.match(text)
            assert match, text
            tags = {cls: t for cls, t in line if cls}
            assert tags["verb"] == match["verb"] and tags["det"] == match["det"] and tags["theme"] == match["shape"]
            assert match["shape"] == part.shape.name
            # det and colour against the parts in hand
            assert hand[kind] >= 1, f"{text!r}: {kind} was never found"
            remaining = hand[kind]
            expected_det = {True: {"1", "another"}, False: {"the", "the other", "the last"}}[remaining > 1]
            assert match["det"] in expected_det, (text, remaining)
            if match["det"] == "the":
                assert totals[kind] == 1
            if match["colour"]:
                assert match["colour"] == part.colour.name == tags["colorinfo"]
            else:
                same_shape = {c for (s, c), n in hand.items() if s == part.shape.name and n > 0}
                assert same_shape == {part.colour.name}, f"{text!r} needs its colour"
            hand[kind] -= 1
            # orientation
            square = part.shape.short == part.shape.long
            assert match["orient"] == (None if square else "horizontally" if part.size_x > part.size_y else "vertically")
            # target
            if index == 0:
                assert text.endswith(" on the table.") and match["target"] is None
                continue
            if match["target"] == "previous piece":
                target = parts[index - 1]
            else:
                candidates = [
                    p
                    for p in parts[:index]
                    if p.shape.name == match["tshape"] and (match["tcolour"] is None or p.colour.name == match["tcolour"])
                ]
                assert len(candidates) == 1, f"{text!r}: target is ambiguous or absent"
                target = candidates[0]
                assert tags["target"] == match["target"]
            contacts = [_overlap(part, p) for p in parts[:index] if p.z + p.shape.height == part.z]
            mine = _overlap(part, target) if target.z + target.shape.height == part.z else 0
            assert mine > 0, f"{text!r}: the part does not rest on its target"
            assert mine == max(contacts), f"{text!r}: another part carries more of it"
            x_word = _third(part.x, part.size_x, target.x, target.size_x, ("left", "centre", "right"))
            y_word = _third(part.y, part.size_y, target.y, target.size_y, ("front", "middle", "back"))
            assert match["pos"] == POSITIONS[(x_word, y_word)], text
    assert not +hand, f"{session.name}: found parts never placed: {+hand}"
    assert openers <= 1


def test_every_line_is_true_of_the_geometry(seeded_plans: list[ManualPlan], study_plans: list[ManualPlan]) -> None:
    for manual in seeded_plans + study_plans:
        for session in manual.sessions:
            _check_session_text(session)


def test_find_counts_cover_exactly_the_parts_placed_from_them(study_plans: list[ManualPlan]) -> None:
    for manual in study_plans[:20]:
        for session in manual.sessions:
            open_counts: Counter | None = None
            for step in session.steps:
                if step.has_eop:
                    assert open_counts is None or not +open_counts
                    open_counts = Counter({(g.shape, g.colour): g.count for g in step.find})
                for i in step.placed:
                    open_counts[(session.placements[i].shape, session.placements[i].colour)] -= 1
                    assert min(open_counts.values()) >= 0
            assert open_counts is not None and not +open_counts


def test_eop_share_and_lines_without_find(study_plans: list[ManualPlan]) -> None:
    steps = [step for m in study_plans for s in m.sessions for step in s.steps]
    eop = [step for step in steps if step.has_eop]
    share = len(eop) / len(steps)
    assert 0.80 <= share <= 0.92
    starting = sum(_text(step.eop_lines[0]).startswith(("Find ", "Collect ")) for step in eop)
    assert 0.95 * len(eop) <= starting < len(eop), "a few session openers, like the study (4,784 of 4,814)"
    assert any(not step.has_eop for step in steps)


def test_intro_and_closing(study_plans: list[ManualPlan]) -> None:
    for manual in study_plans:
        (intro,) = manual.intro_lines
        assert _text(intro).startswith(f'LEGO Audio & Braille Building Instructions for the set "{manual.set_name}".')
        assert f"{len(manual.sessions)} numbered bag" in _text(intro)
        assert [_text(line) for line in manual.closing_lines][-1] == "Enjoy!"
        assert _text(manual.closing_lines[0]).startswith("You have finished building the entire set!")


# --- highlight colours ----------------------------------------------------------------------------


def _hsv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    return h * 360, s, v


def test_highlights_are_vivid_distinct_and_unlike_the_part_colours(study_plans: list[ManualPlan]) -> None:
    every: set[tuple[int, int, int]] = set()
    for manual in study_plans:
        boundaries = [s.boundary for s in manual.sessions]
        assert all(b is None for b in boundaries) or all(b is not None for b in boundaries)
        if not manual.highlighted:
            continue
        assert len({b.rgb for b in boundaries}) == len(boundaries)
        for session in manual.sessions:
            hue, saturation, value = _hsv(session.boundary.rgb)
            assert saturation >= 0.8 and value >= 0.95
            every.add(session.boundary.rgb)
            for part in session.placements:
                p_hue, p_sat, p_val = _hsv(part.colour.rgb)
                if p_sat >= 0.2 and p_val >= 0.3:
                    gap = min(abs(hue - p_hue), 360 - abs(hue - p_hue))
                    assert gap >= 30, (session.boundary, part.colour)
    assert len(every) >= 20


def test_plans_do_not_depend_on_the_string_hash_salt() -> None:
    """Same plan in fresh interpreters with different PYTHONHASHSEED (no salted hash() in the planner)."""
    code = (
        "import hashlib; from lego_arta.source.synth.plan import plan_manual; "
        "print(hashlib.sha256(repr(plan_manual(5, 3)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": salt},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for salt in ("1", "2")
    }
    assert len(digests) == 1


# --- catalog and assembly edge cases --------------------------------------------------------------


def test_boundary_colour_avoids_given_part_hues_and_fails_when_none_is_free() -> None:
    rng = random.Random(0)
    palette = [c for c in COLOURS if c.name in {"bright red", "bright yellow", "bright blue", "dark green"}]
    for _ in range(50):
        boundary = pick_boundary_colour(rng, avoid=palette)
        hue = _hsv(boundary.rgb)[0]
        for colour in palette:
            gap = abs(hue - _hsv(colour.rgb)[0])
            assert min(gap, 360 - gap) >= 30
    rainbow = [Colour(f"hue {h}", tuple(round(c * 255) for c in colorsys.hsv_to_rgb(h / 360, 1, 1))) for h in range(0, 360, 30)]
    with pytest.raises(NoBoundaryColour):
        pick_boundary_colour(rng, avoid=rainbow)


def test_a_full_model_accepts_no_more_parts() -> None:
    grey = COLOURS[7]
    state = AssemblyState.start(Placement(Shape("plate", 4, 6), grey, 0, 0, 0))
    # cover the base with tiles: nothing may rest on them
    for x in range(0, 6, 2):
        for y in range(0, 4, 2):
            state = state.with_part(Placement(Shape("tile", 2, 2), grey, x, y, 1))
    assert choose_placement(state, Shape("plate", 1, 1), grey, random.Random(0)) is None
    with pytest.raises(ValueError):
        state.with_part(Placement(Shape("brick", 1, 1), grey, 5, 3, 1))  # would float inside a tile


def test_every_new_part_is_visible_in_its_assembly_image() -> None:
    """Rendered with the manual camera, each step's new parts show pixels (the state task cuts them out)."""
    from lego_arta.source.synth.render import fit_view, render_assembly

    for manual in (plan_manual(1, 2), plan_manual(4, 9)):
        for session in manual.sessions:
            view = fit_view(session.placements, 256, 118)
            present: list[int] = []
            for step in session.steps:
                present += step.placed
                rendering = render_assembly([session.placements[i] for i in present], view)
                shown = {present[label] for label in rendering.boxes}
                assert set(step.placed) <= shown, (manual.manual_id, session.name, step.number)
