"""``object`` (T2): box the parts to find in a 2x2 collage of parts images.

Each object-finding row whose parts the grounder finds gives four pairs, one per quadrant the
row's image is placed in; the other three tiles are other parts images of the same manual. The
answer names the parts and their union box in the collage's 0–100 frame; each row keeps the
collage's ``image_size`` (width, height) so answers in absolute pixels can be scored. Scored by E_ACC (query
phrases named in the label) with the echo rate beside it (an answer that repeats the query's
phrase gets E_ACC 100), IoU, the rate of answers with a usable box, and quadrant accuracy (the
box centre in the right tile) with its position-bias breakdown: accuracy per true quadrant and
where the boxes land.

>>> SPEC.prompts.answer("box", object="2 red bricks 2x4", x1=10, y1=20, x2=30, y2=40)
'<p>2 red bricks 2x4</p>{<10><20><30><40>}'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from datasets import Value

from lego_arta.answers import parse_boxes
from lego_arta.boxes import union_box
from lego_arta.metrics.boxes import box_iou
from lego_arta.metrics.quadrants import QUADRANT_NAMES
from lego_arta.study import COLLAGE_QUADRANTS
from lego_arta.tasks.floors import Box, Floor, FloorRows
from lego_arta.tasks.prompts import answer_box, finding_line, found_phrase, load_prompts
from lego_arta.tasks.scene import scored_entities
from lego_arta.tasks.spec import ImageError, List, PairContext, TaskSpec

PROMPTS = load_prompts("object")
#: What a box metric reads beside its target: the collage's size (width, height in pixels, for
#: answers in absolute pixels) and the run's box convention (a run column, ``auto`` by default).
_FRAMED = ("image_size", "box_format")


def object_answer(object_phrase: str, box: tuple[float, float, float, float]) -> str:
    """``<p>phrase</p>{<x1><y1><x2><y2>}`` with integer coordinates in the 0–100 frame (see :func:`answer_box`)."""
    x1, y1, x2, y2 = answer_box(box)
    return PROMPTS.answer("box", object=object_phrase, x1=x1, y1=y1, x2=x2, y2=y2)


def box_agreement(first: Sequence[str], second: Sequence[str]) -> list[float]:
    """IoU in percent between the first boxes of two answers; 0 when either has none.

    >>> box_agreement(["<p>a</p>{<0><0><10><10>}", "none"], ["<p>a</p>{<5><0><15><10>}", "<p>a</p>{<0><0><1><1>}"])
    [33.33333333333333, 0.0]
    """
    scores = []
    for a, b in zip(first, second, strict=True):
        boxes_a, boxes_b = parse_boxes(a), parse_boxes(b)
        scores.append(100.0 * box_iou(boxes_a[0][1], boxes_b[0][1]) if boxes_a and boxes_b else 0.0)
    return scores


def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
    grounded = []
    pool = []
    for row in ctx.manual.rows:
        if row.step_class != "eop":
            continue
        line = finding_line(row.lines)
        if line is None:
            ctx.skip("object: parts row without a Find/Collect line")
            continue
        try:
            image = ctx.image(row)
        except ImageError:
            ctx.skip("object: undecodable parts image")
            continue
        pool.append(row)
        found = ctx.ground(row, image, line)
        if found is None:
            continue
        grounded.append((row, found_phrase(line), union_box(found), scored_entities([line])))
    rows: list[dict[str, Any]] = []
    for row, phrase, box, entities in grounded:
        others = [r for r in pool if r.image.file != row.image.file]
        if len(others) < COLLAGE_QUADRANTS - 1:
            ctx.skip("object: manual has fewer than 4 parts images for a collage")
            continue
        query = PROMPTS.query(object=phrase)
        for quadrant in range(COLLAGE_QUADRANTS):
            picks = ctx.rng.choice(len(others), size=COLLAGE_QUADRANTS - 1, replace=False)
            fillers = [ctx.image(others[int(i)]) for i in picks]
            tiles = fillers[:quadrant] + [ctx.image(row)] + fillers[quadrant:]
            collage, collage_box = ctx.collage(tiles, quadrant, box)
            frame_box = tuple(float(v) for v in answer_box(collage_box))
            height, width = collage.shape[:2]
            rows.append(
                ctx.row(
                    row,
                    query,
                    object_answer(phrase, frame_box),
                    f"object-{quadrant}",
                    ctx.png(collage),
                    object=phrase,
                    box=list(frame_box),
                    entities=entities,
                    quadrant=quadrant,
                    image_size=[int(width), int(height)],
                )
            )
    return rows


#: The centre quarter of the frame: the box a detector with no idea where to look would give.
CENTRE_BOX: Box = (25.0, 25.0, 75.0, 75.0)


@cache
def _object_question_pattern() -> re.Pattern[str]:
    """The object question template with its ``{object}`` slot as a capture group."""
    marker = "\x00"
    before, after = (" ".join(part.split()) for part in PROMPTS.question.format(object=marker).split(marker))
    return re.compile(re.escape(before) + r"\s*(.+?)\s*" + re.escape(after), re.DOTALL)


def object_phrase(query: str) -> str:
    """The object phrase an object query asks about (what fills the template's ``{object}``).

    >>> object_phrase(PROMPTS.query(object="2 bright red bricks 2x4").text)
    '2 bright red bricks 2x4'
    """
    found = _object_question_pattern().search(" ".join(query.split()))
    if found is None:
        raise ValueError(f"not an object-task query (no 'positions of <object>.' question): {query[:120]!r}")
    return found.group(1)


def centre_box_answer(query: str) -> str:
    """The query's own phrase and the centre box: full E_ACC by construction, IoU from chance overlap."""
    return object_answer(object_phrase(query), CENTRE_BOX)


def outward_integer_box(box: Box) -> Box:
    """The smallest integer box holding ``box``: answers print integers, and rounding a thin box
    could leave it without area (an invalid answer).

    >>> outward_integer_box((54.3, 10.0, 54.6, 12.5))
    (54.0, 10.0, 55.0, 13.0)
    """
    x1, y1, x2, y2 = box
    return (float(math.floor(x1)), float(math.floor(y1)), float(math.ceil(x2)), float(math.ceil(y2)))


def _centre(rows: FloorRows, train: FloorRows, seed: int) -> tuple[list[str], dict[str, int]]:
    return [centre_box_answer(query) for query in rows.queries], {}


def _colour(rows: FloorRows, train: FloorRows, seed: int) -> tuple[list[str], dict[str, int]]:
    """The box of the largest blob of the query's colours (the evaluation layer's detector); the centre box when none is found."""
    if rows.colour_box is None:
        raise ValueError("the colour-detector floor needs rows with a colour_box detector")
    answers, fallbacks = [], 0
    for query, image in zip(rows.queries, rows.iter_images(), strict=True):
        phrase = object_phrase(query)
        box = rows.colour_box(image, phrase)
        fallbacks += box is None
        answers.append(object_answer(phrase, CENTRE_BOX if box is None else outward_integer_box(box)))
    return answers, {"centre_box_fallbacks": fallbacks}


FLOORS: tuple[Floor, ...] = (
    Floor("centre-box", "the query's object phrase with the centre box <25><25><75><75>", _centre),
    Floor("colour-detector", "box of the largest blob of the query's colours (OpenCV, CIE Lab)", _colour, needs_images=True),
)


SPEC = TaskSpec(
    name="object",
    prompts=PROMPTS,
    features={
        "object": Value("string"),
        "box": List(Value("float32"), length=4),
        "entities": List(Value("string")),
        "quadrant": Value("int8"),
        "image_size": List(Value("int32"), length=2),
    },
    make_pairs=make_pairs,
    metrics={
        "e_acc": "entities",
        "echo_rate": "object",
        "iou": ("box", *_FRAMED),
        "valid_box_rate": _FRAMED,
        "quadrant_acc": ("quadrant", *_FRAMED),
        **{f"quadrant_acc_{q}": ("quadrant", *_FRAMED) for q in QUADRANT_NAMES},
        **{f"predicted_{q}": ("quadrant", *_FRAMED) for q in QUADRANT_NAMES},
    },
    reference_columns=("entities", "box", "quadrant", "object", "image_size"),
    baselines=FLOORS,
    description="where are the parts: the named parts' box in a 2x2 collage of parts images",
    study_unit="objects",
    max_new_tokens=64,
    consistency=box_agreement,
)
