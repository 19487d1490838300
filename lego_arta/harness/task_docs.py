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

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from lego_arta.dataset.prompts import compose_query
from lego_arta.metrics import (
    OBJECT_METRICS,
    SCENE_METRICS,
    STATE_METRICS,
    e_acc_per_sample,
    iou_per_sample,
    object_scores,
    rouge1_per_sample,
    scene_scores,
    state_outcomes,
    state_scores,
    t_acc_per_sample,
    valid_box_per_sample,
)

#: Environment variable naming the built dataset (a local Hub-layout folder or a Hub id).
DATA_ENV = "LEGO_ARTA_DATA"
#: Used when ``LEGO_ARTA_DATA`` is unset: the published dataset on the Hugging Face Hub.
DEFAULT_DATASET = "lego-arta/lego-arta"
CONFIGS: tuple[str, ...] = ("scene", "object", "state")
#: Reported metrics of each config, in table order (keys of lmms-eval's results JSON).
CONFIG_METRICS: dict[str, tuple[str, ...]] = {"scene": SCENE_METRICS, "object": OBJECT_METRICS, "state": STATE_METRICS}
#: In-context examples come from this split, so no test row is ever shown as an example.
IN_CONTEXT_SPLIT = "train"
#: Fixed seed: every model sees the same examples, which keeps the query-setting study comparable.
IN_CONTEXT_SEED = 0
#: Between a worked example and the next query when a model takes one flat text prompt.
EXAMPLE_SEPARATOR = "\n"


def dataset_path() -> str:
    """The dataset lmms-eval loads: ``$LEGO_ARTA_DATA`` or the Hub id :data:`DEFAULT_DATASET`."""
    return os.environ.get(DATA_ENV) or DEFAULT_DATASET


@dataclass(frozen=True)
class QuerySetting:
    """One cell of the query-setting study for one config."""

    config: str
    with_instruction: bool = True
    in_context_examples: int = 0

    def __post_init__(self) -> None:
        if self.config not in CONFIGS:
            raise ValueError(f"lmms_eval_specific_kwargs config={self.config!r}: expected one of {', '.join(CONFIGS)}")
        if self.in_context_examples < 0:
            raise ValueError(f"in_context_examples must be >= 0, got {self.in_context_examples}")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None) -> QuerySetting:
        """Read the setting from a task YAML's ``lmms_eval_specific_kwargs`` (``config`` is required)."""
        if not kwargs or "config" not in kwargs:
            raise ValueError("task YAML must set lmms_eval_specific_kwargs.default.config (scene, object or state)")
        return cls(
            config=str(kwargs["config"]),
            with_instruction=bool(kwargs.get("with_instruction", True)),
            in_context_examples=int(kwargs.get("in_context_examples", 0)),
        )


def query_text(doc: Mapping[str, Any], *, with_instruction: bool) -> str:
    """The row's query, optionally without the manual-instruction context."""
    if with_instruction:
        return str(doc["query"])
    return compose_query(str(doc["task_token"]), "", str(doc["question"]))


@dataclass(frozen=True)
class InContextExample:
    """A solved train row shown before the question."""

    image: Any  # PIL.Image.Image
    query: str
    answer: str


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
def in_context_examples(data: str, config: str, count: int, with_instruction: bool, seed: int = IN_CONTEXT_SEED) -> tuple[InContextExample, ...]:
    """Load ``count`` examples of ``config`` from the train split of ``data`` (cached per process)."""
    if count == 0:
        return ()
    import datasets

    train = datasets.load_dataset(data, config, split=IN_CONTEXT_SPLIT)
    labels = train["label"] if config == "state" else None
    rows = [train[i] for i in choose_in_context_rows(list(train["id"]), labels, count=count, seed=seed)]
    return tuple(InContextExample(row["image"], query_text(row, with_instruction=with_instruction), str(row["answer"])) for row in rows)


def _examples(setting: QuerySetting) -> tuple[InContextExample, ...]:
    return in_context_examples(dataset_path(), setting.config, setting.in_context_examples, setting.with_instruction)


# lmms-eval hooks: doc_to_visual / doc_to_text serve "simple" models (images first, one text
# prompt), doc_to_messages serves chat models (each example a user turn + an assistant turn).


def doc_to_visual(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> list[Any]:
    """Example images in order, then the row's image (RGB)."""
    setting = QuerySetting.from_kwargs(lmms_eval_specific_kwargs)
    return [example.image.convert("RGB") for example in _examples(setting)] + [doc["image"].convert("RGB")]


def doc_to_text(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> str:
    """Worked examples as ``query answer`` lines, then the query."""
    setting = QuerySetting.from_kwargs(lmms_eval_specific_kwargs)
    shots = [f"{example.query} {example.answer}" for example in _examples(setting)]
    return EXAMPLE_SEPARATOR.join([*shots, query_text(doc, with_instruction=setting.with_instruction)])


def doc_to_messages(doc: Mapping[str, Any], lmms_eval_specific_kwargs: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Chat turns: (image, example query) → example answer, …, then (image, query)."""
    setting = QuerySetting.from_kwargs(lmms_eval_specific_kwargs)
    messages: list[dict[str, Any]] = []
    for example in _examples(setting):
        messages.append(_user_turn(example.image, example.query))
        messages.append({"role": "assistant", "content": [{"type": "text", "text": example.answer}]})
    messages.append(_user_turn(doc["image"], query_text(doc, with_instruction=setting.with_instruction)))
    return messages


def _user_turn(image: Any, text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "image", "url": image.convert("RGB")}, {"type": "text", "text": text}]}


def _answer(results: Sequence[str]) -> str:
    return results[0] if results else ""


def _per_metric(record: dict[str, Any], config: str) -> dict[str, dict[str, Any]]:
    """lmms-eval wants one entry per metric; every aggregation reads the same record."""
    return {metric: record for metric in CONFIG_METRICS[config]}


def process_scene_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
    answer, entities = _answer(results), list(doc["entities"])
    record = {
        "id": doc["id"],
        "answer": answer,
        "reference": doc["answer"],
        "entities": entities,
        "sample_t_acc": t_acc_per_sample([answer], [entities])[0],
        "sample_rouge1": rouge1_per_sample([answer], [doc["answer"]])[0],
    }
    return _per_metric(record, "scene")


def process_object_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
    answer, entities, box = _answer(results), list(doc["entities"]), [float(v) for v in doc["box"]]
    record = {
        "id": doc["id"],
        "answer": answer,
        "box": box,
        "entities": entities,
        "sample_e_acc": e_acc_per_sample([answer], [entities])[0],
        "sample_iou": iou_per_sample([answer], [box])[0],
        "sample_valid_box": bool(valid_box_per_sample([answer])[0]),
    }
    return _per_metric(record, "object")


def process_state_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, dict[str, Any]]:
    answer, label = _answer(results), bool(doc["label"])
    record = {"id": doc["id"], "answer": answer, "label": label, "outcome": state_outcomes([answer], [label])[0]}
    return _per_metric(record, "state")


def _scene(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return scene_scores([r["answer"] for r in records], [r["reference"] for r in records], [r["entities"] for r in records])


def _object(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return object_scores([r["answer"] for r in records], [r["box"] for r in records], [r["entities"] for r in records])


def _state(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return state_scores([r["answer"] for r in records], [r["label"] for r in records])


def aggregate_t_acc(records: Sequence[Mapping[str, Any]]) -> float:
    return _scene(records)["t_acc"]


def aggregate_bleu(records: Sequence[Mapping[str, Any]]) -> float:
    return _scene(records)["bleu"]


def aggregate_rouge1(records: Sequence[Mapping[str, Any]]) -> float:
    return _scene(records)["rouge1"]


def aggregate_e_acc(records: Sequence[Mapping[str, Any]]) -> float:
    return _object(records)["e_acc"]


def aggregate_iou(records: Sequence[Mapping[str, Any]]) -> float:
    return _object(records)["iou"]


def aggregate_valid_box_rate(records: Sequence[Mapping[str, Any]]) -> float:
    return _object(records)["valid_box_rate"]


def aggregate_f1(records: Sequence[Mapping[str, Any]]) -> float:
    return _state(records)["f1"]


def aggregate_tnr(records: Sequence[Mapping[str, Any]]) -> float:
    return _state(records)["tnr"]


def aggregate_fpr(records: Sequence[Mapping[str, Any]]) -> float:
    return _state(records)["fpr"]


def aggregate_invalid_rate(records: Sequence[Mapping[str, Any]]) -> float:
    return _state(records)["invalid_rate"]
