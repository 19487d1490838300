"""``object`` (T2): box the parts to find in a 2x2 collage of parts images.

Each object-finding row whose parts the grounder finds gives four pairs, one per quadrant the
row's image is placed in; the other three tiles are other parts images of the same manual. The
answer names the parts and their union box in the collage's 0–100 frame. Scored by E_ACC (query
phrases named in the label) with the echo rate beside it (an answer that repeats the query's
phrase gets E_ACC 100), IoU, the rate of answers with a usable box, and quadrant accuracy (the
box centre in the right tile) with its position-bias breakdown: accuracy per true quadrant and
where the boxes land.

>>> SPEC.prompts.answer("box", object="2 red bricks 2x4", x1=10, y1=20, x2=30, y2=40)
'<p>2 red bricks 2x4</p>{<10><20><30><40>}'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datasets import Value

from lego_arta.answers import parse_boxes
from lego_arta.boxes import union_box
from lego_arta.metrics.boxes import box_iou
from lego_arta.metrics.quadrants import QUADRANT_NAMES
from lego_arta.study import COLLAGE_QUADRANTS
from lego_arta.tasks.prompts import answer_box, finding_line, found_phrase, load_prompts
from lego_arta.tasks.scene import scored_entities
from lego_arta.tasks.spec import ImageError, List, PairContext, TaskSpec


PROMPTS = load_prompts("object")


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
            rows.append(ctx.row(row, query, object_answer(phrase, frame_box), f"object-{quadrant}", ctx.png(collage),
                                object=phrase, box=list(frame_box), entities=entities, quadrant=quadrant))  # fmt: skip
    return rows


SPEC = TaskSpec(
    name="object",
    prompts=PROMPTS,
    features={
        "object": Value("string"),
        "box": List(Value("float32"), length=4),
        "entities": List(Value("string")),
        "quadrant": Value("int8"),
    },
    make_pairs=make_pairs,
    parse_answer=parse_boxes,
    metrics={"e_acc": "entities", "echo_rate": "object", "iou": "box", "valid_box_rate": "box", "quadrant_acc": "quadrant",
             **{f"quadrant_acc_{q}": "quadrant" for q in QUADRANT_NAMES}, **{f"predicted_{q}": "quadrant" for q in QUADRANT_NAMES}},
    reference_columns=("entities", "box", "quadrant", "object"),
    description="where are the parts: the named parts' box in a 2x2 collage of parts images",
    study_unit="objects",
    study_metrics=("e_acc", "iou"),
    max_new_tokens=64,
    consistency=box_agreement,
)
