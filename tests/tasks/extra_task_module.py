"""A fourth task defined outside the package, as a user would write one: ``last_step``.

"Is this the last assembly step of its session?" over each assembly image; Yes/No, scored by the
registered F1/TNR/FPR/invalid-rate metrics. Nothing in lego_arta names it: it is loaded through
``LEGO_ARTA_TASK_MODULES`` (see tests/tasks/test_extra_task.py).
"""

from __future__ import annotations

from typing import Any

from datasets import Value

from lego_arta.answers import parse_yes_no
from lego_arta.metrics.bootstrap import mean_stats
from lego_arta.metrics.registry import Metric, register_metric
from lego_arta.tasks.floors import Floor, FloorRows
from lego_arta.tasks.prompts import Prompts
from lego_arta.tasks.spec import ImageError, PairContext, TaskSpec

PROMPTS = Prompts("[last]", "", "Is this the last step of this part of the build? Just tell me Yes or No.", {"yes": "Yes.", "no": "No."})


def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
    steps = [step for step, _ in ctx.assembly_rows()]
    last = {step.session: step for step in steps}
    rows = []
    for step in steps:
        try:
            image = ctx.png(ctx.image(step))
        except ImageError:
            ctx.skip("last_step: undecodable assembly image")
            continue
        label = last[step.session] is step
        rows.append(ctx.row(step, PROMPTS.query(), PROMPTS.answer("yes" if label else "no"), "last", image, label=label))
    return rows


def _yes_share(answers, targets) -> list[float]:
    return [100.0 if parse_yes_no(answer) is True else 0.0 for answer in answers]


#: This task's own metric, registered from its module: the share of answers that say Yes.
YES_RATE = register_metric(
    Metric(
        "last_step_yes_rate",
        "Yes rate",
        False,
        lambda a, t: float(sum(_yes_share(a, t)) / max(len(a), 1)),
        lambda a, t: mean_stats(_yes_share(a, t)),
        _yes_share,
        "said_yes",
    )
)


def alternate(rows: FloorRows, train: FloorRows, seed: int) -> tuple[list[str], dict[str, int]]:
    """This task's own floor: "No.", "Yes.", "No.", … in row order, a rule that sees neither image nor label."""
    return [PROMPTS.answer("yes" if index % 2 else "no") for index in range(len(rows.ids))], {"rows": len(rows.ids)}


SPEC = TaskSpec(
    name="last_step",
    prompts=PROMPTS,
    features={"label": Value("bool")},
    make_pairs=make_pairs,
    metrics={"f1": "label", "tnr": "label", "fpr": "label", "invalid_rate": "label", "last_step_yes_rate": "label"},
    reference_columns=("label",),
    description="is this the last assembly step of its session",
    max_new_tokens=8,
    in_context_balance="label",
    verdicts=(PROMPTS.answer("no"), PROMPTS.answer("yes")),
    baselines=(Floor("alternate", "No., Yes., No., … in row order (no image, no label)", alternate),),
)
