"""Build recipes: what a build reads (source), how it annotates (grounder) and how it samples (seeds).

Recipes are YAML files; the project's own ship inside the package (``lego_arta/recipes/``, which
``builders/`` in a checkout points to), so ``load_recipe("quickstart")`` works wherever the
package is installed, and a path works too. Every number that shapes a build is named here once,
with the study's value as the default.

>>> load_recipe("quickstart").source.manuals
6
>>> "study" in packaged_recipes()
True
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from lego_arta.annotate.grounding import GroundingError, grounder_spec
from lego_arta.annotate.rendered_negatives import RENDER_KINDS
from lego_arta.annotate.state_negatives import KINDS as NEGATIVE_KINDS
from lego_arta.inputs import brief, load_yaml
from lego_arta.study import IN_CONTEXT_EXAMPLES, KMEANS_CLUSTERS, MIN_DISPLACEMENT, NEGATIVES_PER_STATE, TEST_FRACTION
from lego_arta.tasks import TASKS, default_task_names
from lego_arta.tasks.scene import PAIRINGS as SCENE_PAIRINGS
from lego_arta.tasks.scene import STRICT


class RecipeError(ValueError):
    """A recipe file with a missing or mistyped field; the message names the file and the field."""


def _number(value: float | None) -> str:
    """A bound as written in a message: whole numbers in full (``4294967295``), others short (``0.05``)."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Rule:
    """What one recipe field accepts: a type and a range (or a pattern), said once as data.

    The same rule checks a YAML value (naming the file and field) and a recipe built in code, and
    writes the "must be …" half of the message, so the check and what it says cannot drift apart.

    >>> Rule(int, low=1).problem(0)
    'must be an integer >= 1'
    >>> Rule(float, low=0, high=1, open_low=True, open_high=True).problem("0.25")
    'must be a number in (0, 1)'
    """

    kind: type
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False

    def describe(self) -> str:
        """The accepted values in words, e.g. ``an integer >= 1`` or ``a number in (0, 1)``."""
        noun = {int: "an integer", float: "a number", str: "a string"}[self.kind]
        if self.choices:
            return f"one of {list(self.choices)}"
        if self.pattern is not None:
            return f"{noun} matching {self.pattern}"
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            return f"{noun} in {'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"
        if self.low is not None:
            return f"{noun} {'>' if self.open_low else '>='} {low}"
        if self.high is not None:
            return f"{noun} {'<' if self.open_high else '<='} {high}"
        return noun

    def _typed(self, value: Any) -> bool:
        if isinstance(value, bool):  # YAML's true/false are ints to Python, never a count or a rate
            return False
        if self.kind is float:
            return isinstance(value, (int, float)) and math.isfinite(value)
        return isinstance(value, self.kind)

    def problem(self, value: Any) -> str | None:
        """``None`` when ``value`` is accepted, else ``must be …`` (the message's second half)."""
        if value is None and self.optional:
            return None
        if not self._typed(value):
            return f"must be {self.describe()}"
        if self.choices and value not in self.choices:
            return f"must be {self.describe()}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"must be {self.describe()}"
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return f"must be {self.describe()}"
        if self.high is not None and (value >= self.high if self.open_high else value > self.high):
            return f"must be {self.describe()}"
        return None


#: A name used as one folder name (the synthetic cache): no separator, no leading dot, no ``..``.
SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
#: A Hub repo id, ``org/name``.
HUB_REPO = r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*"
#: Seeds go to numpy and scikit-learn, which take 0 … 2**32 - 1.
SEED_RULE = Rule(int, low=0, high=2**32 - 1)
#: Image sides in pixels; smaller images leave too few pixels per part, larger ones only cost memory.
SIDE_RULE = Rule(int, low=32, high=8192)

SOURCE_RULES: dict[str, Rule] = {
    "kind": Rule(str, choices=("synthetic", "raw")),
    "path": Rule(str, optional=True),
    "manuals": Rule(int, low=1, high=100_000),
    "seed": SEED_RULE,
    "width": SIDE_RULE,
    "height": SIDE_RULE,
}
#: Every scalar field of :class:`BuildRecipe` (``source``, ``configs`` and ``grounder`` have their own checks).
RECIPE_RULES: dict[str, Rule] = {
    "name": Rule(str, pattern=SAFE_NAME),
    "seed": SEED_RULE,
    "test_fraction": Rule(float, low=0, high=1, open_low=True, open_high=True),
    "negatives_per_state": Rule(int, low=1, high=1000),
    "min_displacement": Rule(float, low=0, high=1, open_high=True),
    "kmeans_clusters": Rule(int, low=1, high=256),
    "collage_width": SIDE_RULE,
    "collage_height": SIDE_RULE,
    "in_context_examples": Rule(int, low=0, high=64),
    "scene_pairing": Rule(str, choices=SCENE_PAIRINGS),
    "hub_repo": Rule(str, pattern=HUB_REPO),
}


def _check(rules: dict[str, Rule], values: dict[str, Any], where: str, prefix: str = "") -> None:
    for name, rule in rules.items():
        if name in values and (problem := rule.problem(values[name])) is not None:
            raise RecipeError(f"{where}: field '{prefix}{name}' {problem}, got {brief(values[name])}")


def _check_source(source: SourceSpec, where: str) -> None:
    _check(SOURCE_RULES, asdict(source), where, "source.")
    if source.kind == "raw" and not source.path:
        raise RecipeError(f"{where}: source.kind 'raw' needs source.path (a folder of raw manuals)")


def _check_names(names: Any, allowed: tuple[str, ...], name: str, what: str, where: str) -> None:
    """A non-empty list of distinct names from ``allowed`` (a recipe's ``configs``, its ``negatives``)."""
    if not isinstance(names, tuple) or not names or not all(isinstance(n, str) for n in names):
        raise RecipeError(f"{where}: field '{name}' must be a non-empty list of {what} from {list(allowed)}, got {brief(names)}")
    bad = [n for n in names if n not in allowed]
    if bad:
        raise RecipeError(f"{where}: field '{name}' names unknown {what} {bad}; expected some of {list(allowed)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RecipeError(f"{where}: field '{name}' names {twice} more than once: {list(names)}")


def _check_recipe(recipe: BuildRecipe, where: str) -> None:
    _check(RECIPE_RULES, {f.name: getattr(recipe, f.name) for f in fields(recipe)}, where)
    configs = recipe.configs
    _check_names(configs, tuple(TASKS), "configs", "task names", where)
    _check_names(recipe.negatives, NEGATIVE_KINDS, "negatives", "state negative kinds", where)
    require = recipe.require
    if not isinstance(require, tuple) or not all(isinstance(c, str) for c in require):
        raise RecipeError(f"{where}: field 'require' must be a list of configs from {list(configs)}, got {brief(require)}")
    if set(require) - set(configs):
        raise RecipeError(
            f"{where}: field 'require' names {sorted(set(require) - set(configs))}, which the recipe does not build ({list(configs)})"
        )
    if not isinstance(recipe.grounder, str):
        raise RecipeError(f"{where}: field 'grounder' must be a string, got {brief(recipe.grounder)}")
    try:
        grounder_spec(recipe.grounder)
    except GroundingError as error:
        raise RecipeError(f"{where}: field 'grounder': {error}") from None
    if not isinstance(recipe.source, SourceSpec):
        raise RecipeError(f"{where}: field 'source' must be a mapping")


@dataclass(frozen=True)
class SourceSpec:
    """Where raw manuals come from: generated here (``synthetic``) or an existing folder (``raw``)."""

    kind: Literal["synthetic", "raw"] = "synthetic"
    path: str | None = None
    manuals: int = 6
    seed: int = 0
    width: int = 1024
    height: int = 473

    def __post_init__(self) -> None:
        """A source built in code (tests, ``dataclasses.replace``) is held to the rules a file is."""
        _check_source(self, "recipe")


#: The quick-start mix of state negatives: every render-true kind, none pasted (the pasted
#: ``displaced`` method leaves a sprite a model can spot; ``builders/study.yaml`` keeps it).
DEFAULT_NEGATIVES: tuple[str, ...] = RENDER_KINDS


@dataclass(frozen=True)
class BuildRecipe:
    """A whole build. ``negatives`` lists the state negative kinds to mix (see
    :mod:`lego_arta.annotate.state_negatives`): ``displaced`` works on any manual, the render-true
    kinds need a synthetic manual's 3D truth (elsewhere each is a counted skip). ``scene_pairing``
    is ``strict`` (a scene only for an assembly step with its own object-finding row) or
    ``every_step`` (the study's count; see :mod:`lego_arta.tasks.scene`)."""

    name: str = "quickstart"
    source: SourceSpec = field(default_factory=SourceSpec)
    configs: tuple[str, ...] = field(default_factory=default_task_names)
    grounder: str = "truth"
    seed: int = 0
    test_fraction: float = TEST_FRACTION
    negatives_per_state: int = NEGATIVES_PER_STATE
    min_displacement: float = MIN_DISPLACEMENT
    negatives: tuple[str, ...] = DEFAULT_NEGATIVES
    kmeans_clusters: int = KMEANS_CLUSTERS
    collage_width: int = 1024
    collage_height: int = 473
    in_context_examples: int = IN_CONTEXT_EXAMPLES
    scene_pairing: str = STRICT
    hub_repo: str = "lego-arta/lego-arta"
    #: Configs that must have rows in every split: the build fails without them (others are left out and reported).
    require: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """A recipe built in code (tests, ``dataclasses.replace``, overrides) is held to the rules a file is."""
        _check_recipe(self, "recipe")

    def with_overrides(self, *, manuals: int | None = None, seed: int | None = None) -> BuildRecipe:
        """The command line's ``--manuals``/``--seed`` on top of the file."""
        recipe = self
        try:
            if manuals is not None:
                recipe = replace(recipe, source=replace(recipe.source, manuals=manuals))
            if seed is not None:
                recipe = replace(recipe, seed=seed, source=replace(recipe.source, seed=seed))
        except RecipeError as error:
            raise RecipeError(f"--manuals/--seed: {error}") from None
        return recipe

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["configs"] = list(self.configs)
        data["negatives"] = list(self.negatives)
        data["require"] = list(self.require)
        return data


def _typed(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise RecipeError(f"{where}: unknown field(s) {unknown}; expected some of {sorted(known)}")
    return data


def _as_float(rules: dict[str, Rule], data: dict[str, Any]) -> dict[str, Any]:
    """Whole numbers written for number fields (``test_fraction: 1``) held as floats, so the manifest is typed alike."""
    return {k: float(v) if k in rules and rules[k].kind is float and rules[k].problem(v) is None else v for k, v in data.items()}


def recipe_from_dict(data: dict[str, Any], *, where: str = "<recipe>") -> BuildRecipe:
    """A checked recipe from parsed YAML; every problem is a :class:`RecipeError` naming ``where`` and the field."""
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    data = dict(_typed(BuildRecipe, data, where))
    source = data.pop("source", {}) or {}
    if not isinstance(source, dict):
        raise RecipeError(f"{where}: field 'source' must be a mapping")
    source = _as_float(SOURCE_RULES, _typed(SourceSpec, source, f"{where}: source"))
    _check(SOURCE_RULES, source, where, "source.")
    configs = data.pop("configs", default_task_names())
    if not isinstance(configs, (list, tuple)):
        raise RecipeError(f"{where}: field 'configs' must be a non-empty list of task names from {list(TASKS)}, got {brief(configs)}")
    if "negatives" in data:
        negatives = data["negatives"]
        if not isinstance(negatives, (list, tuple)):
            raise RecipeError(
                f"{where}: field 'negatives' must be a non-empty list of state negative kinds from {list(NEGATIVE_KINDS)}, got {brief(negatives)}"
            )
        data["negatives"] = tuple(negatives)
    require = data.pop("require", []) or []
    if not isinstance(require, (list, tuple)):
        raise RecipeError(f"{where}: field 'require' must be a list of configs, got {brief(require)}")
    data = _as_float(RECIPE_RULES, data)
    _check(RECIPE_RULES, data, where)
    try:
        return BuildRecipe(source=SourceSpec(**source), configs=tuple(configs), require=tuple(require), **data)
    except RecipeError as error:
        raise RecipeError(str(error).replace("recipe: ", f"{where}: ", 1)) from None


#: The recipes shipped as package data (``lego_arta/recipes/<name>.yaml``).
PACKAGED_RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
RECIPE_SUFFIX = ".yaml"


def packaged_recipes() -> tuple[str, ...]:
    """Names of the recipes shipped with the package, sorted (``lego-arta build NAME`` takes them)."""
    return tuple(sorted(path.stem for path in PACKAGED_RECIPES_DIR.glob(f"*{RECIPE_SUFFIX}")))


def recipe_path(name_or_path: Path | str) -> Path:
    """A recipe file: ``name_or_path`` when that file exists, else the packaged recipe of that name.

    A bare name (no folder, no suffix) that is neither is an error listing the packaged names.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    packaged = PACKAGED_RECIPES_DIR / f"{path.name}{RECIPE_SUFFIX}"
    if packaged.is_file():
        return packaged
    raise RecipeError(f"{path}: no such recipe file, nor a packaged recipe (packaged: {', '.join(packaged_recipes())})")


def load_recipe(path: Path | str) -> BuildRecipe:
    """Read a recipe file, or a packaged recipe by name (:func:`recipe_path`); errors name the file and the field."""
    path = recipe_path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError as error:
        raise RecipeError(f"{path}: recipe file not found") from error
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"{path}: cannot read the recipe ({error})") from error
    except ValueError as error:  # invalid YAML, an alias, or too large
        raise RecipeError(str(error)) from None
    return recipe_from_dict(data or {}, where=str(path))
