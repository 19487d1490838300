"""``state`` (T3): was the step done right? A step image, real or with an execution error → Yes/No.

Each assembly step that follows an object-finding step and has a previous assembly image in its
session gives one positive (the real step image, "Yes.") and ``negatives_per_state`` negatives
("No.") of the recipe's ``negatives`` kinds, each row's ``negative_kind``: ``displaced`` (the
study's: the highlighted new part cut out by the session's boundary colour and pasted displaced
onto the previous step's image) or a render-true execution error re-rendered from a synthetic
manual's 3D truth (``shifted``, ``rotated``, ``wrong_size``, ``wrong_colour``, ``missing``,
``wrong_layer``, ``undo``; see ``docs/negatives.md``). Sessions without a highlight colour give no
pairs (counted).
Scored by F1 (positive = Yes), TNR, FPR and the rate of unreadable verdicts, and by what a
constant cannot game: balanced accuracy and MCC (always-"Yes." gets 50 and 0), group accuracy
(a state counts only when its real image gets Yes and all its negatives No; the pairs of one
state share manual, session and step) and the TNR per ``negative_kind``; threshold-free, where the
model gives its P(Yes) (the run column ``p_yes``), AUROC and average precision (absent otherwise).

>>> state_answer(True), state_answer(False)
('Yes.', 'No.')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datasets import Value

from lego_arta.answers import parse_yes_no
from lego_arta.tasks.floors import Floor, constant, seeded_choice
from lego_arta.tasks.prompts import finding_line, found_phrase, load_prompts, strip_final_punctuation
from lego_arta.tasks.spec import Breakdown, ImageError, PairContext, TaskSpec

PROMPTS = load_prompts("state")
#: ``negative_kind`` of a positive (the real image).
POSITIVE_KIND = "none"
#: Kinds of negative the build makes; the lmms-eval tasks list a TNR for each (scoring reports
#: every kind the rows carry, listed here or not).
NEGATIVE_KINDS: tuple[str, ...] = ("displaced", "shifted", "rotated", "wrong_size", "wrong_colour", "missing", "wrong_layer", "undo")
#: The columns that identify one state: its pairs share them.
STATE_KEY = ("manual_id", "session", "step_num")


def state_answer(label: bool) -> str:
    return PROMPTS.answer("yes" if label else "no")


def same_verdict(first: Sequence[str], second: Sequence[str]) -> list[float]:
    """100 where both answers give the same readable verdict, else 0 (an unreadable one agrees with nothing).

    >>> same_verdict(["Yes.", "no", "maybe"], ["yes", "No, wrong.", "maybe"])
    [100.0, 100.0, 0.0]
    """
    verdicts = [(parse_yes_no(a), parse_yes_no(b)) for a, b in zip(first, second, strict=True)]
    return [100.0 if a is not None and a == b else 0.0 for a, b in verdicts]


def _variant(kind: str, index: int) -> str:
    """The row-id variant of a state's ``index``-th negative: the pasted ones keep the ids they had
    before negatives had kinds (``displaced-0``), so a study build's ids do not move."""
    return f"{kind}-{index}"


def state_negatives(ctx: PairContext, step: Any, before: Any, colour: Any, task: str) -> Any | None:
    """The negatives of an assembly step that qualifies as a state (``ctx.negatives``'s result), or ``None``.

    Both images must decode, and the recipe's ``negatives_per_state`` valid negatives must be made;
    otherwise the step is a counted skip under ``task``'s name, as is every rejected candidate.
    ``state`` and ``guide`` (which asks about the same states) share this one rule.
    """
    try:
        ctx.image(step), ctx.image(before)
    except ImageError:
        ctx.skip(f"{task}: undecodable assembly image (this step's or the previous step's)")
        return None
    result = ctx.negatives(step, before, colour)
    for reason, number in result.rejected.items():
        ctx.skip(f"{task} negative rejected: {reason}", number)
    if len(result.negatives) < ctx.recipe.negatives_per_state:
        ctx.skip(f"{task}: fewer valid negatives than negatives_per_state")
        return None
    return result


def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    previous: dict[str, Any] = {}
    for step, eop in ctx.assembly_rows():
        before = previous.get(step.session)
        previous[step.session] = step
        colour, decoded = ctx.boundary_colour(step.session)
        if not decoded:
            ctx.skip("state: step of a session with an undecodable assembly image")
            continue
        if colour is None:
            ctx.skip("state: session without a highlight (boundary) colour")
            continue
        line = finding_line(eop.lines) if eop is not None else None
        if line is None:
            ctx.skip("state: assembly step without a preceding object-finding step")
            continue
        if before is None:
            ctx.skip("state: first assembly step of a session (no previous assembly image)")
            continue
        result = state_negatives(ctx, step, before, colour, "state")
        if result is None:
            continue
        query = PROMPTS.query(found=found_phrase(line), instruction=strip_final_punctuation(step.text))
        rows.append(
            ctx.row(
                step,
                query,
                state_answer(True),
                "positive",
                ctx.png(ctx.image(step)),
                label=True,
                negative_kind=POSITIVE_KIND,
                displacement=0.0,
            )
        )
        for index, negative in enumerate(result.negatives):
            rows.append(
                ctx.row(
                    step,
                    query,
                    state_answer(False),
                    _variant(negative.kind, index),
                    ctx.png(negative.image, like=step),
                    label=False,
                    negative_kind=negative.kind,
                    displacement=float(round(negative.displacement, 4)),
                )
            )
    return rows


#: Probability of "Yes." in the random floor.
RANDOM_YES_PROBABILITY = 0.5
#: The floors: constants (always-yes scores F1 = 2P/(2P+N) of the label counts, TNR 0; always-no F1 0,
#: TNR 100) and a seeded coin per row id.
FLOORS: tuple[Floor, ...] = (
    Floor("always-yes", 'answers "Yes." to every row', constant(state_answer(True))),
    Floor("always-no", 'answers "No." to every row', constant(state_answer(False))),
    Floor(
        "random",
        f'"Yes." with probability {RANDOM_YES_PROBABILITY}, seeded per row id',
        seeded_choice((state_answer(False), state_answer(True)), RANDOM_YES_PROBABILITY),
    ),
)


SPEC = TaskSpec(
    name="state",
    prompts=PROMPTS,
    features={"label": Value("bool"), "negative_kind": Value("string"), "displacement": Value("float32")},
    make_pairs=make_pairs,
    metrics={
        "f1": "label",
        "tnr": "label",
        "fpr": "label",
        "invalid_rate": "label",
        "balanced_acc": "label",
        "mcc": "label",
        "group_acc": ("label", *STATE_KEY),
        "auroc": ("label", "p_yes"),
        "average_precision": ("label", "p_yes"),
    },
    reference_columns=("label", "negative_kind", *STATE_KEY),
    baselines=FLOORS,
    verdicts=(state_answer(False), state_answer(True)),
    verdict_follows_instruction=True,
    description="was it done right: Yes or No for a step image, real or with an execution error",
    study_unit="states",
    max_new_tokens=16,
    in_context_balance="label",
    consistency=same_verdict,
    breakdown=Breakdown("tnr", "negative_kind", declared=NEGATIVE_KINDS, skip=(POSITIVE_KIND,)),
)
