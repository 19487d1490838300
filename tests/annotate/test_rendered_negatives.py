"""Render-true state negatives, checked against the synthetic truth the generator wrote.

The truth (``truth.json``: placements, what each step places, the highlight colour) and the raw
images are read here directly; geometry is checked by this file's own voxel and stud rules, not by
the planner's checker, and each kind's error is checked for what it claims to be.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lego_arta.annotate.rendered_negatives import (
    NO_TRUTH,
    RENDER_KINDS,
    StepScene,
    iter_negatives,
    step_scene,
)
from lego_arta.annotate.state_negatives import state_negatives
from lego_arta.source.synth.camera import fit_view
from lego_arta.source.synth.catalog import colour_by_name
from lego_arta.source.synth.language import position_phrase
from lego_arta.source.synth.model import Placement, Shape
from lego_arta.source.synth.plan import plan_manual

#: Steps checked per test run (the first ones of highlighted sessions that have a previous step).
STEPS_CHECKED = 30


def _truth(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def _image(folder: Path, file: str) -> np.ndarray:
    with Image.open(folder / "images" / file) as image:
        return np.asarray(image.convert("RGB"))


def _key(p: Placement | dict[str, Any]) -> tuple[Any, ...]:
    if isinstance(p, dict):
        return (p["kind"], p["short"], p["long"], p["colour"], p["x"], p["y"], p["z"], p["along_x"])
    return (p.shape.kind, p.shape.short, p.shape.long, p.colour.name, p.x, p.y, p.z, p.along_x)


def _voxels(p: Placement) -> set[tuple[int, int, int]]:
    sx, sy = (p.shape.long, p.shape.short) if p.along_x else (p.shape.short, p.shape.long)
    height = {"brick": 3, "plate": 1, "tile": 1}[p.shape.kind]
    return {(x, y, z) for x in range(p.x, p.x + sx) for y in range(p.y, p.y + sy) for z in range(p.z, p.z + height)}


def physical_problems(placements: tuple[Placement, ...]) -> list[str]:
    """This test's own rules: the first part on the table, no shared voxel, every other part's
    bottom touching the top of a studded part below it and no tile's top."""
    problems, filled = [], set()
    for i, part in enumerate(placements):
        voxels = _voxels(part)
        if voxels & filled:
            problems.append(f"part {i} overlaps")
        filled |= voxels
        if i == 0:
            continue
        below = {(x, y, z - 1) for x, y, z in voxels if z == part.z}
        resting = [q for q in placements[:i] if below & _voxels(q)]
        if not resting:
            problems.append(f"part {i} rests on nothing")
        if any(q.shape.kind == "tile" for q in resting):
            problems.append(f"part {i} rests on a tile")
    return problems


def _cells(p: Placement) -> set[tuple[int, int]]:
    return {(x, y) for x, y, _ in _voxels(p)}


def _top(p: Placement) -> int:
    return p.z + {"brick": 3, "plate": 1, "tile": 1}[p.shape.kind]


def instruction_allows(wrong: Placement, truth: Placement, earlier: list[Placement]) -> bool:
    """Whether the instruction's words (a target among the supports with most contact, and the
    position phrase on it) also describe ``wrong``: then it would be no error to the text."""
    contact = {i: len(_cells(truth) & _cells(q)) for i, q in enumerate(earlier) if _top(q) == truth.z}
    most = max(contact.values())
    for i in (i for i, n in contact.items() if n == most and n > 0):
        target = earlier[i]
        on_it = _top(target) == wrong.z and _cells(wrong) & _cells(target)
        if on_it and position_phrase(wrong, target) == position_phrase(truth, target):
            return True
    return False


def _steps(raw: Path) -> list[tuple[Path, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(manual folder, session, step, previous step) of highlighted sessions, steps with a previous one."""
    found = []
    for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
        for session in _truth(folder)["sessions"]:
            if session["boundary"] is None:
                continue
            for previous, step in zip(session["steps"], session["steps"][1:]):
                found.append((folder, session, step, previous))
    return found[:STEPS_CHECKED]


@pytest.fixture(scope="module")
def made(synthetic_raw: Path) -> list[tuple[Path, dict[str, Any], dict[str, Any], dict[str, Any], Any]]:
    """Every step checked with its first negative of each kind (or the reason there is none)."""
    rows = []
    for folder, session, step, previous in _steps(synthetic_raw):
        scene = step_scene(folder, step["step"]["file"])
        assert isinstance(scene, StepScene), scene
        for kind in RENDER_KINDS:
            found = iter_negatives(scene, kind, np.random.default_rng(0))
            rows.append((folder, session, step, previous, found if isinstance(found, str) else next(found, None)))
    return rows


def test_the_positive_re_renders_to_the_raw_image_exactly(synthetic_raw: Path) -> None:
    """Same renderer, camera and highlight as the generator: the true state re-rendered is the raw PNG."""
    for folder, _, step, _ in _steps(synthetic_raw):
        scene = step_scene(folder, step["step"]["file"])
        assert isinstance(scene, StepScene)
        assert np.array_equal(scene.positive, _image(folder, step["step"]["file"])), step["step"]["file"]


def test_every_negative_is_valid_differs_from_the_truth_and_shows_its_error(made: list[Any]) -> None:
    kinds: Counter[str] = Counter()
    for folder, session, step, previous, negative in made:
        if negative is None or isinstance(negative, str):
            continue
        kinds[negative.kind] += 1
        truth = [session["placements"][i] for i in step["step"]["present"]]
        shown = [_key(p) for p in negative.placements]
        positive = _image(folder, step["step"]["file"])
        assert negative.image.shape == positive.shape and not np.array_equal(negative.image, positive)
        assert Counter(shown) != Counter(_key(p) for p in truth), (negative.kind, step["step"]["file"])
        assert not physical_problems(negative.placements), (negative.kind, physical_problems(negative.placements))
        boundary = np.asarray(session["boundary"]["rgb"], np.uint8)
        assert (negative.image == boundary).all(axis=2).sum() > 0, "a negative shows the highlight outline, as a positive does"
        last = _key(truth[-1])
        wrong = [k for k in shown if k not in {_key(p) for p in truth}]
        if negative.kind == "undo":
            assert np.array_equal(negative.image, _image(folder, previous["step"]["file"]))
            assert Counter(shown) == Counter(_key(session["placements"][i]) for i in previous["step"]["present"])
            continue
        if negative.kind == "missing":
            assert len(step["placed"]) >= 2 and Counter(shown) == Counter(_key(p) for p in truth[:-1])
            continue
        assert shown[:-1] == [_key(p) for p in truth[:-1]] and len(wrong) == 1, "exactly the last new part is wrong"
        (kind, short, long, colour, x, y, z, along_x), (tk, ts, tl, tc, tx, ty, tz, ta) = wrong[0], last
        if negative.kind in ("shifted", "wrong_layer"):
            true_part = Placement(Shape(last[0], last[1], last[2]), colour_by_name(last[3]), *last[4:])
            assert not instruction_allows(negative.placements[-1], true_part, list(negative.placements[:-1])), (
                negative.kind,
                step["step"]["file"],
            )
        if negative.kind == "shifted":
            assert (kind, short, long, colour, z, along_x) == (tk, ts, tl, tc, tz, ta) and max(abs(x - tx), abs(y - ty)) >= 1
        elif negative.kind == "rotated":
            assert (kind, short, long, colour) == (tk, ts, tl, tc) and along_x != ta and short != long
        elif negative.kind == "wrong_size":
            assert kind == tk and colour == tc and (short, long) != (ts, tl)
        elif negative.kind == "wrong_colour":
            assert (kind, short, long, x, y, z, along_x) == (tk, ts, tl, tx, ty, tz, ta) and colour != tc
        elif negative.kind == "wrong_layer":
            assert (kind, short, long, colour, along_x) == (tk, ts, tl, tc, ta) and z != tz
    assert set(kinds) == set(RENDER_KINDS), f"every kind was made on some step: {dict(kinds)}"


def test_a_kind_that_cannot_apply_says_why(made: list[Any]) -> None:
    reasons = Counter((negative if isinstance(negative, str) else "made") for *_, negative in made)
    assert reasons["made"] > len(made) // 2
    assert "square part looks the same rotated" in reasons and "one-part step (missing it is 'undo')" in reasons


def test_the_same_seed_gives_the_same_bytes(synthetic_raw: Path) -> None:
    folder, session, step, previous = _steps(synthetic_raw)[3]

    def run() -> list[tuple[str, bytes]]:
        result = state_negatives(
            ("displaced", *RENDER_KINDS),
            3,
            np.random.default_rng(11),
            manual_folder=folder,
            step_file=step["step"]["file"],
            step_image=_image(folder, step["step"]["file"]),
            previous_image=_image(folder, previous["step"]["file"]),
            boundary=tuple(session["boundary"]["rgb"]),
            min_displacement=0.05,
        )
        return [(n.kind, n.image.tobytes()) for n in result.negatives]

    first = run()
    assert len(first) == 3 and len({kind for kind, _ in first}) == 3, "three negatives of three different kinds"
    assert first == run()


def test_a_manual_without_3d_truth_counts_render_kinds_as_skips_and_still_pastes(synthetic_raw: Path, tmp_path: Path) -> None:
    folder, session, step, previous = _steps(synthetic_raw)[0]
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("truth.json", "truth-labels"))
    args = dict(
        manual_folder=copy,
        step_file=step["step"]["file"],
        step_image=_image(copy, step["step"]["file"]),
        previous_image=_image(copy, previous["step"]["file"]),
        boundary=tuple(session["boundary"]["rgb"]),
        min_displacement=0.05,
    )
    only_render = state_negatives(("shifted", "undo"), 3, np.random.default_rng(0), **args)
    assert only_render.negatives == () and only_render.rejected == Counter({f"shifted: {NO_TRUTH}": 1, f"undo: {NO_TRUTH}": 1})
    mixed = state_negatives(("shifted", "displaced"), 3, np.random.default_rng(0), **args)
    assert [n.kind for n in mixed.negatives] == ["displaced"] * 3 and mixed.rejected == Counter({f"shifted: {NO_TRUTH}": 1})


def _planned_scene(seed: int, index: int, pick: int) -> StepScene:
    """A step (not a session's first) of a freshly planned, highlighted manual, at 160x74."""
    plan = plan_manual(index, seed, steps_per_session=(3, 8), sessions=(1, 2), highlight_share=1.0)
    session = plan.sessions[pick % len(plan.sessions)]
    number = 1 + pick % (len(session.steps) - 1)
    present = tuple(sorted(i for s in session.steps[: number + 1] for i in s.placed))
    return StepScene(
        session.placements,
        present,
        session.steps[number].placed,
        session.steps[number - 1].placed,
        session.boundary.rgb if session.boundary else None,
        fit_view(session.placements, 160, 74),
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), index=st.integers(0, 40), pick=st.integers(0, 10_000), kind=st.sampled_from(RENDER_KINDS))
def test_any_plan_gives_physically_valid_negatives_that_differ(seed: int, index: int, pick: int, kind: str) -> None:
    scene = _planned_scene(seed, index, pick)
    present = scene.present
    found = iter_negatives(scene, kind, np.random.default_rng(pick))
    if isinstance(found, str):
        return
    truth = Counter(_key(p) for p in scene.shown(present))
    for negative in list(found)[:2]:
        assert Counter(_key(p) for p in negative.placements) != truth
        assert not np.array_equal(negative.image, scene.positive)
        if kind != "undo":
            assert not physical_problems(negative.placements), physical_problems(negative.placements)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), index=st.integers(0, 40), pick=st.integers(0, 10_000), kind=st.sampled_from(RENDER_KINDS))
def test_how_many_negatives_are_taken_never_changes_what_the_generator_draws_next(seed: int, index: int, pick: int, kind: str) -> None:
    """A state shares one seeded generator across its kinds, and candidates are checked only as
    they are taken: taking one or all of a kind must leave the generator in the same state, and
    the first negative must be the same either way."""
    scene = _planned_scene(seed, index, pick)
    one, every = np.random.default_rng(pick), np.random.default_rng(pick)
    first, rest = iter_negatives(scene, kind, one, positive=scene.positive), iter_negatives(scene, kind, every)
    if isinstance(first, str):
        assert first == rest
        return
    taken, whole = next(first, None), list(rest)
    assert (taken is None) == (not whole)
    if taken is not None:
        assert taken.placements == whole[0].placements and np.array_equal(taken.image, whole[0].image)
    assert one.integers(2**62) == every.integers(2**62)


def test_the_task_lists_every_negative_kind_the_annotate_layer_makes() -> None:
    """tasks/state.py (bottom layer) declares the kinds for the lmms-eval TNR columns; annotate makes them."""
    from lego_arta.annotate.state_negatives import KINDS
    from lego_arta.tasks.state import NEGATIVE_KINDS

    assert KINDS == NEGATIVE_KINDS
