"""``order``: attached or removed? Two assembly images of one session, in order or reversed.

After STEP (Self-attentive Temporal Embedding Probing): attaching a part and removing it look
alike frame by frame, and only the order of the frames tells them apart, so a model (or a probe)
that cannot see order scores exactly 50 here. Each assembly step *t* with two earlier assembly
steps in its session gives one pair of rows sharing a ``pair`` id: the frames t-2 → t ("Attached.",
the parts found at steps t-1 and t were added) and t → t-2 ("Removed."). Both rows come from the
same manual, so the manual-grouped splits keep them together. The first frame is the row's
``image``, the second ``second_image`` (:attr:`TaskSpec.extra_images`): the harness shows both, in
order. Scored by accuracy, symmetric-pair accuracy (both orders right) and flip consistency
(:mod:`lego_arta.metrics.order`); always answering "Attached" scores 50, 0 and 0. Where the model
gives its probability of "Attached" (the run column ``p_yes``), AUROC and average precision too.

The task token is ``[order]`` rather than the ``[state]`` of the issue that proposed the task: the
LLaVA export merges every task, and a model fine-tuned on it must tell the Yes/No state question
from this one. The task is not in the default build (``make run`` stays as fast as before); a
recipe that names ``order`` in ``configs`` builds it.

>>> SPEC.prompts.query(parts="1 red brick 2x4").text
'[order] The first image was taken before the second. Was 1 red brick 2x4 attached or removed between them? Answer Attached or Removed.'
>>> order_answer(True), order_answer(False)
('Attached.', 'Removed.')
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import datasets
from datasets import Value

from lego_arta.answers import parse_attached_removed
from lego_arta.tasks.prompts import finding_line, found_phrase, load_prompts
from lego_arta.tasks.spec import ImageError, PairContext, TaskSpec

PROMPTS = load_prompts("order")
#: Steps between the two frames: t-2 → t spans the parts found at t-1 and t.
GAP = 2


def order_answer(attached: bool) -> str:
    return PROMPTS.answer("attached" if attached else "removed")


def same_order_verdict(first: Sequence[str], second: Sequence[str]) -> list[float]:
    """100 where both answers give the same readable verdict, else 0.

    >>> same_order_verdict(["Attached.", "removed", "?"], ["attached", "Attached", "?"])
    [100.0, 0.0, 0.0]
    """
    verdicts = [(parse_attached_removed(a), parse_attached_removed(b)) for a, b in zip(first, second, strict=True)]
    return [100.0 if a is not None and a == b else 0.0 for a, b in verdicts]


def _pair_key(*parts: object) -> str:
    """Opaque id shared by a pair's two rows: it reveals neither the order nor the answer."""
    return hashlib.sha256("|".join(map(str, ("order-pair", *parts))).encode("utf-8")).hexdigest()[:20]


def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    sessions: dict[str, list[tuple[Any, Any]]] = {}
    for step, eop in ctx.assembly_rows():
        sessions.setdefault(step.session, []).append((step, eop))
    for steps in sessions.values():
        for index, (step, eop) in enumerate(steps):
            if index < GAP:
                ctx.skip(f"order: one of the first {GAP} assembly steps of a session (no step t-{GAP})")
                continue
            lines = [finding_line(e.lines) if e is not None else None for _, e in steps[index - GAP + 1 : index + 1]]
            if any(line is None for line in lines):
                ctx.skip("order: a step between the frames has no preceding object-finding step")
                continue
            earlier = steps[index - GAP][0]
            try:
                before, after = ctx.png(ctx.image(earlier)), ctx.png(ctx.image(step))
            except ImageError:
                ctx.skip("order: undecodable assembly image (step t or t-2)")
                continue
            query = PROMPTS.query(parts=" and ".join(found_phrase(line) for line in lines))
            pair = _pair_key(ctx.manual.manual_id, step.session, step.step_num, ctx.recipe.seed)
            for attached, first, second in ((True, before, after), (False, after, before)):
                rows.append(
                    ctx.row(
                        step,
                        query,
                        order_answer(attached),
                        "attached" if attached else "removed",
                        first,
                        second_image=second,
                        label=attached,
                        pair={"id": pair, "attached": attached},
                    )
                )
    return rows


SPEC = TaskSpec(
    name="order",
    prompts=PROMPTS,
    features={
        "second_image": datasets.Image(),
        "label": Value("bool"),
        "pair": {"id": Value("string"), "attached": Value("bool")},
    },
    make_pairs=make_pairs,
    metrics={
        "order_accuracy": "label",
        "order_pair_accuracy": "pair",
        "order_flip_consistency": "pair",
        "order_auroc": ("label", "p_yes"),
        "order_average_precision": ("label", "p_yes"),
    },
    reference_columns=("label", "pair"),
    verdicts=(order_answer(False), order_answer(True)),
    description="attached or removed: two assembly images of one session, in order (t-2 then t) or reversed",
    max_new_tokens=16,
    in_context_balance="label",
    in_default_build=False,
    group="lego_arta_temporal",
    consistency=same_order_verdict,
    extra_images=("second_image",),
)
