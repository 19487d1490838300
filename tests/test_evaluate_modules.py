"""The ``evaluate`` metric modules load offline from the package and report the toolkit's numbers.

``evaluate`` reads ``HF_HOME`` once at import and costs 7–10 s to import, so the modules run in one
fresh subprocess with a private, empty cache and the Hub switched off; this also proves nothing is
fetched from the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lego_arta.metrics as metrics

_RESAMPLES = 200

_RUNNER = """
import json, sys
import evaluate
from lego_arta.metrics import evaluate_module_path

cases = json.load(open(sys.argv[1]))
results = {}
for name, case in cases.items():
    module = evaluate.load(evaluate_module_path(case["module"]), case.get("config"))
    results[name] = module.compute(**case["inputs"])
json.dump(results, open(sys.argv[2], "w"))
"""


def _inputs(seed: int = 0, n: int = 60) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    vocab = "put the red brick on top of blue plate find 2 white tiles 1x2 attach it".split()
    sentences = [" ".join(rng.choice(vocab, size=int(rng.integers(1, 10)))) + "." for _ in range(n)]
    answers = [s if rng.random() < 0.3 else " ".join(rng.choice(vocab, size=5)) for s in sentences]
    entities = [[str(w) for w in rng.choice(vocab, size=int(rng.integers(0, 3)))] for _ in range(n)]
    boxes = [sorted(rng.integers(0, 100, 2).tolist()) + sorted(rng.integers(0, 100, 2).tolist()) for _ in range(n)]
    boxes = [[b[0], b[2], b[1] + 1, b[3] + 1] for b in boxes]
    box_answers = [
        f"<p>{a}</p>{{<{b[0]}><{b[1]}><{min(b[2] + 5, 100)}><{b[3]}>}}" if rng.random() < 0.8 else a for a, b in zip(answers, boxes)
    ]
    labels = [bool(v) for v in rng.random(n) < 0.25]
    verdicts = [str(v) for v in rng.choice(["Yes.", "No.", "yes", "No, it is not.", "maybe"], size=n)]
    return {
        "scene": {"module": "scene", "inputs": {"predictions": answers, "references": sentences, "entities": entities}},
        "object": {"module": "object", "inputs": {"predictions": box_answers, "references": boxes, "entities": entities}},
        "state": {"module": "state", "inputs": {"predictions": verdicts, "references": labels}},
        "state_text_refs": {
            "module": "lego_arta_state",
            "inputs": {"predictions": verdicts, "references": ["Yes." if y else "No." for y in labels]},
        },
        "scene_ci": {
            "module": "scene",
            "inputs": {"predictions": answers, "references": sentences, "entities": entities, "n_resamples": _RESAMPLES, "seed": 3},
        },
        "state_ci": {
            "module": "state",
            "inputs": {"predictions": verdicts, "references": labels, "n_resamples": _RESAMPLES, "seed": 3},
        },
    }


def _run_modules(work: Path, cases: dict) -> dict:
    """What the evaluate modules return for ``cases``, run in ``work`` (outside the checkout), offline, with a fresh cache."""
    (work / "cases.json").write_text(json.dumps(cases))
    env = {
        **os.environ,
        "HF_HOME": str(work / "hf_home"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
    }
    env.pop("HF_MODULES_CACHE", None)
    env.pop("HF_EVALUATE_CACHE", None)
    run = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(work / "cases.json"), str(work / "results.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "hf_home").is_dir(), "evaluate did not use the private HF_HOME"
    return json.loads((work / "results.json").read_text())


@pytest.fixture(scope="module")
def module_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """Inputs and what the evaluate modules returned for them (run once, offline, fresh cache)."""
    cases = _inputs()
    return cases, _run_modules(tmp_path_factory.mktemp("evaluate_modules"), cases)


def _order_case() -> dict:
    """Two flip pairs, answers worked out by hand: rows 0, 1, 3 right (accuracy 75), pair p0 whole, p1 not (pair accuracy 50)."""
    labels = [True, False, False, True]
    return {
        "predictions": ["Attached.", "Removed.", "Attached.", "Attached."],
        "references": ["Attached." if label else "Removed." for label in labels],
        "columns": {
            "label": labels,
            "pair": [
                {"id": "p0", "attached": True},
                {"id": "p0", "attached": False},
                {"id": "p1", "attached": False},
                {"id": "p1", "attached": True},
            ],
        },
    }


@pytest.fixture(scope="module")
def generic_results(tmp_path_factory: pytest.TempPathFactory, built_dataset: Path) -> tuple[dict, dict]:
    """The one module for any task, on real test rows (a ``_syn`` variant on its base task's rows) and a hand-made order case."""
    from lego_arta.evaluation.scoring import load_references, reference_columns
    from lego_arta.tasks import TASKS

    cases = {"order": {"module": "task", "config": "order", "inputs": _order_case()}}
    for task in ("scene", "object", "state"):
        references = load_references(task, built_dataset)
        columns = {
            name: [list(v) if isinstance(v, tuple) else v for v in values] for name, values in reference_columns(task, references).items()
        }
        answers = [ref if i % 3 else "Yes." for i, ref in enumerate(columns.pop("answer"))]
        inputs = {"predictions": answers, "references": [r.answer for r in references], "columns": columns}
        for config in (task, f"{task}_syn"):
            assert config in TASKS
            cases[config] = {"module": "task", "config": config, "inputs": inputs}
    return cases, _run_modules(tmp_path_factory.mktemp("generic_module"), cases)


@pytest.mark.slow
def test_the_generic_module_equals_the_task_scores_for_every_kind_of_task(generic_results: tuple[dict, dict]) -> None:
    from lego_arta.tasks import get_task

    cases, results = generic_results
    assert results["order"]["order_accuracy"] == 75.0 and results["order"]["order_pair_accuracy"] == 50.0
    for name, case in cases.items():
        inputs = case["inputs"]
        columns = {"answer": inputs["references"], **inputs["columns"]}
        columns = {key: [metrics_value(v) for v in values] for key, values in columns.items()}
        expected = get_task(case["config"]).scores(inputs["predictions"], columns)
        assert results[name] == pytest.approx(expected), name
    assert set(results["state"]) >= {"f1", "group_acc", "balanced_acc"} and any(key.startswith("tnr_") for key in results["state"])


def metrics_value(value):
    """A JSON value as the task's own code gets it from the data: lists as tuples, dicts as they are."""
    return tuple(metrics_value(v) for v in value) if isinstance(value, list) else value


def test_every_registered_task_has_an_evaluate_module() -> None:
    from lego_arta.tasks import TASKS

    for task in TASKS:
        path, config = metrics.evaluate_module_for(task)
        folder = Path(path)
        assert (folder / f"{folder.name}.py").is_file() and (folder / "README.md").is_file()
        assert config in (None, task) and (config is None) == (task in ("scene", "object", "state"))
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        metrics.evaluate_module_for("nope")


def _scene_scores(answers: list[str], references: list[str], entities: list[list[str]]) -> dict[str, float]:
    return {
        "t_acc": metrics.t_acc(answers, entities),
        "bleu": metrics.bleu(answers, references),
        "rouge1": metrics.rouge1(answers, references),
    }


@pytest.mark.slow
def test_scene_module_equals_functions(module_results: tuple[dict, dict]) -> None:
    cases, results = module_results
    inputs = cases["scene"]["inputs"]
    expected = _scene_scores(inputs["predictions"], inputs["references"], inputs["entities"])
    assert results["scene"] == pytest.approx(expected)
    assert expected["t_acc"] == pytest.approx(metrics.t_acc(inputs["predictions"], inputs["entities"]))


@pytest.mark.slow
def test_object_module_equals_functions(module_results: tuple[dict, dict]) -> None:
    cases, results = module_results
    inputs = cases["object"]["inputs"]
    expected = {
        "e_acc": metrics.e_acc(inputs["predictions"], inputs["entities"]),
        "iou": metrics.iou(inputs["predictions"], inputs["references"]),
        "valid_box_rate": metrics.valid_box_rate(inputs["predictions"]),
    }
    assert results["object"] == pytest.approx(expected)


@pytest.mark.slow
def test_state_module_equals_functions_for_both_reference_kinds(module_results: tuple[dict, dict]) -> None:
    cases, results = module_results
    inputs = cases["state"]["inputs"]
    expected = metrics.state_scores(inputs["predictions"], inputs["references"])
    assert results["state"] == pytest.approx(expected)
    assert results["state_text_refs"] == pytest.approx(expected)


@pytest.mark.slow
def test_modules_report_the_same_intervals(module_results: tuple[dict, dict]) -> None:
    cases, results = module_results
    scene = cases["scene_ci"]["inputs"]
    expected_scene = metrics.add_intervals(
        _scene_scores(scene["predictions"], scene["references"], scene["entities"]),
        {
            "t_acc": metrics.t_acc_stats(scene["predictions"], scene["entities"]),
            "bleu": metrics.bleu_stats(scene["predictions"], scene["references"]),
            "rouge1": metrics.rouge1_stats(scene["predictions"], scene["references"]),
        },
        n_resamples=_RESAMPLES,
        seed=3,
    )
    assert results["scene_ci"] == pytest.approx(expected_scene)
    state = cases["state_ci"]["inputs"]
    expected_state = metrics.add_intervals(
        metrics.state_scores(state["predictions"], state["references"]),
        metrics.state_stats(state["predictions"], state["references"]),
        n_resamples=_RESAMPLES,
        seed=3,
    )
    assert results["state_ci"] == pytest.approx(expected_state)


@pytest.mark.parametrize("task", ["object", "scene", "state"])
def test_module_folders_ship_script_and_card(task: str) -> None:
    folder = Path(metrics.evaluate_module_path(task))
    assert (folder / f"{folder.name}.py").is_file()
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "## Verified" in card
    assert not (folder / "__init__.py").exists(), "evaluate loads the folder by path, not as a package"
