"""What lmms-eval shows a model for one LEGO-ARTA row, and how the answers are scored.

The task YAMLs in ``eval_tasks/lego_arta/`` point here through a thin ``utils.py``; all logic
lives in this module so it is imported once (lmms-eval re-executes ``utils.py`` for every
``!function`` tag) and tested like any other code. Metrics come from :mod:`lego_arta.metrics`.

A *query setting* (SPEC §3, the study's query-setting table) is passed per task variant through
``lmms_eval_specific_kwargs``: ``config`` (scene/object/state), ``with_instruction`` (keep the
manual-instruction context) and ``in_context_examples`` (how many solved train rows to show
before the question, their images passed as extra visuals).

>>> query_text({"task_token": "[state]", "instruction": "After I find 2 red bricks.",
...             "question": "Did I do it correctly? Just tell me Yes or No.",
...             "query": "[state] After I find 2 red bricks. Did I do it correctly? Just tell me Yes or No."},
...            with_instruction=False)
'[state] Did I do it correctly? Just tell me Yes or No.'
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from lego_arta.answers import BOX_FORMATS
from lego_arta.harness import probabilities
from lego_arta.metrics import get_metric
from lego_arta.study import IN_CONTEXT_EXAMPLES
from lego_arta.tasks import TASKS, get_task
from lego_arta.tasks.prompts import compose_query
from lego_arta.tasks.spec import HISTORY_COLUMN, RUN_COLUMNS, plain_value

#: Environment variable naming the built dataset (a local Hub-layout folder or a Hub id).
DATA_ENV = "LEGO_ARTA_DATA"
#: Used when ``LEGO_ARTA_DATA`` is unset: the published dataset on the Hugging Face Hub.
DEFAULT_DATASET = "lego-arta/lego-arta"
#: In-context examples come from this split, so no test row is ever shown as an example.
IN_CONTEXT_SPLIT = "train"
#: Fixed seed: every model sees the same examples, which keeps the query-setting study comparable.
IN_CONTEXT_SEED = 0
#: Between a worked example and the next query when a model takes one flat text prompt.
EXAMPLE_SEPARATOR = "\n"


#: Environment variable naming the box convention object answers are read in (``lego-arta eval --box-format`` sets it).
BOX_FORMAT_ENV = "LEGO_ARTA_BOX_FORMAT"


def dataset_path() -> str:
    """The dataset lmms-eval loads: ``$LEGO_ARTA_DATA`` or the Hub id :data:`DEFAULT_DATASET`."""
    return os.environ.get(DATA_ENV) or DEFAULT_DATASET


def box_format() -> str:
    """The run's box convention: ``$LEGO_ARTA_BOX_FORMAT``, else ``auto``; an unknown value is an error.

    >>> box_format() in BOX_FORMATS
    True
    """
    value = os.environ.get(BOX_FORMAT_ENV) or "auto"
    if value not in BOX_FORMATS:
        raise ValueError(f"${BOX_FORMAT_ENV}={value!r}: expected one of {', '.join(BOX_FORMATS)}")
    return value


@dataclass(frozen=True)
class QuerySetting:
    """One cell of the query-setting study for one config."""

    config: str
    with_instruction: bool = True
    in_context_examples: int = 0

    def __post_init__(self) -> None:
        if self.config not in TASKS:
            raise ValueError(f"lmms_eval_specific_kwargs config={self.config!r}: expected one of {', '.join(TASKS)}")
        if self.in_context_examples < 0:
            raise ValueError(f"in_context_examples must be >= 0, got {self.in_context_examples}")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None) -> QuerySetting:
        """Read the setting from a task YAML's ``lmms_eval_specific_kwargs`` (``config`` is required)."""
        if not kwargs or "config" not in kwargs:
            raise ValueError(f"task YAML must set lmms_eval_specific_kwargs.default.config (one of {', '.join(TASKS)})")
        return cls(
            config=str(kwargs["config"]),
            with_instruction=bool(kwargs.get("with_instruction", True)),
            in_context_examples=int(kwargs.get("in_context_examples", 0)),
        )


@dataclass(frozen=True)
class QuerySettingVariant:
    """A row of the query-setting table: task-name suffix (also of the tag: ``lego_arta_noctx``), settings, description."""

    suffix: str
    with_instruction: bool
    in_context_examples: int
    description: str


#: The study's query settings (SPEC §3, Table 8.4): every task gets one lmms-eval task per row
#: (``eval_tasks/lego_arta/_generate_configs.py``). A new query setting is a new row.
QUERY_SETTINGS: tuple[QuerySettingVariant, ...] = (
    QuerySettingVariant("", True, 0, "with the manual instruction, no in-context examples (the main setting)"),
    QuerySettingVariant("_noctx", False, 0, "without the manual instruction, no in-context examples"),
    QuerySettingVariant("_icl", True, IN_CONTEXT_EXAMPLES, "with the manual instruction and two in-context examples from the train split"),
    QuerySettingVariant(
        "_noctx_icl", False, IN_CONTEXT_EXAMPLES, "without the manual instruction, with two in-context examples from the train split"
    ),
)


def query_text(doc: Mapping[str, Any], *, with_instruction: bool) -> str:
    """The row's query, optionally without the manual-instruction context."""
    if with_instruction:
        return str(doc["query"])
    return compose_query(str(doc["task_token"]), "", str(doc["question"]))


@dataclass(frozen=True)
class InContextExample:
    """A solved train row shown before the question: its images (every frame, in order), query and answer."""

    images: tuple[Any, ...]  # PIL.Image.Image each
    query: str
    answer: str


def doc_images(doc: Mapping[str, Any], config: str) -> list[Any]:
    """The row's images in the order a model sees them (``image``, then the task's ``extra_images``), RGB."""
    return [doc[column].convert("RGB") for column in get_task(config).image_columns]


def choose_in_context_rows(ids: Sequence[str], labels: Sequence[bool] | None, *, count: int, seed: int) -> tuple[int, ...]:
    """Indices of ``count`` example rows, independent of the rows' storage order.

    Rows are ranked by a seeded shuffle of their sorted ids. With ``labels`` (the state task),
    examples alternate Yes/No starting with Yes, so the examples do not hint at one verdict.

    >>> choose_in_context_rows(["a", "b", "c", "d"], [False, False, True, False], count=2, seed=0)
    (2, 0)
    """
    if count > len(ids):
        raise ValueError(f"{count} in-context examples requested but the {IN_CONTEXT_SPLIT} split has {len(ids)} rows")
    by_id = sorted(range(len(ids)), key=lambda i: ids[i])
    ranked = [by_id[i] for i in np.random.default_rng(seed).permutation(len(by_id))]
    if labels is None:
        return tuple(ranked[:count])
    pools = {verdict: [i for i in ranked if bool(labels[i]) is verdict] for verdict in (True, False)}
    chosen: list[int] = []
    for position in range(count):
        wanted = position % 2 == 0
        pool = pools[wanted] or pools[not wanted]
        chosen.append(pool.pop(0))
    return tuple(chosen)


@cache
def in_context_examples(
    data: str, config: str, count: int, with_instruction: bool, seed: int = IN_CONTEXT_SEED
) -> tuple[InContextExample, ...]:
    """Load ``count`` examples of ``config`` from the train split of ``data`` (cached per process)."""
    if count == 0:
        return ()
    import datasets

    spec = get_task(config)
    train = datasets.load_dataset(data, spec.examples_from or config, split=IN_CONTEXT_SPLIT)
    balance = spec.in_context_balance
    labels = train[balance] if balance else None
    rows = [train[i] for i in choose_in_context_rows(list(train["id"]), labels, count=count, seed=seed)]
    return tuple(
        InContextExample(
            tuple(doc_images(row, spec.examples_from or config)), query_text(row, with_instruction=with_instruction), str(row["answer"])
        )
        for row in rows
    )


def _examples(setting: QuerySetting) -> tuple[InContextExample, ...]:
    return in_context_examples(dataset_path(), setting.config, setting.in_context_examples, setting.with_instruction)


# lmms-eval hooks: doc_to_visual / doc_to_text serve "simple" models (images first, one text
# prompt), doc_to_messages serves chat models (each example a user turn + an assistant turn).


def doc_history(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The earlier turns of a conversation row (a task with a ``history`` column), as (query, answer)."""
    return [(str(turn["query"]), str(turn["answer"])) for turn in (doc.get(HISTORY_COLUMN) or ())]


def doc_to_visual(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> list[Any]:
    """Example images in order, then the row's images (RGB; the ``order`` task's two frames in their order)."""
    setting = QuerySetting.from_kwargs(lmms_eval_specific_kwargs)
    return [image for example in _examples(setting) for image in example.images] + doc_images(doc, setting.config)


def doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """Worked examples as ``query answer`` lines, the conversation's earlier turns likewise, then the query."""
    setting = QuerySetting.from_kwargs(lmms_eval_specific_kwargs)
    shots = [f"{example.query} {example.answer}" for example in _examples(setting)]
    turns = [f"{query} {answer}" for query, answer in doc_history(doc)]
    return EXAMPLE_SEPARATOR.join([*shots, *turns, query_text(doc, with_instruction=setting.with_instruction)])


def doc_to_messages(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Chat turns: (image, example query) → example answer, …, then (image, query).

    A conversation row (``history``) sends its earlier turns first: the images with the first
    query, each earlier answer as the assistant's, then the row's query as the last user turn."""
    setting = QuerySetting.from_kwargs(lmms_eval_specific_kwargs)
    messages: list[dict[str, Any]] = []
    for example in _examples(setting):
        messages.append(_user_turn(example.images, example.query))
        messages.append(_assistant_turn(example.answer))
    images = doc_images(doc, setting.config)
    for query, answer in doc_history(doc):
        messages += [_user_turn(images, query), _assistant_turn(answer)]
        images = []
    messages.append(_user_turn(images, query_text(doc, with_instruction=setting.with_instruction)))
    return messages


def _assistant_turn(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def _user_turn(images: Sequence[Any], text: str) -> dict[str, Any]:
    content = [{"type": "image", "url": image.convert("RGB")} for image in images]
    return {"role": "user", "content": [*content, {"type": "text", "text": text}]}


def _answer(results: Sequence[str]) -> str:
    return results[0] if results else ""


def _columns_of(source: str | tuple[str, ...]) -> tuple[str, ...]:
    return source if isinstance(source, tuple) else (source,)


def process_results(task: str, doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The per-sample record of one answer: id, answer and each metric's target.

    lmms-eval wants one entry per metric; every entry is the same record, and each metric's
    aggregation scores all records' answers against their targets (:func:`aggregate`): metrics
    over groups of rows (group accuracy) and corpus BLEU are not means of per-sample values.
    """
    spec, answer = get_task(task), _answer(results)
    metrics = spec.harness_metrics
    needed = {column for source in metrics.values() for column in _columns_of(source)} - set(RUN_COLUMNS)
    run = {"box_format": box_format(), "p_yes": probabilities.lookup(probabilities.sample_key(str(doc["id"]), answer))}
    columns = {**{column: [plain_value(doc[column])] for column in sorted(needed)}, **{name: [value] for name, value in run.items()}}
    record = {
        "id": doc["id"],
        "answer": answer,
        **run,
        "targets": {name: spec.targets(name, columns)[0] for name in metrics},
    }
    return {name: record for name in metrics}


def aggregate(metric: str, records: Sequence[Mapping[str, Any]]) -> float | None:
    """``metric`` over all records, from their answers and targets: the metric's own code, so the
    aggregate equals the metric over all answers (corpus BLEU, micro rates and groups included).

    ``None`` where the metric does not exist on these rows (the TNR of a negative kind the build
    did not make, AUROC without probabilities, AUROC over one class): lmms-eval writes it as
    ``null`` and prints ``N/A``, where a 0 would read as a measured failure.
    """
    targets = [plain_value(r["targets"][metric]) for r in records]
    found = get_metric(metric)
    if not found.applies_to(targets):
        return None
    value = found.score([r["answer"] for r in records], targets)
    return value if math.isfinite(value) else None


def _process_hook(task: str) -> Callable[[Mapping[str, Any], Sequence[str]], dict[str, dict[str, Any]]]:
    def hook(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
        return process_results(task, doc, results)

    hook.__name__ = hook.__qualname__ = f"process_{task}_results"
    hook.__doc__ = f"lmms-eval ``process_results`` of the {task} task."
    return hook


def _aggregate_hook(metric: str) -> Callable[[Sequence[Mapping[str, Any]]], float | None]:
    def hook(records: Sequence[Mapping[str, Any]]) -> float | None:
        return aggregate(metric, records)

    hook.__name__ = hook.__qualname__ = f"aggregate_{metric}"
    hook.__doc__ = f"lmms-eval aggregation of {metric}."
    return hook


def hook_names() -> dict[str, Callable[..., Any]]:
    """The named hooks the task YAMLs reference: ``process_<task>_results`` and ``aggregate_<metric>``."""
    hooks: dict[str, Callable[..., Any]] = {}
    for name, spec in TASKS.items():
        hooks[f"process_{name}_results"] = _process_hook(name)
        for metric in spec.harness_metrics:
            hooks[f"aggregate_{metric}"] = _aggregate_hook(metric)
    return hooks


globals().update(hook_names())
