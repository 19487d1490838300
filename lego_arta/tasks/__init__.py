"""The task registry: :data:`TASKS` (name → :class:`~lego_arta.tasks.spec.TaskSpec`) is the only list of tasks.

Built-in tasks are the modules ``scene``, ``object``, ``state`` (with their synonym variants) and
``order`` of this package, each exporting ``SPEC`` (or ``SPECS``). More tasks plug in without editing the package: name their modules (importable, each
with a ``SPEC``) in the environment variable ``LEGO_ARTA_TASK_MODULES``, comma-separated, or call
:func:`register_task`. Whatever iterates ``TASKS`` — the build, the card, the lmms-eval YAML
generator and hooks, scoring, baselines, reports, fine-tuning data — then includes them.

>>> list(TASKS)[:3]
['scene', 'object', 'state']
>>> get_task("state").metric_names
('f1', 'tnr', 'fpr', 'invalid_rate', 'balanced_acc', 'mcc', 'group_acc', 'auroc', 'average_precision')
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping

from lego_arta.tasks.spec import TaskSpec

#: Environment variable naming extra task modules (``pkg.module`` each, comma-separated).
TASKS_ENV = "LEGO_ARTA_TASK_MODULES"
BUILTIN_MODULES: tuple[str, ...] = (
    "lego_arta.tasks.scene",
    "lego_arta.tasks.object",
    "lego_arta.tasks.state",
    "lego_arta.tasks.synonym_variants",
    "lego_arta.tasks.order",
    "lego_arta.tasks.guide",
)


class _Registry(Mapping[str, TaskSpec]):
    """Registered tasks in registration order; the ``LEGO_ARTA_TASK_MODULES`` modules are imported on first
    use, so a task module may itself import :mod:`lego_arta.tasks` (its import finishes first)."""

    def __init__(self) -> None:
        self._specs: dict[str, TaskSpec] = {}
        self._plugins_loaded = False

    def add(self, spec: TaskSpec) -> TaskSpec:
        known = self._specs.get(spec.name)
        if known is not None and known is not spec:
            raise ValueError(f"a different task is already registered as {spec.name!r}")
        self._specs[spec.name] = spec
        return spec

    def _load_plugins(self) -> None:
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for name in os.environ.get(TASKS_ENV, "").split(","):
                if name.strip():
                    load_task_module(name.strip())

    def __getitem__(self, name: str) -> TaskSpec:
        self._load_plugins()
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(list(self._specs))

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._specs)


TASKS = _Registry()


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task; a different task under a registered name is an error."""
    return TASKS.add(spec)


def load_task_module(name: str) -> tuple[TaskSpec, ...]:
    """Import ``name`` and register its ``SPEC`` (or each of its ``SPECS``); the error names the module and what was expected."""
    module = importlib.import_module(name)
    specs = getattr(module, "SPECS", None) or (getattr(module, "SPEC", None),)
    bad = [type(spec).__name__ for spec in specs if not isinstance(spec, TaskSpec)]
    if bad:
        raise TypeError(f"task module {name!r} must define SPEC = TaskSpec(...) or SPECS = (TaskSpec(...), ...), found {', '.join(bad)}")
    return tuple(register_task(spec) for spec in specs)


def get_task(name: str) -> TaskSpec:
    """The registered task ``name``; an unknown name is an error listing the known ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}")
    return TASKS[name]


def task_names() -> tuple[str, ...]:
    return tuple(TASKS)


def default_task_names() -> tuple[str, ...]:
    """The tasks a recipe builds when it names none (evaluation-only variants are opted into)."""
    return tuple(name for name, spec in TASKS.items() if spec.in_default_build)


for _module in BUILTIN_MODULES:
    load_task_module(_module)
