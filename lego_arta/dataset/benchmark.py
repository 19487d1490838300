"""The benchmark's version: semantic versioning of the task definitions, apart from the toolkit's.

Two result files can only be compared when they were computed on data built from the same task
definitions: the prompts, the answer formats, the state negative kinds and the split rule. Those
are versioned here as :data:`BENCHMARK_VERSION` (``MAJOR.MINOR.PATCH``: a major step changes
what a row asks or how it is scored, a minor one adds a task, a config or a negative kind that
leaves existing rows alone, a patch fixes wording without changing any answer), recorded per
version in ``CHANGELOG.md``. Every build writes it, with the toolkit version and the recipe's
digest, into ``manifest.json`` and the card; scores, reports and ``compare`` carry it.

:func:`definition_digest` hashes the definitions themselves; a test pins it next to the version,
so a change to a prompt or a negative kind fails until the version is raised and the change is
recorded in ``CHANGELOG.md``.

>>> BENCHMARK_VERSION.count(".")
2
>>> len(recipe_digest({"name": "quickstart", "seed": 0}))
64
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from lego_arta.annotate.state_negatives import KINDS as NEGATIVE_KINDS
from lego_arta.dataset.layout import MANIFEST
from lego_arta.study import IN_CONTEXT_EXAMPLES, MIN_DISPLACEMENT, NEGATIVES_PER_STATE, TEST_FRACTION
from lego_arta.tasks import BUILTIN_MODULES, TaskSpec

#: The benchmark definition's version (see the module docstring); raise it with an entry in CHANGELOG.md.
BENCHMARK_VERSION = "2.0.0"
#: The manifest and card key holding it.
VERSION_KEY = "benchmark_version"
#: Written where a built folder has no manifest or predates versioning.
UNKNOWN = "unknown"


def builtin_specs() -> list[TaskSpec]:
    """The package's own tasks in registration order, without tasks added through ``LEGO_ARTA_TASK_MODULES``."""
    specs: list[TaskSpec] = []
    for name in BUILTIN_MODULES:
        module = importlib.import_module(name)
        specs += list(getattr(module, "SPECS", None) or (module.SPEC,))
    return specs


def _task_definition(spec: TaskSpec) -> dict[str, Any]:
    """What one task asks and how it is scored, as plain data (no code objects)."""
    prompts = spec.prompts
    breakdown = spec.breakdown
    return {
        "task_token": prompts.task_token,
        "instruction": prompts.instruction,
        "question": prompts.question,
        "answers": dict(sorted(prompts.answers.items())),
        "features": sorted(str(key) for key in spec.all_features()),
        "metrics": {name: list(source) if isinstance(source, tuple) else source for name, source in spec.metrics.items()},
        "breakdown": None if breakdown is None else [breakdown.family, breakdown.column, list(breakdown.declared), list(breakdown.skip)],
        "max_new_tokens": spec.max_new_tokens,
        "splits": list(spec.splits),
        "extra_images": list(spec.extra_images),
    }


def definition() -> dict[str, Any]:
    """The benchmark's definition as plain data: built-in tasks, prompt and synonym files, negative kinds, split rule."""
    package = resources.files("lego_arta.tasks")
    return {
        "tasks": {spec.name: _task_definition(spec) for spec in builtin_specs()},
        "prompts.yaml": hashlib.sha256(package.joinpath("prompts.yaml").read_bytes()).hexdigest(),
        "synonyms.yaml": hashlib.sha256(package.joinpath("synonyms.yaml").read_bytes()).hexdigest(),
        "negative_kinds": list(NEGATIVE_KINDS),
        "negatives_per_state": NEGATIVES_PER_STATE,
        "min_displacement": MIN_DISPLACEMENT,
        "split_rule": {"unit": "manual", "test_fraction": TEST_FRACTION, "stratified_by": "highlight"},
        "in_context_examples": IN_CONTEXT_EXAMPLES,
    }


def definition_digest() -> str:
    """SHA-256 of :func:`definition` as canonical JSON."""
    return hashlib.sha256(json.dumps(definition(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def recipe_digest(recipe: Mapping[str, Any]) -> str:
    """SHA-256 of a recipe's fields (``BuildRecipe.to_dict()``) as canonical JSON: two builds from the same recipe share it."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def data_benchmark_version(data: Path | str) -> str:
    """The benchmark version a built folder was made with (its ``manifest.json``); :data:`UNKNOWN` without one.

    A Hub dataset id reads as :data:`UNKNOWN` too: nothing here downloads a manifest.
    """
    manifest = Path(data).expanduser() / MANIFEST
    if not manifest.is_file():
        return UNKNOWN
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get(VERSION_KEY)
    except (OSError, ValueError) as error:
        raise ValueError(f"{manifest}: unreadable manifest ({error})") from error
    return str(value) if value else UNKNOWN
