"""The dataset card (README.md) of a build: YAML ``configs``/``dataset_info`` plus readable statistics.

The YAML block is what lets ``datasets.load_dataset(<folder or repo>, "state")`` find each config's
Parquet files without any script. Each config's ``dataset_info`` carries a digest of its Parquet
files in ``description``: ``datasets`` keys its cache of a local folder by the card's YAML only
(not by the files' contents), so without it a rebuild into the same folder could be served from
the stale cache of the previous build.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources
from string import Template
from typing import Any

import datasets
import yaml

from lego_arta import CITATION, __version__
from lego_arta.dataset.benchmark import BENCHMARK_VERSION, recipe_digest
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.study import study_statistics
from lego_arta.tasks import get_task


def config_description(config: str, fingerprint: str) -> str:
    """The ``dataset_info`` description of a config, naming the digest of its data files."""
    return f"LEGO-ARTA {config} task; data fingerprint sha256:{fingerprint}"


def card_yaml(counts: Mapping[str, Mapping[str, int]], num_bytes: Mapping[str, Mapping[str, int]], fingerprints: Mapping[str, str]) -> str:
    """``configs`` (data_files per split) and ``dataset_info`` (features, split sizes, data digest) for every config."""
    configs = []
    infos = []
    for config in sorted(counts):
        configs.append({"config_name": config, "data_files": [{"split": split, "path": f"{config}/{split}-*"} for split in counts[config]]})
        splits = datasets.SplitDict()
        for split in counts[config]:
            splits.add(datasets.SplitInfo(split, num_bytes=int(num_bytes[config][split]), num_examples=int(counts[config][split])))
        info = datasets.DatasetInfo(features=get_task(config).all_features(), config_name=config, splits=splits)._to_yaml_dict()
        infos.append({"config_name": info.pop("config_name"), "description": config_description(config, fingerprints[config]), **info})
    return yaml.safe_dump(
        {
            "configs": configs,
            "dataset_info": infos,
            "license": "other",
            "task_categories": ["visual-question-answering"],
            "language": ["en"],
            "pretty_name": "LEGO-ARTA",
        },
        sort_keys=False,
    ).strip()


def absent_markdown(absent: Mapping[str, Sequence[str]]) -> str:
    """The configs a build left out because a split had no rows (empty when none), after the table.

    >>> print(absent_markdown({"state": ["train", "test"]}).strip())
    Left out, because a split has no rows (datasets cannot load it): `state` (no train, test rows). The skips below say why; manifest.json lists them under `absent_configs`.
    """
    if not absent:
        return ""
    named = "; ".join(f"`{config}` (no {', '.join(splits)} rows)" for config, splits in sorted(absent.items()))
    return (
        f"\n\nLeft out, because a split has no rows (datasets cannot load it): {named}. "
        "The skips below say why; manifest.json lists them under `absent_configs`."
    )


def statistics_markdown(counts: Mapping[str, Mapping[str, int]], units: Mapping[str, int]) -> str:
    """Markdown table: pairs per split and per config, units (scenes/objects/states), study figures."""
    study = study_statistics()
    lines = [
        "| config | train pairs | test pairs | all pairs | units | study units | study pairs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for config in sorted(counts):
        train, test = counts[config].get("train", 0), counts[config].get("test", 0)
        unit = get_task(config).study_unit
        study_units, study_pairs = (study.get((config, unit)), study.get((config, "vqa_pairs"))) if unit else (None, None)
        lines.append(
            f"| {config} | {train:,} | {test:,} | {train + test:,} | {units.get(config, 0):,} | "
            f"{_count(study_units)} | {_count(study_pairs)} |"
        )
    total = sum(sum(c.values()) for c in counts.values())
    lines.append(
        f"| **all** | {sum(c.get('train', 0) for c in counts.values()):,} | {sum(c.get('test', 0) for c in counts.values()):,} | "
        f"{total:,} | | | {study[('overall', 'vqa_pairs')]:,.0f} |"
    )
    return "\n".join(lines)


def _count(value: float | None) -> str:
    """A study figure, or an en dash for a task the study did not have."""
    return "–" if value is None else f"{value:,.0f}"


def skips_markdown(skips: Counter[str]) -> str:
    if not skips:
        return "- nothing was skipped"
    return "\n".join(f"- {count:,} × {reason}" for reason, count in sorted(skips.items()))


def task_notes(recipe: BuildRecipe) -> dict[str, Any]:
    """What each built task records about itself (:attr:`~lego_arta.tasks.spec.TaskSpec.build_notes`)."""
    return {c: dict(spec.build_notes(recipe)) for c in recipe.configs if (spec := get_task(c)).build_notes is not None}


def task_notes_markdown(recipe: BuildRecipe) -> str:
    notes = task_notes(recipe)
    if not notes:
        return "- none of the built tasks records anything beyond the recipe"
    return "\n\n".join(f"`{task}`:\n\n```json\n{json.dumps(value, indent=1, sort_keys=True)}\n```" for task, value in notes.items())


def render_card(
    recipe: BuildRecipe,
    counts: Mapping[str, Mapping[str, int]],
    num_bytes: Mapping[str, Mapping[str, int]],
    units: Mapping[str, int],
    skips: Counter[str],
    *,
    load_path: str,
    fingerprints: Mapping[str, str],
    manuals: int,
    absent: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The README of a build; ``fingerprints`` maps each config to the digest of its data files,
    ``manuals`` is how many manuals were actually read (a ``--raw`` folder may differ from the recipe);
    ``absent`` the configs left out, with their empty splits."""
    template = Template(resources.files("lego_arta").joinpath("data/dataset_card.md").read_text(encoding="utf-8"))
    source = f"{recipe.source.kind}, {manuals} manuals" if recipe.source.kind == "synthetic" else f"raw manuals folder, {manuals} manuals"
    return template.substitute(
        yaml=card_yaml(counts, num_bytes, fingerprints),
        recipe_name=recipe.name,
        source=source,
        grounder=recipe.grounder,
        seed=recipe.seed,
        negatives=", ".join(f"`{kind}`" for kind in recipe.negatives),
        scene_pairing=recipe.scene_pairing,
        test_percent=round(recipe.test_fraction * 100),
        version=__version__,
        benchmark_version=BENCHMARK_VERSION,
        recipe_digest=recipe_digest(recipe.to_dict()),
        citation=CITATION,
        statistics=statistics_markdown(counts, units) + absent_markdown(absent or {}),
        skips=skips_markdown(skips),
        task_notes=task_notes_markdown(recipe),
        load_path=load_path,
    )
