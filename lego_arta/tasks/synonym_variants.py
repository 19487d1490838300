"""``<task>_syn``: each task's test rows with their verbs replaced by unseen synonyms (after ACE).

A variant row is its original row (same images, answer and columns; id + :data:`SUFFIX`) whose
query says the same thing in verbs held out of training by the build's :class:`SynonymSplit`:
"After I find …" becomes "After I spot …", "Did I do it correctly for Put …" becomes
"… for Rest …", the object question's "identify" becomes "pinpoint". Replacements are fixed per
row by (build seed, row id). Variants are evaluation-only (test split) and are built only when a
recipe names them; ``lego-arta robustness`` compares a model's answers on both.

Scene references stay the manual's own text: a model that answers with the synonym it was asked
in loses T_ACC only if the synonym replaces a scored theme or colour phrase (it never does: only
verbs change), and ROUGE-1/BLEU lose the verb's unigram, which is the wording sensitivity the
variant exists to measure.

>>> [spec.name for spec in SPECS]
['scene_syn', 'object_syn', 'state_syn']
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from lego_arta.tasks.object import SPEC as OBJECT
from lego_arta.tasks.prompts import compose_query
from lego_arta.tasks.scene import SPEC as SCENE
from lego_arta.tasks.spec import PairContext, PairMaker, TaskSpec, check_row
from lego_arta.tasks.state import SPEC as STATE
from lego_arta.tasks.synonyms import SynonymSplit, load_trees, replace_verbs, row_rng, unseen_choices

#: Appended to the original row's id.
SUFFIX = "-syn"
#: lmms-eval tag of the variants' main query setting.
GROUP = "lego_arta_syn"


@cache
def synonym_split(seed: int) -> SynonymSplit:
    """The build's seen/unseen split of every synonym tree (the build seed)."""
    return SynonymSplit.make(load_trees(), seed=seed)


def variant_row(row: dict[str, Any], split: SynonymSplit) -> dict[str, Any] | None:
    """``row`` with its query verbs replaced by unseen synonyms; ``None`` when it has no verb with a tree."""
    vocabulary = load_trees()
    choices = unseen_choices(f"{row['instruction']} {row['question']}", vocabulary, split, row_rng(row["id"], split.seed))
    if not choices:
        return None
    variant_id = row["id"] + SUFFIX
    instruction, question = replace_verbs(row["instruction"], choices), replace_verbs(row["question"], choices)
    return {
        **row,
        "id": variant_id,
        "image": {**row["image"], "path": f"{variant_id}.png"},
        "instruction": instruction,
        "question": question,
        "query": compose_query(row["task_token"], instruction, question),
    }


def _pair_maker(base: TaskSpec, name: str) -> PairMaker:
    def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
        split = synonym_split(ctx.recipe.seed)
        rows = []
        for row in base.make_pairs(ctx.for_task(base.name)):
            variant = variant_row(row, split)
            if variant is None:
                ctx.skip(f"{name}: query without a verb that has a synonym tree")
                continue
            check_row(base, variant, where=f"{ctx.manual.manual_id}: {name}")
            rows.append(variant)
        return rows

    return make_pairs


def _notes(recipe: Any) -> dict[str, Any]:
    return {"synonym_split": synonym_split(recipe.seed).to_dict()}


def variant(base: TaskSpec) -> TaskSpec:
    """The unseen-synonym variant of ``base``: same features and metrics, test split only, opt-in."""
    name = f"{base.name}{SUFFIX.replace('-', '_')}"
    return replace(
        base,
        name=name,
        make_pairs=_pair_maker(base, name),
        description=f"{base.description}, asked with unseen verb synonyms",
        study_unit=None,
        baselines=(),
        splits=("test",),
        in_default_build=False,
        group=GROUP,
        build_notes=_notes,
        examples_from=base.name,
    )


SPECS: tuple[TaskSpec, ...] = tuple(variant(spec) for spec in (SCENE, OBJECT, STATE))
