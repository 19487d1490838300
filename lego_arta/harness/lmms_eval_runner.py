"""Run the real lmms-eval CLI on the LEGO-ARTA tasks and refuse to report a run that silently failed.

The task files are rendered from the task specs into a fresh include path for every run
(:mod:`lego_arta.harness.task_files`), so an installed package needs no checkout and a task
added through ``LEGO_ARTA_TASK_MODULES`` needs no generation step. Before lmms-eval starts, the
requested tasks are checked against the build's configs: a task named on its own whose config
the build lacks is a one-line error naming the build's configs and the recipe field that adds
it; a tag (``lego_arta``) runs the tasks the build has and names the ones it left out. A Hub
model id that is not in the local cache is refused offline with the flag that allows it.

lmms-eval 0.7.3 catches evaluation errors and exits 0 (unless ``--verbosity DEBUG``), and its
``llava_hf`` chat model turns a generation exception into an empty answer. So this runner runs
the CLI in DEBUG mode, keeps its whole log beside the results, and then checks the evidence:
a new results JSON exists, every requested task is in it with every metric its YAML declares
as a number or as ``null`` (absent: a negative kind the build did not make, AUROC without
probabilities; our aggregations return ``None`` exactly then), and the log holds no swallowed
generation error. Any gap raises
:class:`LmmsEvalError` with the tail of the log.

Not run as a doctest: it needs a build, and runs lmms-eval.

>>> run_lmms_eval(data="out/built", model="dummy", model_args="response=Yes",
...               tasks="lego_arta", output=Path("out/eval"))          # doctest: +SKIP
PosixPath('out/eval/20261123_091358_results.json')
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lego_arta.answers import BOX_FORMATS
from lego_arta.atomic import atomic_write_text
from lego_arta.dataset.benchmark import BENCHMARK_VERSION, UNKNOWN, data_benchmark_version
from lego_arta.dataset.layout import MANIFEST, README
from lego_arta.evaluation.built_splits import config_names
from lego_arta.harness.api_usage import RESULTS_KEY, USAGE_NAME
from lego_arta.harness.task_docs import BOX_FORMAT_ENV, DATA_ENV
from lego_arta.harness.task_files import FOLDER_NAME, write_task_dir

#: Environment variable naming a task folder to use instead of rendering one (a hand-edited copy, say).
TASKS_DIR_ENV = "LEGO_ARTA_TASKS"
#: The output folder, told to the lmms-eval process: where a served model keeps its request journal and usage.
RUN_DIR_ENV = "LEGO_ARTA_RUN_DIR"
#: The recipe field that decides which configs a build makes.
RECIPE_CONFIGS_FIELD = "configs"
#: What lmms-eval logs when ``--tasks`` matched nothing it could load (it then exits 0 without ``--verbosity DEBUG``).
NO_TASK_SELECTED = re.compile(r"Selected Tasks: \[\]")
#: The ``model_args`` key naming a model's weights (a local folder or a Hub id).
PRETRAINED_KEY = "pretrained"
LOG_NAME = "lmms_eval.log"
#: ``owner/name`` of a Hugging Face Hub dataset.
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
RESULTS_GLOB = "*_results.json"
#: lmms-eval names a metric ``<metric>,<filter>``; our tasks define no filters.
METRIC_FILTER = "none"
LOG_TAIL_LINES = 60
#: What lmms-eval's chat models log when they swallow a generation exception.
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Invalid|Interrupt): ")
SWALLOWED_ERROR = re.compile(r"Error .* in generating|Traceback \(most recent call last\)")
#: Offline switches: datasets, Hub and transformers never touch the network in a checked run.
OFFLINE_ENV: dict[str, str] = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class LmmsEvalError(RuntimeError):
    """lmms-eval failed or produced incomplete results; the message ends with its log tail."""


class EvalSetupError(LmmsEvalError):
    """The run cannot start as asked (a config the build lacks, a model offline); one line that says what to do."""


@dataclass(frozen=True)
class TaskIndex:
    """Our task folder as data: task name → declared metrics, tag → task names, task → dataset config."""

    metrics: dict[str, tuple[str, ...]]
    tags: dict[str, tuple[str, ...]]
    configs: dict[str, str] | None = None

    def config_of(self, task: str) -> str | None:
        """The dataset config ``task`` reads (``None`` for a task from another folder)."""
        return (self.configs or {}).get(task)

    def expand(self, tasks: str) -> dict[str, tuple[str, ...] | None]:
        """Requested names (tasks or tags, comma-separated) → tasks to expect with their metrics.

        Names from other task folders map to ``None``: they must appear in the results, with
        at least one metric, but we cannot know which.
        """
        expected: dict[str, tuple[str, ...] | None] = {}
        for name in (part.strip() for part in tasks.split(",")):
            if not name:
                continue
            if name in self.tags:
                expected.update({task: self.metrics[task] for task in self.tags[name]})
            else:
                expected[name] = self.metrics.get(name)
        if not expected:
            raise ValueError(f"no task names in --tasks {tasks!r}")
        return dict(sorted(expected.items()))


class _TaskYamlLoader(yaml.SafeLoader):
    """Reads lmms-eval YAML without importing anything: ``!function x`` stays the string ``x``."""


_TaskYamlLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _read_task_yaml(path: Path) -> dict[str, Any]:
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_TaskYamlLoader) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from error
    included = config.pop("include", None)
    if included is None:
        return config
    merged: dict[str, Any] = {}
    for name in [included] if isinstance(included, str) else included:
        merged.update(_read_task_yaml(path.parent / name))
    merged.update(config)
    return merged


def read_task_index(task_dir: Path) -> TaskIndex:
    """Index every ``*.yaml`` task in ``task_dir`` (templates without ``.yaml`` are only included)."""
    metrics: dict[str, tuple[str, ...]] = {}
    tags: dict[str, list[str]] = {}
    configs: dict[str, str] = {}
    for path in sorted(Path(task_dir).glob("*.yaml")):
        config = _read_task_yaml(path)
        if "task" not in config:
            continue
        name = str(config["task"])
        metrics[name] = tuple(str(entry["metric"]) for entry in config.get("metric_list", ()))
        if config.get("dataset_name"):
            configs[name] = str(config["dataset_name"])
        tag = config.get("tag") or ()
        for label in [tag] if isinstance(tag, str) else tag:
            tags.setdefault(str(label), []).append(name)
    if not metrics:
        raise ValueError(f"{task_dir}: no lmms-eval task YAML files found")
    return TaskIndex(metrics, {tag: tuple(names) for tag, names in sorted(tags.items())}, configs)


def find_task_dir(explicit: Path | None = None) -> Path | None:
    """A task folder to use as it is: ``explicit``, else ``$LEGO_ARTA_TASKS``; ``None`` means render one.

    A named folder without ``utils.py`` is an error (lmms-eval would fail on its first hook).
    """
    chosen = explicit if explicit is not None else (Path(os.environ[TASKS_DIR_ENV]) if os.environ.get(TASKS_DIR_ENV) else None)
    if chosen is None:
        return None
    if not (Path(chosen) / "utils.py").is_file():
        raise FileNotFoundError(
            f"{chosen}: not a LEGO-ARTA lmms-eval task folder (no utils.py); leave out --tasks-dir and {TASKS_DIR_ENV} "
            "to use the tasks the package renders, or write a folder with `lego-arta tasks-path --out DIR`"
        )
    return Path(chosen).resolve()


def _absent_note(data: Path, config: str) -> str:
    """Why the build has no ``config``, from its manifest: left out for empty splits, or never asked for."""
    manifest = data / MANIFEST
    try:
        absent = json.loads(manifest.read_text(encoding="utf-8")).get("absent_configs") or {}
    except (OSError, ValueError):
        absent = {}
    if config in absent:
        empty = ", ".join(absent[config].get("empty_splits") or ()) or "some"
        return (
            f"the build left {config} out (no rows in its {empty} split; {MANIFEST} absent_configs), "
            f"so build from manuals that give {config} rows"
        )
    return f"add {config} to the recipe's `{RECIPE_CONFIGS_FIELD}:` list and rebuild"


@dataclass(frozen=True)
class TaskPlan:
    """What to run: the ``--tasks`` value lmms-eval gets, the expected tasks with metrics, and the tasks left out."""

    tasks: str
    expected: dict[str, tuple[str, ...] | None]
    left_out: dict[str, str]


def plan_tasks(requested: str, index: TaskIndex, data: Path | str) -> TaskPlan:
    """Match the requested tasks and tags to the configs the build at ``data`` has.

    A task named on its own whose config is missing is an :class:`EvalSetupError`; a tag keeps the
    tasks the build can run and records the others in ``left_out`` (task → config). A Hub id is
    not inspected (its configs are on the Hub): everything requested runs.
    """
    expected = index.expand(requested)
    local = Path(data)
    if not local.is_dir() or not index.configs:
        return TaskPlan(requested, expected, {})
    have = set(config_names(local))
    listed = ", ".join(sorted(have)) or "none"
    names = [part.strip() for part in requested.split(",") if part.strip()]
    for name in names:
        config = index.config_of(name)
        if name not in index.tags and config is not None and config not in have:
            raise EvalSetupError(
                f"task {name} needs config {config!r}, which {local} lacks (it has: {listed}); {_absent_note(local, config)}"
            )
    left_out = {task: index.config_of(task) or "" for task in expected if index.config_of(task) not in (None, *have)}
    kept = {task: metrics for task, metrics in expected.items() if task not in left_out}
    if not kept:
        missing = ", ".join(sorted(set(left_out.values())))
        first = sorted(set(left_out.values()))[0]
        raise EvalSetupError(
            f"--tasks {requested}: every task needs a config {local} lacks ({missing}; it has: {listed}); {_absent_note(local, first)}"
        )
    tasks = ",".join(kept) if left_out else requested
    return TaskPlan(tasks, kept, left_out)


def check_model_offline(model_args: str, *, offline: bool) -> None:
    """Refuse, offline, a ``pretrained=`` Hub id that is not in the local Hub cache (lmms-eval would end in a long traceback)."""
    if not offline:
        return
    values = dict(item.partition("=")[::2] for item in model_args.split(",") if "=" in item)
    model = values.get(PRETRAINED_KEY, "").strip()
    if not model or Path(model).expanduser().exists() or not HUB_ID.fullmatch(model):
        return
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return
    raise EvalSetupError(f"offline: pass --online to download {model}")


def absolute_model_path(model_args: str) -> str:
    """``model_args`` with a ``pretrained=`` local folder made absolute: lmms-eval runs in a scratch folder, where a relative one would read as a Hub id.

    A Hub id, or a folder that does not exist here, is left as written; the other arguments keep their text and order:

    >>> absolute_model_path("pretrained=llava-hf/llava-1.5-7b-hf,device=cpu")
    'pretrained=llava-hf/llava-1.5-7b-hf,device=cpu'
    >>> absolute_model_path("response=Yes")
    'response=Yes'
    """
    parts = model_args.split(",")
    for index, part in enumerate(parts):
        key, _, value = part.partition("=")
        local = Path(value.strip()).expanduser()
        if key.strip() == PRETRAINED_KEY and value.strip() and local.exists():
            parts[index] = f"{key}={local.resolve()}"
    return ",".join(parts)


def resolve_data(data: Path | str, *, offline: bool) -> str:
    """A local dataset folder as an absolute path (lmms-eval runs elsewhere); a Hub id only online."""
    local = Path(data).expanduser()
    if local.exists():
        if not (local / README).is_file():
            raise FileNotFoundError(f"{local}: not a built LEGO-ARTA dataset (no {README} with a configs: table)")
        return str(local.resolve())
    if offline or not HUB_ID.fullmatch(str(data)):
        raise FileNotFoundError(f"dataset folder {data} does not exist (a Hub dataset id needs --online)")
    return str(data)


def lmms_eval_command(
    *,
    model: str,
    model_args: str,
    tasks: str,
    include_path: Path,
    output: Path,
    limit: int | None = None,
    batch_size: int = 1,
    extra: Sequence[str] = (),
) -> list[str]:
    """The CLI call: DEBUG verbosity (errors raise instead of exiting 0), UTC names, samples logged."""
    command = [
        sys.executable,
        "-m",
        "lmms_eval",
        "--model",
        model,
        "--tasks",
        tasks,
        "--include_path",
        str(include_path),
        "--output_path",
        str(output),
        "--batch_size",
        str(batch_size),
        "--log_samples",
        "--timezone",
        "UTC",
        "--verbosity",
        "DEBUG",
    ]
    if model_args:
        command += ["--model_args", model_args]
    if limit is not None:
        command += ["--limit", str(limit)]
    return command + list(extra)


#: ``model_args`` keys whose values are credentials (``token=``, ``api_key=``, ``hf_secret=``, ``password=``).
SECRET_KEY = re.compile(r"token|key|secret|passw|credential|auth", re.IGNORECASE)
#: What a redacted value is written as.
REDACTED = "***"


def secret_values(model_args: str) -> list[str]:
    """The values of ``model_args`` (lmms-eval's ``k=v,k=v``) under keys that look like secrets, longest first.

    >>> secret_values("pretrained=org/m,api_key=sk-12345,hf_token=hf_abc")
    ['sk-12345', 'hf_abc']
    """
    values = []
    for item in model_args.split(","):
        key, sep, value = item.partition("=")
        if sep and value and SECRET_KEY.search(key):
            values.append(value)
    return sorted(set(values), key=lambda v: (-len(v), v))


#: Characters that continue a token: a secret is redacted where it stands as a whole value, not
#: where its characters happen to occur inside a longer word (``api_key=x`` must not turn
#: ``exec_module`` into ``e***ec_module``).
_TOKEN_CHAR = r"[A-Za-z0-9_-]"


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value, where it stands as a whole value, replaced by :data:`REDACTED`.

    A value stands whole when no letter, digit, ``_`` or ``-`` touches it on either side: after
    ``=``, in quotes, before ``,`` or a full stop. The log, the results and error messages pass here.

    >>> redact("exec_module api_key=x, key 'x'.", ["x"])
    "exec_module api_key=***, key '***'."
    """
    for secret in secrets:
        text = re.sub(rf"(?<!{_TOKEN_CHAR}){re.escape(secret)}(?!{_TOKEN_CHAR})", REDACTED, text)
    return text


def _redact_outputs(output: Path, secrets: Sequence[str]) -> None:
    """Redact secrets in the text files under ``output`` (lmms-eval echoes ``model_args`` into its
    results JSON); a file holding one is rewritten atomically, the others are left untouched."""
    if not secrets:
        return
    for path in sorted(output.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".jsonl", ".log", ".txt"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        cleaned = redact(text, secrets)
        if cleaned != text:
            atomic_write_text(path, cleaned)


def lmms_eval_environment(
    data: str, *, offline: bool, base: Mapping[str, str] | None = None, run_dir: Path | None = None, box_format: str = "auto"
) -> dict[str, str]:
    """The child's environment: the dataset location, the run's folder, the box convention, quiet tokenizers, offline unless told otherwise."""
    environment = dict(os.environ if base is None else base)
    environment[DATA_ENV] = data
    environment[BOX_FORMAT_ENV] = box_format
    if run_dir is not None:
        environment[RUN_DIR_ENV] = str(run_dir)
    environment.setdefault("TOKENIZERS_PARALLELISM", "false")
    if offline:
        environment.update(OFFLINE_ENV)
    return environment


def _tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not log.is_file():
        return "(no log written)"
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def exception_lines(log_text: str) -> list[str]:
    """``module.SomeError: message`` lines, first occurrence each: the cause behind a retry wrapper."""
    found = (line.strip() for line in log_text.splitlines() if EXCEPTION_LINE.match(line))
    return list(dict.fromkeys(found))


def _failure(headline: str, log: Path) -> LmmsEvalError:
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    causes = "".join(f"\n  cause: {line}" for line in exception_lines(text))
    return LmmsEvalError(f"{headline}{causes}\nlog {log}, last {LOG_TAIL_LINES} lines:\n{_tail(log)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_results(results: Mapping[str, Any], expected: Mapping[str, tuple[str, ...] | None]) -> list[str]:
    """Problems with a parsed results JSON: missing tasks, missing or non-numeric metrics.

    A declared metric whose value is ``null`` is absent, not missing: the key is there and our
    aggregation said the metric does not exist on these rows.
    """
    problems: list[str] = []
    per_task = results.get("results")
    if not isinstance(per_task, Mapping):
        return ["results JSON has no 'results' table"]
    for task, metrics in expected.items():
        scores = per_task.get(task)
        if not isinstance(scores, Mapping):
            problems.append(f"task {task}: missing from results")
            continue
        if metrics is None:
            if not any(key.endswith(f",{METRIC_FILTER}") and _is_number(v) for key, v in scores.items()):
                problems.append(f"task {task}: no numeric metric")
            continue
        for metric in metrics:
            key = f"{metric},{METRIC_FILTER}"
            value = scores.get(key)
            if key in scores and value is None:
                continue
            if not _is_number(value):
                problems.append(f"task {task}: metric {metric} is {value!r}, expected a number")
    return problems


def swallowed_errors(log_text: str) -> list[str]:
    """Log lines showing an error lmms-eval recovered from (the run still 'succeeded')."""
    return [line.strip() for line in log_text.splitlines() if SWALLOWED_ERROR.search(line)]


def run_lmms_eval(
    *,
    data: Path | str,
    model: str,
    model_args: str,
    tasks: str,
    output: Path,
    limit: int | None = None,
    batch_size: int = 1,
    extra: Sequence[str] = (),
    tasks_dir: Path | None = None,
    offline: bool = True,
    box_format: str = "auto",
) -> Path:
    """Evaluate ``model`` on ``tasks`` over the built dataset ``data``; return the results JSON.

    The CLI runs in a fresh empty working directory (lmms-eval treats ``--tasks X`` as a folder
    of YAMLs when ``./X`` exists, and a checkout has ``./lego_arta``, the package), with the task
    files rendered into a sibling folder unless ``tasks_dir`` or ``$LEGO_ARTA_TASKS`` names one.
    Tasks left out because the build lacks their config are printed to stderr and logged.
    Raises :class:`EvalSetupError` before anything runs when the build or the model cannot serve
    the request, and :class:`LmmsEvalError` unless the run left complete, numeric results.
    """
    if box_format not in BOX_FORMATS:
        raise ValueError(f"box format {box_format!r}: expected one of {', '.join(BOX_FORMATS)}")
    chosen_dir = find_task_dir(tasks_dir)
    dataset = resolve_data(data, offline=offline)
    built_with = data_benchmark_version(dataset)
    if built_with not in (UNKNOWN, BENCHMARK_VERSION):
        print(
            f"warning: {dataset} was built with benchmark version {built_with}; these task files are version {BENCHMARK_VERSION}",
            file=sys.stderr,
        )
    check_model_offline(model_args, offline=offline)
    model_args = absolute_model_path(model_args)
    output = Path(output).resolve()
    secrets = secret_values(model_args)
    with tempfile.TemporaryDirectory(prefix="lego-arta-lmms-eval-") as scratch:
        task_dir = chosen_dir or write_task_dir(Path(scratch) / "include" / FOLDER_NAME)
        plan = plan_tasks(tasks, read_task_index(task_dir), dataset)
        output.mkdir(parents=True, exist_ok=True)
        earlier = {path: path.stat().st_mtime_ns for path in output.rglob(RESULTS_GLOB)}
        log = output / LOG_NAME
        (output / USAGE_NAME).unlink(missing_ok=True)  # a served model writes this run's usage afresh
        command = lmms_eval_command(
            model=model,
            model_args=model_args,
            tasks=plan.tasks,
            include_path=task_dir,
            output=output,
            limit=limit,
            batch_size=batch_size,
            extra=extra,
        )
        left_out = "".join(f"left out {task}: the build has no {config!r} config\n" for task, config in plan.left_out.items())
        if left_out:
            print(left_out, end="", file=sys.stderr)
        workdir = Path(scratch) / "cwd"
        workdir.mkdir()
        with log.open("w", encoding="utf-8") as sink:
            sink.write(left_out + redact("$ " + " ".join(command), secrets) + "\n")
            sink.flush()
            child = subprocess.Popen(
                command,
                cwd=workdir,
                env=lmms_eval_environment(dataset, offline=offline, run_dir=output, box_format=box_format),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            assert child.stdout is not None
            for line in child.stdout:  # the child may echo model_args (its DEBUG log does): redact line by line
                sink.write(redact(line, secrets))
            returncode = child.wait()
    expected = plan.expected
    _redact_outputs(output, secrets)
    if NO_TASK_SELECTED.search(log.read_text(encoding="utf-8", errors="replace")):
        raise _failure(f"lmms-eval selected no task for --tasks {plan.tasks} (include path {task_dir})", log)
    if returncode != 0:
        raise _failure(f"lmms-eval exited with status {returncode}", log)
    fresh = [path for path in output.rglob(RESULTS_GLOB) if earlier.get(path) != path.stat().st_mtime_ns]
    written = sorted(fresh, key=lambda path: path.stat().st_mtime_ns)
    if not written:
        raise _failure(f"lmms-eval wrote no {RESULTS_GLOB} under {output}", log)
    results_path = written[-1]
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LmmsEvalError(f"{results_path}: unreadable results JSON ({error})") from error
    problems = check_results(results, expected)
    problems += [f"log: {line}" for line in swallowed_errors(log.read_text(encoding="utf-8", errors="replace"))]
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise _failure(f"incomplete lmms-eval run ({results_path}):\n{listed}", log)
    _attach_usage(results_path, results, output / USAGE_NAME)
    return results_path


def _attach_usage(results_path: Path, results: dict[str, Any], usage_path: Path) -> None:
    """Move a served model's usage (requests, tokens, seconds) into the results JSON, under :data:`RESULTS_KEY`."""
    if not usage_path.is_file():
        return
    results[RESULTS_KEY] = json.loads(usage_path.read_text(encoding="utf-8"))
    atomic_write_text(results_path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    usage_path.unlink()  # it lives on in the results JSON, where `lego-arta report` reads it


def served_usage(results_path: Path) -> dict[str, Any] | None:
    """The usage block a served model's run left in its results JSON (``this_run`` and ``total``), or ``None``."""
    usage = json.loads(Path(results_path).read_text(encoding="utf-8")).get(RESULTS_KEY)
    return usage if isinstance(usage, dict) and isinstance(usage.get("this_run"), dict) else None


#: How an absent metric (``null`` in the results) is printed.
ABSENT = "–"


def metric_rows(results_path: Path) -> list[tuple[str, str, float | None]]:
    """(task, metric, value) for every ``<metric>,none`` entry, numeric or ``None`` (absent), sorted: the report table."""
    results = json.loads(Path(results_path).read_text(encoding="utf-8"))["results"]
    rows = []
    for task, scores in sorted(results.items()):
        for key, value in scores.items():
            metric, _, filter_name = key.partition(",")
            if filter_name == METRIC_FILTER and "_stderr" not in metric and (value is None or _is_number(value)):
                rows.append((task, metric, None if value is None else float(value)))
    return rows
