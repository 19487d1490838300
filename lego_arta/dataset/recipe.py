"""Build recipes: what a build reads (source), how it annotates (grounder) and how it samples (seeds).

Recipes live as YAML in ``builders/``; every number that shapes a build is named here once, with
the study's value as the default.

>>> load_recipe("builders/quickstart.yaml").source.manuals     # doctest: +SKIP
6
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from lego_arta.tasks import TASKS, default_task_names

from lego_arta.study import IN_CONTEXT_EXAMPLES, KMEANS_CLUSTERS, MIN_DISPLACEMENT, NEGATIVES_PER_STATE, TEST_FRACTION


class RecipeError(ValueError):
    """A recipe file with a missing or mistyped field; the message names the file and the field."""


@dataclass(frozen=True)
class SourceSpec:
    """Where raw manuals come from: generated here (``synthetic``) or an existing folder (``raw``)."""

    kind: Literal["synthetic", "raw"] = "synthetic"
    path: str | None = None
    manuals: int = 6
    seed: int = 0
    width: int = 1024
    height: int = 473


@dataclass(frozen=True)
class BuildRecipe:
    name: str = "quickstart"
    source: SourceSpec = field(default_factory=SourceSpec)
    configs: tuple[str, ...] = field(default_factory=default_task_names)
    grounder: str = "truth"
    seed: int = 0
    test_fraction: float = TEST_FRACTION
    negatives_per_state: int = NEGATIVES_PER_STATE
    min_displacement: float = MIN_DISPLACEMENT
    kmeans_clusters: int = KMEANS_CLUSTERS
    collage_width: int = 1024
    collage_height: int = 473
    in_context_examples: int = IN_CONTEXT_EXAMPLES
    hub_repo: str = "lego-arta/lego-arta"

    def with_overrides(self, *, manuals: int | None = None, seed: int | None = None) -> BuildRecipe:
        """The command line's ``--manuals``/``--seed`` on top of the file."""
        recipe = self
        if manuals is not None:
            recipe = replace(recipe, source=replace(recipe.source, manuals=manuals))
        if seed is not None:
            recipe = replace(recipe, seed=seed, source=replace(recipe.source, seed=seed))
        return recipe

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["configs"] = list(self.configs)
        return data


def _typed(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise RecipeError(f"{where}: unknown field(s) {unknown}; expected some of {sorted(known)}")
    return data


def recipe_from_dict(data: dict[str, Any], *, where: str = "<recipe>") -> BuildRecipe:
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    data = dict(_typed(BuildRecipe, data, where))
    source = data.pop("source", {}) or {}
    if not isinstance(source, dict):
        raise RecipeError(f"{where}: field 'source' must be a mapping")
    source_spec = SourceSpec(**_typed(SourceSpec, source, f"{where}: source"))
    if source_spec.kind not in ("synthetic", "raw"):
        raise RecipeError(f"{where}: source.kind must be 'synthetic' or 'raw', got {source_spec.kind!r}")
    if source_spec.kind == "raw" and not source_spec.path:
        raise RecipeError(f"{where}: source.kind 'raw' needs source.path (a folder of raw manuals)")
    configs = tuple(data.pop("configs", default_task_names()))
    bad = [c for c in configs if c not in TASKS]
    if bad:
        raise RecipeError(f"{where}: configs {bad} unknown; expected some of {list(TASKS)}")
    recipe = BuildRecipe(source=source_spec, configs=configs, **data)
    if not 0 < recipe.test_fraction < 1:
        raise RecipeError(f"{where}: test_fraction must be in (0, 1), got {recipe.test_fraction}")
    return recipe


def load_recipe(path: Path | str) -> BuildRecipe:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RecipeError(f"{path}: recipe file not found") from error
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML ({error})") from error
    return recipe_from_dict(data or {}, where=str(path))
