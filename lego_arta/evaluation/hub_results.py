"""Results in the Hugging Face Hub's evaluation-results format: ``.eval_results/*.yaml`` per model, ``eval.yaml`` for the benchmark.

The Hub (docs/hub/eval-results, "Evaluation Results", a work-in-progress feature; followed as
published in December 2026) reads a model's scores from YAML files in the model repository's
``.eval_results/`` folder: a list of entries ``{dataset: {id, task_id[, revision]}, value[, date,
source, notes]}``, where ``task_id`` names a task of the benchmark dataset's ``eval.yaml``
(``name``, ``description``, ``evaluation_framework``, ``tasks: [{id, config, split}]``). One task
is one leaderboard, one number per model.

So every LEGO-ARTA metric of every task is one Hub task, ``<task>_<metric>`` on config ``<task>``,
split ``test``; :func:`write_eval_results` writes one folder per system, holding
``.eval_results/lego_arta_<task>.yaml`` for the main query setting and
``lego_arta_<task>_<setting>.yaml`` for each other one (the Hub wants a file per setup variant,
told apart by ``notes``), and the benchmark's ``eval.yaml``. Values are percent, as everywhere
in lego-arta; ``notes`` carries the benchmark version and the query setting.

>>> hub_task_id("state", "balanced_acc")
'state_balanced_acc'
>>> slug("llava_hf llava-1.5-7b-hf")
'llava_hf-llava-1.5-7b-hf'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lego_arta.atomic import atomic_write_text
from lego_arta.dataset.benchmark import UNKNOWN
from lego_arta.evaluation.results import OURS, ResultRow
from lego_arta.evaluation.scoring import DEFAULT_SETTING
from lego_arta.tasks import TASKS

#: The folder the Hub reads in a model repository.
EVAL_RESULTS_DIR = ".eval_results"
EVAL_YAML = "eval.yaml"
#: The framework that runs the benchmark. The Hub validates this against its list
#: (huggingface.js packages/tasks/src/eval.ts), which does not list lmms-eval yet: see docs.
DEFAULT_FRAMEWORK = "lmms-eval"
DEFAULT_DATASET_ID = "lego-arta/lego-arta"
SPLIT = "test"
DESCRIPTION = (
    "LEGO-ARTA: fine-grained vision-language tasks for AR assembly assistants, built from step-by-step LEGO assembly manuals "
    "(scene: what to do now; object: where are the parts; state: was it done right; order: attached or removed). "
    "One leaderboard per task and metric (<task>_<metric>), scores in percent, on the test split."
)


def hub_task_id(task: str, metric: str) -> str:
    return f"{task}_{metric}"


def slug(text: str) -> str:
    """A file-name-safe form of a system or setting name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unnamed"


def eval_yaml(*, framework: str = DEFAULT_FRAMEWORK, tasks: Sequence[str] | None = None) -> str:
    """The benchmark's ``eval.yaml``: one Hub task per metric of each LEGO-ARTA task (breakdown metrics excluded)."""
    names = list(TASKS) if tasks is None else list(tasks)
    document = {
        "name": "LEGO-ARTA",
        "description": DESCRIPTION,
        "evaluation_framework": framework,
        "tasks": [{"id": hub_task_id(task, metric), "config": task, "split": SPLIT} for task in names for metric in TASKS[task].metrics],
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def result_entries(rows: Sequence[ResultRow], *, dataset_id: str, revision: str | None, version: str) -> list[dict[str, Any]]:
    """Hub entries for one system, task and setting: one per metric the benchmark's ``eval.yaml`` lists, in its order."""
    entries = []
    for row in sorted(rows, key=lambda r: list(TASKS[r.task].metrics).index(r.metric) if r.metric in TASKS[r.task].metrics else 10**6):
        if row.metric not in TASKS[row.task].metrics:
            continue
        dataset: dict[str, Any] = {"id": dataset_id, "task_id": hub_task_id(row.task, row.metric)}
        if revision:
            dataset["revision"] = revision
        notes = f"LEGO-ARTA benchmark {version}; query setting: {row.setting}"
        entries.append({"dataset": dataset, "value": round(float(row.value), 4), "notes": notes})
    return entries


def write_eval_results(
    rows: Sequence[ResultRow],
    out: Path,
    *,
    versions: Mapping[str, str] | None = None,
    dataset_id: str = DEFAULT_DATASET_ID,
    revision: str | None = None,
    framework: str = DEFAULT_FRAMEWORK,
) -> list[Path]:
    """Write ``<out>/eval.yaml`` and ``<out>/<system>/.eval_results/lego_arta_<task>[_<setting>].yaml`` for our rows.

    ``versions`` are the benchmark versions the rows' files name (:class:`~lego_arta.evaluation.results.LoadedResults`);
    more than one is an error (a leaderboard must not mix them). Returns the files written, sorted.
    """
    known = sorted(set((versions or {}).values()) - {UNKNOWN})
    if len(known) > 1:
        raise ValueError(f"results on different benchmark versions ({', '.join(known)}); write the Hub files of each version apart")
    version = known[0] if known else UNKNOWN
    ours = [row for row in rows if row.source == OURS]
    if not ours:
        raise ValueError("no results of ours to write (expected rows from lego-arta score/baselines or lmms-eval)")
    out = Path(out)
    groups: dict[tuple[str, str, str], list[ResultRow]] = {}
    for row in ours:
        groups.setdefault((row.system, row.task, row.setting), []).append(row)
    written = [out / EVAL_YAML]
    atomic_write_text(out / EVAL_YAML, eval_yaml(framework=framework))
    for (system, task, setting), group in sorted(groups.items()):
        entries = result_entries(group, dataset_id=dataset_id, revision=revision, version=version)
        if not entries:
            continue
        name = f"lego_arta_{task}" if setting == DEFAULT_SETTING else f"lego_arta_{task}_{slug(setting)}"
        path = out / slug(system) / EVAL_RESULTS_DIR / f"{name}.yaml"
        atomic_write_text(path, yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=120))
        written.append(path)
    return sorted(written)
