"""The task registry and specs: one list of tasks, errors that name what was expected."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lego_arta import tasks
from lego_arta.metrics import METRICS, register_metric
from lego_arta.tasks import TASKS, get_task, register_task
from lego_arta.tasks.spec import COMMON_FEATURES, RUN_COLUMNS, check_row


def test_builtin_tasks_in_order_with_registered_metrics_and_distinct_tokens() -> None:
    assert list(TASKS)[:3] == ["scene", "object", "state"]
    for spec in TASKS.values():
        assert spec.metrics and all(name in METRICS for name in spec.metrics)
        read = {c for source in spec.metrics.values() for c in (source if isinstance(source, tuple) else (source,))}
        # a metric reads the answer, the task's reference columns, or a run column (box format, P(Yes)) the scorer supplies
        assert all(column == "answer" or column in spec.reference_columns or column in RUN_COLUMNS for column in read)
        assert not set(RUN_COLUMNS) & (set(spec.features) | set(COMMON_FEATURES))
        assert set(spec.reference_columns) <= set(spec.features) | set(COMMON_FEATURES)
        assert not set(spec.features) & set(COMMON_FEATURES)
    built_by_default = [spec for spec in TASKS.values() if spec.in_default_build]
    assert len({spec.task_token for spec in built_by_default}) == len(built_by_default)
    for spec in TASKS.values():
        if spec.examples_from:  # a variant asks its base task's question, in other words
            assert spec.task_token == get_task(spec.examples_from).task_token and spec.splits == ("test",)


def test_an_unknown_task_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown task 'scenes'; expected one of scene, object, state"):
        get_task("scenes")


def test_a_different_task_under_a_taken_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered as 'state'"):
        register_task(replace(get_task("state"), description="another state"))
    assert register_task(get_task("state")) is get_task("state")
    with pytest.raises(ValueError, match="already registered as 'f1'"):
        register_metric(replace(METRICS["f1"], higher_is_better=False))


def test_rows_with_missing_or_extra_columns_are_refused_where_they_are_made() -> None:
    row = dict.fromkeys([*COMMON_FEATURES, "label", "negative_kind", "displacement"])
    check_row(get_task("state"), row, where="m1")
    with pytest.raises(ValueError, match=r"m1: a state row .* missing \['displacement'\], unexpected \['box'\]"):
        check_row(get_task("state"), {**{k: v for k, v in row.items() if k != "displacement"}, "box": None}, where="m1")


def test_scores_follow_the_metric_functions_through_the_reference_columns() -> None:
    spec = get_task("object")
    answers = ["<p>2 red bricks</p>{<10><10><50><50>}", "nothing"]
    columns = {
        "box": [[10.0, 10.0, 50.0, 50.0], [0.0, 0.0, 20.0, 20.0]],
        "entities": [["red"], ["blue"]],
        "quadrant": [0, 3],
        "object": ["2 red bricks", "1 blue plate"],
    }
    scores = spec.scores(answers, columns)
    assert {k: scores[k] for k in ("e_acc", "echo_rate", "iou", "valid_box_rate", "quadrant_acc")} == dict.fromkeys(
        ("e_acc", "echo_rate", "iou", "valid_box_rate", "quadrant_acc"), 50.0
    )
    assert {name: stats.score() for name, stats in spec.stats(answers, columns).items()} == scores
    assert set(spec.per_sample(answers, columns)) == {"e_acc", "echo", "iou", "valid_box", "quadrant_hit", "predicted_quadrant"}
    assert spec.scores(answers, columns, ["iou"]) == {"iou": 50.0}
    assert tasks.TASKS_ENV == "LEGO_ARTA_TASK_MODULES"
