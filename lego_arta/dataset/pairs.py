"""Turn one parsed manual into the rows of every task (SPEC §3), through each task's pair maker.

Each :class:`~lego_arta.tasks.spec.TaskSpec` makes its own pairs; this module gives it a
:class:`ManualContext`: the manual's images decoded once (:class:`~lego_arta.dataset.manual_images.ManualImages`), the recipe's grounder, collages,
boundary colours and negatives from :mod:`lego_arta.annotate`, row assembly with an opaque id, and
skip counting. Everything here works per manual, so manuals build in parallel and a manual's rows
depend only on (manual, recipe, seed).

Rows never carry file names or anything else that reveals the answer: ids are hashes, embedded
images are named ``<id>.png``. Every row is checked against its task's features where it is made.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lego_arta.annotate.boundary import BoundaryVote, session_boundary
from lego_arta.annotate.collage import make_collage
from lego_arta.annotate.grounding import Grounder, part_phrases
from lego_arta.annotate.rendered_negatives import step_scene
from lego_arta.annotate.state_negatives import StateNegatives, state_negatives
from lego_arta.dataset.costs import JobClocks, JobCost
from lego_arta.dataset.manual_images import ManualImages
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.parse.manual import Manual, Row
from lego_arta.source.synth.camera import View, box_corners, project
from lego_arta.source.synth.model import Placement
from lego_arta.tasks import get_task
from lego_arta.tasks.prompts import Query
from lego_arta.tasks.spec import ErrorTruth, ImageError, Part, TaskSpec, check_row

__all__ = ["ImageError", "ManualContext", "ManualPairs", "build_manual_pairs", "iter_rows", "pair_id", "vote_and_build_pairs"]


@dataclass
class ManualPairs:
    """The rows one manual contributes to each task, and what was skipped and why."""

    manual_id: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skips: Counter[str] = field(default_factory=Counter)
    annotations: dict[str, Any] = field(default_factory=dict)
    #: Image files (relative to the manual folder) that could not be decoded, with the decoder's reason.
    image_errors: dict[str, str] = field(default_factory=dict)
    #: What making them cost (seconds, PNG encodes, the worker's peak memory): run facts for the
    #: build's summary and benchmarks, never written into the build (they differ between runs).
    cost: JobCost | None = None
    #: The sessions' boundary votes, when the job voted itself (:func:`vote_and_build_pairs`).
    votes: dict[str, Any] | None = None


def pair_id(*parts: object) -> str:
    """Opaque, stable id: the answer cannot be read from it, the same inputs give the same id."""
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:20]


def manual_rng(manual_id: str, seed: int, task: str) -> np.random.Generator:
    """A generator seeded by (seed, manual, task) alone: results depend neither on build order nor
    on which other tasks are built (the loading script builds one config at a time)."""
    digest = int.from_bytes(hashlib.sha256(f"{manual_id}|{task}".encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def clamp_box(box: Sequence[float], width: int, height: int) -> tuple[float, float, float, float] | None:
    """A pixel box cut to its image (``width``×``height``), or ``None`` when nothing of it is inside.

    A grounder's box may come from elsewhere than the decoded image (truth boxes are in the
    generator's pixels): a box off the image would map far outside the 0–100 frame.

    >>> clamp_box((-5, 10, 50, 400), 100, 200), clamp_box((120, 0, 130, 10), 100, 200)
    ((0.0, 10.0, 50.0, 200.0), None)
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    right, bottom = float(width), float(height)
    x1, x2 = max(0.0, min(x1, right)), max(0.0, min(x2, right))
    y1, y2 = max(0.0, min(y1, bottom)), max(0.0, min(y2, bottom))
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2


class ManualContext:
    """The :class:`~lego_arta.tasks.spec.PairContext` of one manual and one task."""

    def __init__(
        self,
        manual: Manual,
        recipe: BuildRecipe,
        grounder: Grounder,
        spec: TaskSpec,
        out: ManualPairs,
        images: ManualImages,
        votes: dict[str, BoundaryVote | None],
        skip_prefix: str = "",
    ) -> None:
        self.manual, self.recipe, self.spec = manual, recipe, spec
        self.rng = manual_rng(manual.manual_id, recipe.seed, spec.name)
        self._grounder, self._out, self._images, self._votes = grounder, out, images, votes
        self._skip_prefix = skip_prefix

    def for_task(self, name: str) -> ManualContext:
        """The context another task's pair maker would get for this manual (the same seeded
        generator, so the same rows), its skips counted under this task's name."""
        return ManualContext(
            self.manual,
            self.recipe,
            self._grounder,
            get_task(name),
            self._out,
            self._images,
            self._votes,
            skip_prefix=f"{self._skip_prefix}{self.spec.name} via ",
        )

    def image(self, row: Row) -> np.ndarray:
        return self._images.get(row)

    def png(self, image: np.ndarray, like: Row | None = None) -> bytes:
        return self._images.png(image, like)

    def file_png(self, row: Row) -> bytes:
        return self._images.file_png(row)

    def skip(self, reason: str, count: int = 1) -> None:
        self._out.skips[self._skip_prefix + reason] += count

    def annotate(self, kind: str, key: str, value: Any) -> None:
        self._out.annotations.setdefault(kind, {})[key] = value

    def assembly_rows(self) -> list[tuple[Row, Row | None]]:
        manual = self.manual
        return [
            (row, manual.eop_row(row.session, row.step_num)) for row in manual.rows if row.step_class == "step" and row.step_num is not None
        ]

    def row(self, step: Row, query: Query, answer: str, variant: str, image: bytes, **columns: Any) -> dict[str, Any]:
        task, manual = self.spec.name, self.manual
        row_id = pair_id(task, manual.manual_id, step.session, step.step_num, variant, self.recipe.seed)
        record = {
            "id": row_id,
            "query": query.text,
            "answer": answer,
            "task_token": query.task_token,
            "instruction": query.instruction,
            "question": query.question,
            "manual_id": manual.manual_id,
            "session": step.session,
            "step_num": int(step.step_num or 0),
            "image": {"bytes": image, "path": f"{row_id}.png"},
            **columns,
        }
        for name in self.spec.extra_images:  # further frames, named after the row like its image
            if isinstance(record.get(name), bytes):
                record[name] = {"bytes": record[name], "path": f"{row_id}-{name}.png"}
        check_row(self.spec, record, where=f"{manual.manual_id}: {task} pair maker")
        return record

    def ground(self, row: Row, image: np.ndarray, line: Any) -> list[Any] | None:
        phrases = part_phrases(line)
        boxes = self._grounder.ground(row, image, phrases) if phrases else []
        found = [box for box in boxes if box is not None]
        if not phrases or len(found) < len(phrases):
            self.skip(f"{self.spec.name}: {self._grounder.name} grounding found no box for a named part")
            return None
        height, width = image.shape[:2]
        found = [clamp_box(box, width, height) for box in found]
        if any(box is None for box in found):
            self.skip(f"{self.spec.name}: grounded box outside its image")
            return None
        self.annotate("grounding", row.image.file, [list(map(float, b)) for b in found])
        return found

    def collage(self, tiles: Sequence[np.ndarray], quadrant: int, box: Any) -> tuple[np.ndarray, Any]:
        collage = make_collage(tiles, quadrant, box, size=(self.recipe.collage_width, self.recipe.collage_height), tiles=self._images.tiles)
        return collage.image, collage.box

    def boundary_colour(self, session: str) -> tuple[Any, bool]:
        if not self._votes:
            self._vote_sessions()
        vote = self._votes.get(session)
        return (None, False) if vote is None else (vote.bound_color, True)

    def _vote_sessions(self) -> None:
        self._votes.update(session_votes(self.manual, self.recipe, self._images))
        self._out.annotations["boundary"] = boundary_annotations(self._votes)

    def negatives(self, step: Row, before: Row, colour: Any) -> StateNegatives:
        """The state's negatives of the recipe's kinds (:mod:`lego_arta.annotate.state_negatives`)."""
        return state_negatives(
            self.recipe.negatives,
            self.recipe.negatives_per_state,
            self.rng,
            manual_folder=self.manual.folder,
            step_file=step.image.file,
            step_image=self.image(step),
            previous_image=self.image(before),
            boundary=colour,
            min_displacement=self.recipe.min_displacement,
        )

    def error_truth(self, step: Row, negative: Any) -> ErrorTruth | str:
        """What a negative of :meth:`negatives` got wrong (:func:`error_truth`)."""
        height, width = negative.image.shape[:2]
        return error_truth(self.manual.folder, step.image.file, negative, (width, height))


def truth_part(placement: Placement) -> Part:
    """A placement of the generator as a task sees it (plain values, :class:`~lego_arta.tasks.spec.Part`)."""
    shape = placement.shape
    return Part(
        shape.kind,
        shape.short,
        shape.long,
        placement.colour.name,
        placement.x,
        placement.y,
        placement.z,
        placement.along_x,
        shape.name,
        shape.height,
    )


def frame_box_of(placements: Sequence[Placement], view: View) -> tuple[float, float, float, float]:
    """The 0–100 frame box of the placements as the camera projects them (studs included), clipped to the image."""
    corners = np.concatenate([project(box_corners(p), view) for p in placements])
    low, high = corners.min(axis=0), corners.max(axis=0)
    x1, x2 = (float(np.clip(v / view.width * 100.0, 0.0, 100.0)) for v in (low[0], high[0]))
    y1, y2 = (float(np.clip(v / view.height * 100.0, 0.0, 100.0)) for v in (low[1], high[1]))
    return round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)


def error_truth(manual_folder: Path, step_file: str, negative: Any, image_size: tuple[int, int]) -> ErrorTruth | str:
    """What ``negative`` (a state negative of the step image ``step_file``) got wrong: see
    :meth:`lego_arta.tasks.spec.PairContext.error_truth`. ``image_size`` is (width, height) of a pasted negative."""
    pasted = getattr(negative, "pasted_box", None)
    if pasted is not None:
        width, height = image_size
        x1, y1, x2, y2 = pasted
        return ErrorTruth(negative.kind, None, (), (100.0 * x1 / width, 100.0 * y1 / height, 100.0 * x2 / width, 100.0 * y2 / height))
    scene = step_scene(manual_folder, step_file)
    if isinstance(scene, str):
        return scene
    last = scene.placements[scene.present[-1]]
    if negative.kind == "undo":
        placed = scene.shown(scene.placed)
        return ErrorTruth("undo", None, tuple(truth_part(p) for p in placed), frame_box_of(placed, scene.view))
    if negative.kind == "missing":
        return ErrorTruth("missing", None, (truth_part(last),), frame_box_of([last], scene.view))
    wrong = negative.placements[-1]
    return ErrorTruth(negative.kind, truth_part(wrong), (truth_part(last),), frame_box_of([wrong], scene.view))


def session_votes(
    manual: Manual, recipe: BuildRecipe, images: ManualImages | None = None, *, clocks: JobClocks | None = None
) -> dict[str, BoundaryVote | None]:
    """Boundary colour vote of every session, over the assembly images that decode.

    One undecodable image costs only its own pairs (it is listed in the image errors): the
    session still votes on the rest. A session none of whose images decode gets no vote.
    Without ``images``, the manual's images are decoded here, charged to ``clocks``.
    """
    images = images or ManualImages(manual, {}, clocks or JobClocks())
    votes: dict[str, BoundaryVote | None] = {}
    for session in manual.sessions:
        pixels = []
        for row in manual.rows:
            if row.step_class == "step" and row.session == session:
                try:
                    pixels.append(images.get(row))
                except ImageError:
                    continue
        votes[session] = session_boundary(pixels, clusters=recipe.kmeans_clusters, seed=recipe.seed) if pixels else None
    return votes


def boundary_annotations(votes: dict[str, BoundaryVote | None]) -> dict[str, Any]:
    """The manifest's record of the votes: candidate colours and the voted colour per session."""
    return {
        s: {"color_list": [list(c) for c in v.color_list], "bound_color": None if v.bound_color is None else list(v.bound_color)}
        for s, v in votes.items()
        if v is not None
    }


#: Stratum of a manual with at least one highlighted session: the state task needs one.
HIGHLIGHT = "highlight"


def manual_strata(votes: dict[str, BoundaryVote | None]) -> frozenset[str]:
    """What a manual offers the split's stratification: :data:`HIGHLIGHT` when a session has a boundary colour.

    >>> manual_strata({"a": None}), manual_strata({"a": BoundaryVote((), (255, 0, 0), 1.0)})
    (frozenset(), frozenset({'highlight'}))
    """
    return frozenset({HIGHLIGHT}) if any(v is not None and v.bound_color is not None for v in votes.values()) else frozenset()


def vote_and_build_pairs(
    manual: Manual, recipe: BuildRecipe, grounder: Grounder, *, strict: bool = False, clocks: JobClocks | None = None
) -> ManualPairs:
    """The sessions' votes, then every task's rows (for every split), from one decode of each image.

    The same rows as :func:`build_manual_pairs` given the votes :func:`session_votes` makes in a
    job of its own, and the votes come back in :attr:`ManualPairs.votes`: a build whose tasks all
    have every split needs no split before the pairs, so it votes here and splits afterwards.
    The image work is charged to ``clocks``.
    """
    images = ManualImages(manual, {}, clocks or JobClocks())
    votes = session_votes(manual, recipe, images)
    pairs = build_manual_pairs(manual, recipe, grounder, strict=strict, votes=votes, images=images)
    pairs.votes = votes
    return pairs


def build_manual_pairs(
    manual: Manual,
    recipe: BuildRecipe,
    grounder: Grounder,
    *,
    strict: bool = False,
    split: str | None = None,
    votes: dict[str, BoundaryVote | None] | None = None,
    images: ManualImages | None = None,
    clocks: JobClocks | None = None,
) -> ManualPairs:
    """All rows of every task the recipe names for one manual, shuffled within the manual (seeded).

    With the manual's ``split``, a task without that split makes no rows for it (by design, not a skip).

    An undecodable image is a counted skip (and listed in :attr:`ManualPairs.image_errors`), or with
    ``strict`` an :class:`ImageError` naming the file before any pair is made. ``votes`` are the
    sessions' boundary votes when the split already made them (:func:`session_votes`); ``images``
    the manual's images already decoded for them (what failed to decode there is tried again here,
    so the image errors are the ones this call meets). Without ``images``, the image work is
    charged to ``clocks``.
    """
    out = ManualPairs(manual.manual_id)
    images = images.recording(out.image_errors) if images is not None else ManualImages(manual, out.image_errors, clocks or JobClocks())
    if strict:
        for row in manual.rows:
            if row.step_class in ("eop", "step"):
                images.get(row)
    if votes:
        votes = dict(votes)
        out.annotations["boundary"] = boundary_annotations(votes)
    else:
        votes = {}
    for task in recipe.configs:
        if split is not None and split not in get_task(task).splits:
            out.rows[task] = []
            continue
        context = ManualContext(manual, recipe, grounder, get_task(task), out, images, votes)
        rows = context.spec.make_pairs(context)
        out.rows[task] = [rows[int(i)] for i in context.rng.permutation(len(rows))]
    return out


def iter_rows(pairs: Sequence[ManualPairs], task: str) -> Iterator[dict[str, Any]]:
    for manual_pairs in pairs:
        yield from manual_pairs.rows.get(task, [])
