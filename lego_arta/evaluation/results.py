"""Result rows: one number per (task, system, setting, metric), from our runs and from the study.

Every table and chart of :mod:`lego_arta.evaluation.report` is drawn from :class:`ResultRow`
values, whatever produced them:

- our results files (``lego-arta score --out`` and ``lego-arta baselines`` write them; the
  ``format`` key is :data:`RESULTS_FORMAT`), with bootstrap intervals;
- lmms-eval results JSONs (``*_results.json`` from ``lego-arta eval``), without intervals (score
  lmms-eval's per-sample log with ``lego-arta score`` to get them);
- the study's published tables, shipped as package data (``data/thesis_results.csv``, Tables
  8.1–8.3, and ``data/query_setting_study.csv``, Table 8.4).

>>> [row.metric for row in study_rows() if row.system == "GPT-4o" and row.task == "state"]
['f1', 'tnr', 'fpr']
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lego_arta.atomic import atomic_write_text
from lego_arta.dataset.benchmark import UNKNOWN, VERSION_KEY
from lego_arta.harness.api_usage import RESULTS_KEY as USAGE_KEY
from lego_arta.harness.task_docs import QUERY_SETTINGS
from lego_arta.metrics import METRICS
from lego_arta.study import IN_CONTEXT_EXAMPLES
from lego_arta.tasks import TASKS
from lego_arta.tasks.synonym_variants import SUFFIX


def task_metrics(task: str) -> tuple[str, ...]:
    """Reported metrics of a registered task, in table order; empty for an unknown task."""
    return TASKS[task].metric_names if task in TASKS else ()


def reported_metrics(task: str, rows: Iterable[ResultRow]) -> tuple[str, ...]:
    """The task's metrics in table order, then its breakdown metrics (TNR per negative kind) that
    ``rows`` hold, sorted: the columns of a table of these rows."""
    static = task_metrics(task)
    extra = sorted({row.metric for row in rows if row.task == task and row.metric not in static})
    return (*static, *extra)


def _metric_key(label: str) -> str | None:
    """The metric key of a printed name (``ROUGE-1`` → ``rouge1``), as the study's tables print them."""
    return next((name for name, metric in METRICS.items() if metric.label == label), None)


def _metric_task(metric: str) -> str:
    return next(task for task, spec in TASKS.items() if metric in spec.metrics)


#: ``format`` value of the results files this package writes.
RESULTS_FORMAT = "lego-arta-results/1"
#: ``format`` of ``lego-arta robustness`` JSON (a task vs its synonym variant), which ``report`` also reads.
ROBUSTNESS_FORMAT = "lego-arta-robustness/1"
OURS = "ours"
STUDY = "study"
#: Settings of the study's Tables 8.1–8.3 (CSV value → printed label).
STUDY_SETTINGS: dict[str, str] = {"zero-shot": "zero-shot", "lora": "LoRA"}
#: In-context examples per query in the study's query settings (SPEC §3: two per task).
STUDY_IN_CONTEXT_EXAMPLES = IN_CONTEXT_EXAMPLES
#: lmms-eval task names of our task folder: ``lego_arta_<config>[_noctx][_icl]``.
LMMS_TASK_PREFIX = "lego_arta_"
#: lmms-eval suffix of a metric value (our task YAMLs define no filters).
LMMS_FILTER = ",none"


@dataclass(frozen=True)
class ResultRow:
    """One reported number in percent; ``low``/``high`` bound its confidence interval when known.

    ``source`` is :data:`OURS` or :data:`STUDY`. ``setting`` says how the system was queried
    (``baseline``, ``with instruction``, ``no instruction, 2 examples``; the study's ``zero-shot``
    and ``LoRA``). ``n`` is the number of scored test rows, when known.
    """

    task: str
    system: str
    setting: str
    metric: str
    value: float
    low: float | None = None
    high: float | None = None
    n: int | None = None
    source: str = OURS

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"result row task {self.task!r}: expected one of {', '.join(TASKS)}")
        if not TASKS[self.task].is_metric(self.metric):
            raise ValueError(f"result row metric {self.metric!r} is not a {self.task} metric ({', '.join(task_metrics(self.task))})")
        if not math.isfinite(self.value):
            raise ValueError(f"result row {self.task}/{self.system}/{self.metric}: value {self.value!r} is not a finite number")


def metric_label(metric: str) -> str:
    """The printed name of a metric key (``rouge1`` → ``ROUGE-1``)."""
    return METRICS[metric].label if metric in METRICS else metric


def query_setting_label(with_instruction: bool, examples: int) -> str:
    """How a query setting reads in a table.

    >>> query_setting_label(False, 2)
    'no instruction, 2 examples'
    """
    text = "with instruction" if with_instruction else "no instruction"
    return f"{text}, {examples} examples" if examples else text


# --- our results files -------------------------------------------------------------------------


def results_document(rows: Sequence[ResultRow], runs: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The JSON object of a results file: the rows plus what each run counted (missing ids, …)."""
    return {"format": RESULTS_FORMAT, "rows": [asdict(row) for row in rows], "runs": [dict(run) for run in runs]}


def write_results(path: Path, rows: Sequence[ResultRow], runs: Sequence[Mapping[str, Any]] = ()) -> None:
    """Write a results file atomically (sorted keys, so equal results are equal bytes)."""
    text = json.dumps(results_document(rows, runs), indent=1, sort_keys=True, allow_nan=False)
    atomic_write_text(Path(path), text + "\n")


def rows_from_document(document: Mapping[str, Any], *, where: str) -> list[ResultRow]:
    """Rows of a parsed results file; errors name ``where`` and the bad row."""
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise ValueError(f"{where}: results file has no 'rows' list")
    known = {name for name in ResultRow.__dataclass_fields__}
    parsed = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or not {"task", "system", "setting", "metric", "value"} <= set(row):
            raise ValueError(f"{where}: rows[{i}] must be an object with task, system, setting, metric and value")
        try:
            parsed.append(ResultRow(**{key: value for key, value in row.items() if key in known}))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: rows[{i}]: {error}") from error
    return parsed


# --- lmms-eval results JSON ---------------------------------------------------------------------


def is_lmms_eval_results(document: Mapping[str, Any]) -> bool:
    """Whether a parsed JSON is an lmms-eval results file (a ``results`` table and a run ``config``)."""
    return isinstance(document.get("results"), Mapping) and isinstance(document.get("config"), Mapping)


#: The model-argument keys that name the checkpoint: lmms-eval's in-process models (``pretrained``), its
#: OpenAI backends (``model_version``) and ours (``model``), in that order.
CHECKPOINT_ARGUMENTS = ("pretrained", "model_version", "model")


def lmms_eval_system(config: Mapping[str, Any]) -> str:
    """A readable system name from a results file's ``config``: the model, and its checkpoint name.

    The rest of the model arguments (an endpoint, a journal path, a budget) say how a run went, not
    what was evaluated; they are in the results file and would make a chart label a paragraph.

    >>> lmms_eval_system({"model": "llava_hf", "model_args": "pretrained=/m/tiny-llava,device=cpu"})
    'llava_hf tiny-llava'
    >>> lmms_eval_system({"model": "lego_arta_openai", "model_args": "model=gpt-4o,base_url=https://api.openai.com/v1,concurrency=8"})
    'lego_arta_openai gpt-4o'
    >>> lmms_eval_system({"model": "async_openai", "model_args": "model_version=/srv/models/Qwen2.5-VL-7B,base_url=http://h:8000/v1"})
    'async_openai Qwen2.5-VL-7B'
    >>> lmms_eval_system({"model": "dummy", "model_args": "response=Yes"})
    'dummy (response=Yes)'
    """
    model = str(config.get("model") or "unknown model")
    model_args = str(config.get("model_args") or "")
    arguments = dict(part.split("=", 1) for part in model_args.split(",") if "=" in part)
    for key in CHECKPOINT_ARGUMENTS:
        if arguments.get(key):
            return f"{model} {Path(arguments[key].rstrip('/')).name}"
    return f"{model} ({model_args})" if model_args else model


def _lmms_setting(task: str, task_config: Mapping[str, Any]) -> tuple[str, bool, int] | None:
    """(config, with_instruction, examples) of one of our lmms-eval tasks; None for other tasks."""
    kwargs = task_config.get("lmms_eval_specific_kwargs")
    if isinstance(kwargs, Mapping) and isinstance(kwargs.get("default"), Mapping):
        kwargs = {**kwargs["default"], **{k: v for k, v in kwargs.items() if k != "default"}}
    if isinstance(kwargs, Mapping) and kwargs.get("config") in TASKS:
        return str(kwargs["config"]), bool(kwargs.get("with_instruction", True)), int(kwargs.get("in_context_examples", 0))
    if not task.startswith(LMMS_TASK_PREFIX):
        return None
    for config in TASKS:
        for setting in QUERY_SETTINGS:
            if task == f"{LMMS_TASK_PREFIX}{config}{setting.suffix}":
                return config, setting.with_instruction, setting.in_context_examples
    return None


def lmms_eval_rows(document: Mapping[str, Any], *, where: str) -> tuple[list[ResultRow], list[str]]:
    """Our rows of an lmms-eval results JSON, and the names of tasks that are not ours (skipped)."""
    system = lmms_eval_system(document["config"])
    configs = document.get("configs") if isinstance(document.get("configs"), Mapping) else {}
    counts = document.get("n-samples") if isinstance(document.get("n-samples"), Mapping) else {}
    rows: list[ResultRow] = []
    skipped: list[str] = []
    for task, scores in sorted(document["results"].items()):
        setting = _lmms_setting(task, configs.get(task) or {})
        if setting is None or not isinstance(scores, Mapping):
            skipped.append(task)
            continue
        config, with_instruction, examples = setting
        n = (counts.get(task) or {}).get("effective")
        for metric in TASKS[config].harness_metrics:
            value = scores.get(f"{metric}{LMMS_FILTER}")
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{where}: results.{task}.{metric}{LMMS_FILTER} is {value!r}, expected a number")
            rows.append(
                ResultRow(
                    config,
                    system,
                    query_setting_label(with_instruction, examples),
                    metric,
                    float(value),
                    n=int(n) if isinstance(n, int) else None,
                )
            )
    return rows, skipped


# --- reading any results path -------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedResults:
    """Rows read from results paths, with what was looked at and what was passed over."""

    rows: tuple[ResultRow, ...]
    files: tuple[str, ...]
    skipped_files: tuple[str, ...]
    skipped_tasks: tuple[str, ...]
    robustness: tuple[Mapping[str, Any], ...] = ()
    #: File → the benchmark version its results were computed on (:data:`~lego_arta.dataset.benchmark.UNKNOWN` when it does not say).
    versions: Mapping[str, str] = field(default_factory=dict)
    #: (file, API usage block) of each lmms-eval results JSON a served model wrote (requests, tokens, seconds).
    usage: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    #: ``(system, box format)`` of each run that scored object answers, in reading order (a run's
    #: results record the convention its boxes were read in: ``lego-arta score --box-format``, ``eval --box-format``).
    box_formats: tuple[tuple[str, str], ...] = ()

    def known_versions(self) -> tuple[str, ...]:
        """The distinct benchmark versions the files name, sorted."""
        return tuple(sorted(set(self.versions.values()) - {UNKNOWN}))


#: A semantic version (what the benchmark version looks like; lmms-eval's own task versions do not).
SEMVER = re.compile(r"\d+\.\d+\.\d+")


def document_benchmark_version(document: Mapping[str, Any]) -> str:
    """The benchmark version a results document carries: our files' ``runs[].benchmark_version``, an lmms-eval
    results JSON's ``versions`` of our tasks; :data:`UNKNOWN` when it names none, an error when it names several.

    >>> document_benchmark_version({"versions": {"lego_arta_state": "1.0.0", "lego_arta": "N/A", "mmmu": 0}})
    '1.0.0'
    """
    found: set[str] = set()
    for run in document.get("runs") or ():
        if isinstance(run, Mapping) and run.get(VERSION_KEY) not in (None, UNKNOWN):
            found.add(str(run[VERSION_KEY]))
    versions = document.get("versions")
    if isinstance(versions, Mapping):
        found |= {str(v) for task, v in versions.items() if str(task).startswith(LMMS_TASK_PREFIX) and SEMVER.fullmatch(str(v))}
    if len(found) > 1:
        raise ValueError(f"results computed on several benchmark versions ({', '.join(sorted(found))}); score each version apart")
    return found.pop() if found else UNKNOWN


def document_box_formats(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(system, box format)`` of the object runs of a results document (ours or lmms-eval's).

    >>> document_box_formats({"format": RESULTS_FORMAT, "runs": [{"task": "object", "system": "m", "box_format": "pixels"}]})
    [('m', 'pixels')]
    """
    found = []
    if document.get("format") == RESULTS_FORMAT:
        for run in document.get("runs") or ():
            if isinstance(run, Mapping) and run.get("task") == "object" and isinstance(run.get("box_format"), str):
                found.append((str(run.get("system")), run["box_format"]))
    elif is_lmms_eval_results(document):
        configs = document.get("configs") if isinstance(document.get("configs"), Mapping) else {}
        for task, config in sorted(configs.items()):
            setting = _lmms_setting(task, config) if isinstance(config, Mapping) else None
            metadata = config.get("metadata") if isinstance(config, Mapping) else None
            if setting is not None and setting[0] == "object" and isinstance(metadata, Mapping):
                found.append((lmms_eval_system(document["config"]), str(metadata.get("box_format", "auto"))))
    return found


_ROBUSTNESS_KEYS = {"task", "variant", "system", "rows", "metrics", "consistency"}
_ROBUSTNESS_METRIC_KEYS = {"original", "variant", "gap", "gap_low", "gap_high"}


def _checked_robustness(document: Mapping[str, Any], *, where: str) -> Mapping[str, Any]:
    missing = _ROBUSTNESS_KEYS - set(document)
    if missing:
        raise ValueError(f"{where}: robustness file lacks {sorted(missing)} (expected the output of lego-arta robustness --out)")
    for metric, numbers in dict(document["metrics"]).items():
        if not isinstance(numbers, Mapping) or not _ROBUSTNESS_METRIC_KEYS <= set(numbers):
            raise ValueError(f"{where}: metrics.{metric} needs {sorted(_ROBUSTNESS_METRIC_KEYS)}")
    return document


def robustness_pairs(document: Mapping[str, Any]) -> int:
    """Rows answered in both files of a robustness result (``paired``; older files: from ``rows`` and ``missing``).

    >>> robustness_pairs({"rows": 3, "missing": ["a", "a-syn", "b"]})
    1
    """
    if "paired" in document:
        return int(document["paired"])
    missing = [str(m) for m in document.get("missing", [])]
    unanswered = {m.removesuffix(SUFFIX) for m in missing}
    return max(int(document["rows"]) - len(unanswered), 0)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def load_results(paths: Iterable[Path]) -> LoadedResults:
    """Read our results files and lmms-eval results JSONs from files or folders (searched recursively).

    A file named explicitly must be one of the two kinds; JSON files found in a folder that are
    neither (lmms-eval configs, manifests, …) are skipped and listed in ``skipped_files``.
    """
    rows: list[ResultRow] = []
    files: list[str] = []
    skipped_files: list[str] = []
    skipped_tasks: list[str] = []
    robustness: list[Mapping[str, Any]] = []
    usage: list[tuple[str, Mapping[str, Any]]] = []
    versions: dict[str, str] = {}
    box_formats: list[tuple[str, str]] = []
    origin: dict[tuple[str, str, str, str], str] = {}
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise FileNotFoundError(f"results path {given} does not exist")
        candidates = sorted(given.rglob("*.json")) if given.is_dir() else [given]
        for path in candidates:
            document = _read_json(path)
            if isinstance(document, Mapping) and document.get("format") == ROBUSTNESS_FORMAT:
                checked = _checked_robustness(document, where=str(path))
                if robustness_pairs(checked) == 0:  # an empty comparison has no numbers to report
                    skipped_files.append(f"{path} (robustness with no paired rows)")
                    continue
                robustness.append(checked)
                files.append(str(path))
                continue
            if isinstance(document, Mapping) and document.get("format") == RESULTS_FORMAT:
                found = rows_from_document(document, where=str(path))
            elif isinstance(document, Mapping) and is_lmms_eval_results(document):
                found, other = lmms_eval_rows(document, where=str(path))
                skipped_tasks.extend(f"{path}: {task}" for task in other)
                if isinstance(document.get(USAGE_KEY), Mapping):
                    usage.append((str(path), document[USAGE_KEY]))
            elif given.is_dir():
                skipped_files.append(str(path))
                continue
            else:
                raise ValueError(f"{path}: neither a lego-arta results file (format {RESULTS_FORMAT}) nor an lmms-eval results JSON")
            for row in found:
                key = (row.task, row.system, row.setting, row.metric)
                if key in origin:
                    raise ValueError(f"{path}: {'/'.join(key)} is also in {origin[key]}; name the runs apart (lego-arta score --name)")
                origin[key] = str(path)
            rows.extend(found)
            files.append(str(path))
            try:
                versions[str(path)] = document_benchmark_version(document)
            except ValueError as error:
                raise ValueError(f"{path}: {error}") from error
            box_formats.extend(document_box_formats(document))
    return LoadedResults(
        tuple(rows),
        tuple(files),
        tuple(skipped_files),
        tuple(skipped_tasks),
        tuple(robustness),
        versions,
        tuple(usage),
        tuple(dict.fromkeys(box_formats)),
    )


# --- the study's published numbers --------------------------------------------------------------


def _package_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("lego_arta").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def study_rows() -> tuple[ResultRow, ...]:
    """The study's Tables 8.1–8.3: nine VLMs, zero-shot and LoRA, in the published order.

    A metric the study printed as "/" (no valid answer to score) has no row.
    """
    rows = []
    for i, record in enumerate(_package_csv("thesis_results.csv")):
        metric = _metric_key(record["metric"])
        setting = STUDY_SETTINGS.get(record["setting"])
        if metric is None or setting is None:
            raise ValueError(f"data/thesis_results.csv line {i + 2}: unknown metric or setting {record}")
        rows.append(ResultRow(record["task"], record["model"], setting, metric, float(record["value"]), source=STUDY))
    return tuple(rows)


@cache
def study_query_settings() -> tuple[ResultRow, ...]:
    """The study's Table 8.4: Qwen-VL with/without instructions and in-context examples.

    Settings read as ours do (:func:`query_setting_label`), so both sit in one table.
    """
    rows = []
    for record in _package_csv("query_setting_study.csv"):
        examples = STUDY_IN_CONTEXT_EXAMPLES if record["examples"] == "yes" else 0
        setting = query_setting_label(record["instructions"] == "yes", examples)
        for label, value in record.items():
            metric = _metric_key(label)
            if metric is not None:
                rows.append(ResultRow(_metric_task(metric), record["model"], setting, metric, float(value), source=STUDY))
    return tuple(rows)
