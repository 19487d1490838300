"""Turn one parsed manual into the VQA pairs of the three configs (SPEC §3).

Pairs are (t-1, t) within a session: t-1 the object-finding (eop) row, t the assembly row with the
same step number. Everything here works per manual, so manuals build in parallel and a manual's
pairs depend only on (manual, recipe, seed).

Rows never carry file names or anything else that reveals the answer: ids are hashes, embedded
images are named ``<id>.png``.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from lego_arta.annotate.boundary import BoundaryVote, session_boundary
from lego_arta.annotate.collage import make_collage
from lego_arta.annotate.grounding import Grounder, part_phrases
from lego_arta.annotate.negatives import make_negatives
from lego_arta.dataset.prompts import (
    Query,
    answer_box,
    finding_line,
    found_phrase,
    object_answer,
    object_query,
    scene_query,
    state_answer,
    state_query,
)
from lego_arta.dataset.recipe import COLLAGE_QUADRANTS, BuildRecipe
from lego_arta.parse.manual import Manual, Row

#: Entity classes whose presence in an answer T_ACC and E_ACC measure (SPEC §4).
SCORED_ENTITY_CLASSES: tuple[str, ...] = ("theme", "colorinfo")


class ImageError(ValueError):
    """An image file that cannot be decoded; the message names the file."""


@dataclass
class ManualPairs:
    """The rows one manual contributes to each config, and what was skipped and why."""

    manual_id: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skips: Counter[str] = field(default_factory=Counter)
    annotations: dict[str, Any] = field(default_factory=dict)
    #: Image files (relative to the manual folder) that could not be decoded, with the decoder's reason.
    image_errors: dict[str, str] = field(default_factory=dict)


def pair_id(*parts: object) -> str:
    """Opaque, stable id: the answer cannot be read from it, the same inputs give the same id."""
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:20]


def manual_rng(manual_id: str, seed: int, config: str) -> np.random.Generator:
    """A generator seeded by (seed, manual, config) alone: results depend neither on build order nor
    on which other configs are built (the loading script builds one config at a time)."""
    digest = int.from_bytes(hashlib.sha256(f"{manual_id}|{config}".encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def read_rgb(row: Row) -> np.ndarray:
    """Decode a row's image as RGB uint8 (RGBA flattened onto white); raises :class:`ImageError`."""
    try:
        with Image.open(row.image.path) as image:
            image.load()
            if image.mode == "RGBA":
                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image)
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError, SyntaxError) as error:
        raise ImageError(f"{row.image.path}: cannot decode image ({error})") from error


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def scored_entities(lines: Sequence[Any]) -> list[str]:
    return [text for line in lines for text in line.all(*SCORED_ENTITY_CLASSES)]


def _base(config: str, manual: Manual, row: Row, query: Query, answer: str, variant: str, seed: int) -> dict[str, Any]:
    row_id = pair_id(config, manual.manual_id, row.session, row.step_num, variant, seed)
    return {
        "id": row_id,
        "query": query.text,
        "answer": answer,
        "task_token": query.task_token,
        "instruction": query.instruction,
        "question": query.question,
        "manual_id": manual.manual_id,
        "session": row.session,
        "step_num": int(row.step_num or 0),
    }


def _image_value(row_id: str, data: bytes) -> dict[str, Any]:
    return {"bytes": data, "path": f"{row_id}.png"}


class _Images:
    """Decoded images of one manual, each read once; undecodable files are remembered by name."""

    def __init__(self, manual: Manual, errors: dict[str, str]) -> None:
        self._folder = manual.folder
        self._cache: dict[str, np.ndarray] = {}
        self._errors = errors

    def get(self, row: Row) -> np.ndarray:
        key = row.image.file
        if key not in self._cache:
            try:
                self._cache[key] = read_rgb(row)
            except ImageError as error:
                name = _relative(row, self._folder)
                cause = error.__cause__ or error
                self._errors[name] = f"{type(cause).__name__}: {cause}".replace(str(row.image.path), name)
                raise
        return self._cache[key]


def _relative(row: Row, folder: Path) -> str:
    """A row's image path relative to its manual folder (so reports hold no absolute paths)."""
    try:
        return row.image.path.relative_to(folder).as_posix()
    except ValueError:
        return row.image.path.name


def _assembly_rows(manual: Manual) -> list[tuple[Row, Row | None]]:
    """Assembly rows with their paired eop row (same session and step), in page order."""
    return [(row, manual.eop_row(row.session, row.step_num)) for row in manual.rows if row.step_class == "step" and row.step_num is not None]


def scene_pairs(manual: Manual, recipe: BuildRecipe, out: ManualPairs, images: _Images) -> None:
    rows: list[dict[str, Any]] = []
    for step, eop in _assembly_rows(manual):
        line = finding_line(eop.lines) if eop is not None else None
        if line is None:
            out.skips["scene: assembly step without a preceding object-finding step"] += 1
            continue
        try:
            data = png_bytes(images.get(step))
        except ImageError:
            out.skips["scene: undecodable assembly image"] += 1
            continue
        query = scene_query(found_phrase(line))
        row = _base("scene", manual, step, query, step.text, "scene", recipe.seed)
        row["image"] = _image_value(row["id"], data)
        row["entities"] = scored_entities(step.lines)
        rows.append(row)
    out.rows["scene"] = rows


def object_pairs(manual: Manual, recipe: BuildRecipe, grounder: Grounder, rng: np.random.Generator, out: ManualPairs, images: _Images) -> None:
    eops = [row for row in manual.rows if row.step_class == "eop"]
    grounded: list[tuple[Row, str, tuple[float, float, float, float], list[str]]] = []
    pool: list[Row] = []
    for row in eops:
        line = finding_line(row.lines)
        if line is None:
            out.skips["object: parts row without a Find/Collect line"] += 1
            continue
        try:
            image = images.get(row)
        except ImageError:
            out.skips["object: undecodable parts image"] += 1
            continue
        pool.append(row)
        phrases = part_phrases(line)
        boxes = grounder.ground(row, image, phrases) if phrases else []
        found = [box for box in boxes if box is not None]
        if not phrases or len(found) < len(phrases):
            out.skips[f"object: {grounder.name} grounding found no box for a named part"] += 1
            continue
        union = (min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found), max(b[3] for b in found))
        grounded.append((row, found_phrase(line), union, scored_entities([line])))
        out.annotations.setdefault("grounding", {})[row.image.file] = [list(map(float, b)) for b in found]
    rows: list[dict[str, Any]] = []
    for row, phrase, box, entities in grounded:
        others = [r for r in pool if r.image.file != row.image.file]
        if len(others) < COLLAGE_QUADRANTS - 1:
            out.skips["object: manual has fewer than 4 parts images for a collage"] += 1
            continue
        query = object_query(phrase)
        for quadrant in range(COLLAGE_QUADRANTS):
            picks = rng.choice(len(others), size=COLLAGE_QUADRANTS - 1, replace=False)
            fillers = [images.get(others[int(i)]) for i in picks]
            tiles = fillers[:quadrant] + [images.get(row)] + fillers[quadrant:]
            collage = make_collage(tiles, quadrant, box, size=(recipe.collage_width, recipe.collage_height))
            frame_box = tuple(float(v) for v in answer_box(collage.box))
            record = _base("object", manual, row, query, object_answer(phrase, frame_box), f"object-{quadrant}", recipe.seed)
            record["image"] = _image_value(record["id"], png_bytes(collage.image))
            record.update(object=phrase, box=list(frame_box), entities=entities, quadrant=quadrant)
            rows.append(record)
    out.rows["object"] = rows


def _session_votes(manual: Manual, recipe: BuildRecipe, images: _Images, out: ManualPairs) -> dict[str, BoundaryVote]:
    """Boundary colour vote per session; a session with an undecodable assembly image gets none."""
    votes: dict[str, BoundaryVote] = {}
    for session in manual.sessions:
        steps = [row for row in manual.rows if row.step_class == "step" and row.session == session]
        try:
            pixels = [images.get(row) for row in steps]
        except ImageError:
            continue
        votes[session] = session_boundary(pixels, clusters=recipe.kmeans_clusters, seed=recipe.seed)
    out.annotations["boundary"] = {
        s: {"color_list": [list(c) for c in v.color_list], "bound_color": None if v.bound_color is None else list(v.bound_color)}
        for s, v in votes.items()
    }
    return votes


def state_pairs(manual: Manual, recipe: BuildRecipe, rng: np.random.Generator, out: ManualPairs, images: _Images) -> None:
    votes = _session_votes(manual, recipe, images, out)
    rows: list[dict[str, Any]] = []
    previous: dict[str, Row] = {}
    for step, eop in _assembly_rows(manual):
        before = previous.get(step.session)
        previous[step.session] = step
        vote = votes.get(step.session)
        if vote is None:
            out.skips["state: step of a session with an undecodable assembly image"] += 1
            continue
        if vote.bound_color is None:
            out.skips["state: session without a highlight (boundary) colour"] += 1
            continue
        line = finding_line(eop.lines) if eop is not None else None
        if line is None:
            out.skips["state: assembly step without a preceding object-finding step"] += 1
            continue
        if before is None:
            out.skips["state: first assembly step of a session (no previous assembly image)"] += 1
            continue
        result = make_negatives(
            images.get(step), images.get(before), vote.bound_color, rng,
            count=recipe.negatives_per_state, min_displacement=recipe.min_displacement,
        )
        for reason, number in result.rejected.items():
            out.skips[f"state negative rejected: {reason}"] += number
        if len(result.negatives) < recipe.negatives_per_state:
            out.skips["state: fewer valid negatives than negatives_per_state"] += 1
            continue
        query = state_query(found_phrase(line), step.text)
        positive = _base("state", manual, step, query, state_answer(True), "positive", recipe.seed)
        positive["image"] = _image_value(positive["id"], png_bytes(images.get(step)))
        positive.update(label=True, negative_kind="none", displacement=0.0)
        rows.append(positive)
        for index, negative in enumerate(result.negatives):
            record = _base("state", manual, step, query, state_answer(False), f"displaced-{index}", recipe.seed)
            record["image"] = _image_value(record["id"], png_bytes(negative.image))
            record.update(label=False, negative_kind="displaced", displacement=float(round(negative.displacement, 4)))
            rows.append(record)
    out.rows["state"] = rows


def build_manual_pairs(manual: Manual, recipe: BuildRecipe, grounder: Grounder, *, strict: bool = False) -> ManualPairs:
    """All rows of every configured task for one manual, shuffled within the manual (seeded).

    An undecodable image is a counted skip (and listed in :attr:`ManualPairs.image_errors`), or with
    ``strict`` an :class:`ImageError` naming the file before any pair is made.
    """
    out = ManualPairs(manual.manual_id)
    images = _Images(manual, out.image_errors)
    if strict:
        for row in manual.rows:
            if row.step_class in ("eop", "step"):
                images.get(row)
    for config in recipe.configs:
        rng = manual_rng(manual.manual_id, recipe.seed, config)
        if config == "scene":
            scene_pairs(manual, recipe, out, images)
        elif config == "object":
            object_pairs(manual, recipe, grounder, rng, out, images)
        else:
            state_pairs(manual, recipe, rng, out, images)
        rows = out.rows[config]
        out.rows[config] = [rows[int(i)] for i in rng.permutation(len(rows))]
    return out


def iter_rows(pairs: Sequence[ManualPairs], config: str) -> Iterator[dict[str, Any]]:
    for manual_pairs in pairs:
        yield from manual_pairs.rows.get(config, [])
