"""``scene`` (T1): what to do now. Image of step *t* and the parts just found → the instruction of step *t*.

Pairs are (t-1, t) within a session: t-1 the object-finding row, t the assembly row with the same
step number. That is the default, ``scene_pairing: strict``; an assembly step without its own
object-finding row is a counted skip. The study's table counts a scene for (almost) every assembly
step (5,612 scenes for 5,614 steps): ``scene_pairing: every_step`` pairs such a step with the
session's latest object-finding row before it (the row that named the parts it places). Scored by
T_ACC (reference theme/colour phrases named in the answer), BLEU, ROUGE-1.

>>> SPEC.prompts.query(found="2 bright red bricks 2x4").text
'[grounding] After I find 2 bright red bricks 2x4. Tell me what to do for the current situation.'
>>> SPEC.metric_names
('t_acc', 'bleu', 'rouge1')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datasets import Value

from lego_arta.metrics.text import rouge1_per_sample
from lego_arta.tasks.floors import Floor, nearest_train_answer
from lego_arta.tasks.prompts import finding_line, found_phrase, load_prompts
from lego_arta.tasks.spec import ImageError, List, PairContext, TaskSpec

#: Entity classes whose presence in an answer T_ACC and E_ACC measure (SPEC §4).
SCORED_ENTITY_CLASSES: tuple[str, ...] = ("theme", "colorinfo")

PROMPTS = load_prompts("scene")


def scored_entities(lines: Sequence[Any]) -> list[str]:
    """The theme and colour phrases of tagged lines: what T_ACC and E_ACC look for in an answer."""
    return [text for line in lines for text in line.all(*SCORED_ENTITY_CLASSES)]


def text_agreement(first: Sequence[str], second: Sequence[str]) -> list[float]:
    """ROUGE-1 F1 in percent between two answers (each the other's reference)."""
    return rouge1_per_sample(list(first), list(second))


#: The recipe's ``scene_pairing`` values: the task definition's rule, and the study's count.
STRICT, EVERY_STEP = "strict", "every_step"
PAIRINGS: tuple[str, ...] = (STRICT, EVERY_STEP)


def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    every_step = ctx.recipe.scene_pairing == EVERY_STEP
    latest: dict[str, Any] = {}
    for step, eop in ctx.assembly_rows():
        line = finding_line(eop.lines) if eop is not None else None
        if line is not None:
            latest[step.session] = line
        elif every_step:
            line = latest.get(step.session)
        if line is None:
            ctx.skip("scene: assembly step without a preceding object-finding step" + (" in its session" if every_step else ""))
            continue
        try:
            data = ctx.file_png(step)
        except ImageError:
            ctx.skip("scene: undecodable assembly image")
            continue
        query = PROMPTS.query(found=found_phrase(line))
        rows.append(ctx.row(step, query, step.text, "scene", data, entities=scored_entities(step.lines)))
    return rows


SPEC = TaskSpec(
    name="scene",
    prompts=PROMPTS,
    features={"entities": List(Value("string"))},
    make_pairs=make_pairs,
    metrics={"t_acc": "entities", "bleu": "answer", "rouge1": "answer"},
    reference_columns=("entities",),
    baselines=(
        Floor("tfidf-nearest", "instruction of the most similar train query (TF-IDF cosine)", nearest_train_answer, needs_train=True),
    ),
    instruction_answer=True,
    description="what to do now: the instruction of the current step, from its image and the parts just found",
    study_unit="scenes",
    max_new_tokens=128,
    consistency=text_agreement,
)
