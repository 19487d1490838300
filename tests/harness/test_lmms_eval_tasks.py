"""LEGO-ARTA lmms-eval tasks: YAML wiring, document hooks, scoring, and real lmms-eval CLI runs."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.harness import task_docs
from lego_arta.harness.lmms_eval_runner import (
    check_results,
    exception_lines,
    find_task_dir,
    read_task_index,
    resolve_data,
    run_lmms_eval,
    swallowed_errors,
)
from lego_arta.models.tiny_vlm import build_tiny_vlm
from tests.support.cli import command

#: The committed export of the task files (equal to what the package renders: test_generated_configs.py).
REPO_TASKS_DIR = Path(__file__).resolve().parents[2] / "eval_tasks" / "lego_arta"

# Written out here, not imported: the contract the task card promises.
METRICS = {
    "scene": ("t_acc", "bleu", "rouge1"),
    "object": (
        "e_acc",
        "echo_rate",
        "iou",
        "valid_box_rate",
        "quadrant_acc",
        "quadrant_acc_tl",
        "quadrant_acc_tr",
        "quadrant_acc_bl",
        "quadrant_acc_br",
        "predicted_tl",
        "predicted_tr",
        "predicted_bl",
        "predicted_br",
    ),
    "state": (
        "f1",
        "tnr",
        "fpr",
        "invalid_rate",
        "balanced_acc",
        "mcc",
        "group_acc",
        "auroc",
        "average_precision",
        "tnr_displaced",
        "tnr_shifted",
        "tnr_rotated",
        "tnr_wrong_size",
        "tnr_wrong_colour",
        "tnr_missing",
        "tnr_wrong_layer",
        "tnr_undo",
    ),
}
#: Metrics that exist only where the model gives its P(Yes): absent (None) for a text-only run.
PROBABILITY_METRICS = ("auroc", "average_precision")
#: The state negative kinds the lmms-eval task lists a TNR for (a recipe picks some of them).
KIND_METRICS = tuple(metric for metric in METRICS["state"] if metric.startswith("tnr_"))
#: The opt-in order task (not in the default build), under its own tag.
TEMPORAL = {"order": ("order_accuracy", "order_pair_accuracy", "order_flip_consistency", "order_auroc", "order_average_precision")}
#: The opt-in guide task (the assistant's loop, one row per turn), under its own tag.
ASSISTANT = {
    "guide": (
        "guide_verdict_bacc",
        "guide_iou",
        "guide_hit_rate",
        "guide_fix_acc",
        "guide_fix_bleu",
        "guide_fix_rouge1",
        "guide_next_t_acc",
        "guide_success",
        "guide_success_position",
        "guide_success_orientation",
        "guide_success_wrong_part",
        "guide_success_omission",
        "guide_success_correct",
    )
}
SETTINGS = {"": (True, 0), "_noctx": (False, 0), "_icl": (True, 2), "_noctx_icl": (False, 2)}


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("hf-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HOME", str(home))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_DATASETS_OFFLINE", "1")
        yield home


@pytest.fixture(scope="module")
def data_dir(built_dataset: Path, hf_home: Path) -> Iterator[Path]:
    """The shared real build (tests/conftest.py), read-only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(task_docs.DATA_ENV, str(built_dataset))
        yield built_dataset


def _split(data_dir: Path, config: str, split: str = "test"):
    import datasets

    return datasets.load_dataset(str(data_dir), config, split=split)


def _kwargs(config: str, with_instruction: bool = True, examples: int = 0) -> dict:
    return {"config": config, "with_instruction": with_instruction, "in_context_examples": examples}


# --- YAML wiring -----------------------------------------------------------------------------


#: The unseen-synonym variant of every study task (ACE), scored like its original.
VARIANT = "_syn"


def _config_of(task: str) -> str:
    """``lego_arta_state_syn_icl`` → ``state_syn``; ``lego_arta_state_noctx`` → ``state``."""
    base = task.split("_")[2]
    return base + VARIANT if task[len(f"lego_arta_{base}") :].startswith(VARIANT) else base


def test_task_folder_has_every_config_and_query_setting() -> None:
    index = read_task_index(REPO_TASKS_DIR)
    study = {f"lego_arta_{config}{suffix}" for config in METRICS for suffix in SETTINGS}
    variants = {f"lego_arta_{config}{VARIANT}{suffix}" for config in METRICS for suffix in SETTINGS}
    temporal = {f"lego_arta_{config}{suffix}" for config in TEMPORAL for suffix in SETTINGS}
    assistant = {f"lego_arta_{config}{suffix}" for config in ASSISTANT for suffix in SETTINGS}
    assert set(index.metrics) == study | variants | temporal | assistant
    assert set(index.tags["lego_arta_assistant"]) == {"lego_arta_guide"}
    assert set(index.tags["lego_arta_temporal"]) == {"lego_arta_order"}
    assert set(index.tags["lego_arta_temporal_query_settings"]) == temporal
    assert set(index.tags["lego_arta"]) == {"lego_arta_scene", "lego_arta_object", "lego_arta_state"}
    assert set(index.tags["lego_arta_query_settings"]) == study
    assert set(index.tags["lego_arta_syn"]) == {"lego_arta_scene_syn", "lego_arta_object_syn", "lego_arta_state_syn"}
    assert set(index.tags["lego_arta_syn_query_settings"]) == variants
    for name, metrics in index.metrics.items():
        assert metrics == {**METRICS, **TEMPORAL, **ASSISTANT}[_config_of(name).removesuffix(VARIANT)], name


def test_each_task_reads_its_own_config_with_the_setting_its_name_says() -> None:
    from lego_arta.harness.lmms_eval_runner import _read_task_yaml

    for path in sorted(REPO_TASKS_DIR.glob("lego_arta_*.yaml")):
        config = _read_task_yaml(path)
        name = config["task"]
        dataset_config = _config_of(name)
        suffix = name[len(f"lego_arta_{dataset_config}") :]
        kwargs = config["lmms_eval_specific_kwargs"]["default"]
        assert name == path.stem
        assert config["dataset_name"] == kwargs["config"] == dataset_config
        assert (kwargs["with_instruction"], kwargs["in_context_examples"]) == SETTINGS[suffix]
        assert config["test_split"] == "test" and config["dataset_path"] == "utils.DATASET_PATH"


def test_utils_runs_as_a_fresh_top_level_module_and_reads_the_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    def load_utils():
        spec = importlib.util.spec_from_file_location("utils", REPO_TASKS_DIR / "utils.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    monkeypatch.setenv("LEGO_ARTA_DATA", "/some/built/folder")
    assert load_utils().DATASET_PATH == "/some/built/folder"
    monkeypatch.delenv("LEGO_ARTA_DATA")
    assert load_utils().DATASET_PATH == "lego-arta/lego-arta"
    source = (REPO_TASKS_DIR / "utils.py").read_text()
    assert "def " not in source, "utils.py must only re-export package functions"


def test_task_dir_lookup_takes_a_named_folder_else_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEGO_ARTA_TASKS", raising=False)
    assert find_task_dir(None) is None, "no folder named: the runner renders the task files"
    assert find_task_dir(REPO_TASKS_DIR) == REPO_TASKS_DIR.resolve()
    monkeypatch.setenv("LEGO_ARTA_TASKS", str(REPO_TASKS_DIR))
    assert find_task_dir(None) == REPO_TASKS_DIR.resolve()
    with pytest.raises(FileNotFoundError, match="not a LEGO-ARTA lmms-eval task folder.*tasks-path"):
        find_task_dir(tmp_path)


def test_data_location_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_data(tmp_path / "missing", offline=True)
    with pytest.raises(FileNotFoundError, match="needs --online"):
        resolve_data("lego-arta/lego-arta", offline=True)
    assert resolve_data("lego-arta/lego-arta", offline=False) == "lego-arta/lego-arta"
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="README.md"):
        resolve_data(tmp_path / "empty", offline=True)


# --- document hooks --------------------------------------------------------------------------


@pytest.mark.parametrize("config", sorted(METRICS))
def test_query_text_with_and_without_instruction(data_dir: Path, config: str) -> None:
    doc = _split(data_dir, config)[0]
    assert task_docs.doc_to_text(doc, _kwargs(config)) == doc["query"]
    without = task_docs.doc_to_text(doc, _kwargs(config, with_instruction=False))
    assert without == f"{doc['task_token']} {doc['question']}"
    if doc["instruction"]:
        assert doc["instruction"] not in without


@pytest.mark.parametrize("config", sorted(METRICS))
def test_in_context_examples_come_from_train_with_their_images(data_dir: Path, config: str) -> None:
    test, train = _split(data_dir, config), _split(data_dir, config, "train")
    doc = test[0]
    visuals = task_docs.doc_to_visual(doc, _kwargs(config, examples=2))
    messages = task_docs.doc_to_messages(doc, _kwargs(config, examples=2))
    assert len(visuals) == 3
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    images = [item["url"] for m in messages for item in m["content"] if item["type"] == "image"]
    assert [image.tobytes() for image in images] == [image.tobytes() for image in visuals]
    assert visuals[-1].tobytes() == doc["image"].convert("RGB").tobytes()
    train_pairs = set(zip(train["query"], train["answer"]))
    for user, assistant in zip(messages[0:4:2], messages[1:4:2]):
        assert (user["content"][1]["text"], assistant["content"][0]["text"]) in train_pairs
    text = task_docs.doc_to_text(doc, _kwargs(config, examples=2))
    assert text.endswith(doc["query"]) and text.count(doc["task_token"]) == 3


def test_state_examples_show_one_yes_and_one_no(data_dir: Path) -> None:
    messages = task_docs.doc_to_messages(_split(data_dir, "state")[0], _kwargs("state", examples=2))
    assert [m["content"][0]["text"] for m in messages if m["role"] == "assistant"] == ["Yes.", "No."]


def test_zero_examples_means_one_image_and_one_turn(data_dir: Path) -> None:
    doc = _split(data_dir, "object")[0]
    assert len(task_docs.doc_to_visual(doc, _kwargs("object"))) == 1
    assert len(task_docs.doc_to_messages(doc, _kwargs("object"))) == 1


def test_a_yaml_without_config_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="lmms_eval_specific_kwargs"):
        task_docs.QuerySetting.from_kwargs({"with_instruction": True})
    with pytest.raises(ValueError, match="expected one of"):
        task_docs.QuerySetting.from_kwargs({"config": "scenes"})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=6), st.booleans()), min_size=2, max_size=20, unique_by=lambda r: r[0]),
    st.integers(0, 2**31 - 1),
    st.randoms(use_true_random=False),
)
def test_example_choice_ignores_storage_order_and_balances_verdicts(rows, seed, shuffler) -> None:
    ids, labels = [r[0] for r in rows], [r[1] for r in rows]
    chosen = task_docs.choose_in_context_rows(ids, labels, count=2, seed=seed)
    shuffled = list(rows)
    shuffler.shuffle(shuffled)
    again = task_docs.choose_in_context_rows([r[0] for r in shuffled], [r[1] for r in shuffled], count=2, seed=seed)
    assert [ids[i] for i in chosen] == [shuffled[i][0] for i in again]
    assert len(set(chosen)) == 2
    if any(labels) and not all(labels):
        assert [labels[i] for i in chosen] == [True, False]
    with pytest.raises(ValueError, match="train split has"):
        task_docs.choose_in_context_rows(ids, None, count=len(ids) + 1, seed=seed)


# --- scoring ---------------------------------------------------------------------------------

AGGREGATIONS = {
    "scene": {"t_acc": task_docs.aggregate_t_acc, "bleu": task_docs.aggregate_bleu, "rouge1": task_docs.aggregate_rouge1},
    "object": {metric: getattr(task_docs, f"aggregate_{metric}") for metric in METRICS["object"]},
    "state": {metric: getattr(task_docs, f"aggregate_{metric}") for metric in METRICS["state"]},
}
PROCESS = {"scene": task_docs.process_scene_results, "object": task_docs.process_object_results, "state": task_docs.process_state_results}
PERFECT = {
    "scene": {"t_acc": 100.0, "bleu": 100.0, "rouge1": 100.0},
    "object": {
        "e_acc": 100.0,
        "echo_rate": 100.0,
        "iou": 100.0,
        "valid_box_rate": 100.0,
        "quadrant_acc": 100.0,
        **{f"quadrant_acc_{q}": 100.0 for q in ("tl", "tr", "bl", "br")},
    },
    "state": {"f1": 100.0, "tnr": 100.0, "fpr": 0.0, "invalid_rate": 0.0, "balanced_acc": 100.0, "mcc": 100.0, "group_acc": 100.0},
}


def _score(docs, answers, config: str) -> dict[str, float | None]:
    per_doc = [PROCESS[config](doc, [answer]) for doc, answer in zip(docs, answers)]
    assert all(set(entry) == set(METRICS[config]) for entry in per_doc)
    json.dumps(per_doc)  # lmms-eval logs these records per sample
    scores = {metric: fn([entry[metric] for entry in per_doc]) for metric, fn in AGGREGATIONS[config].items()}
    return {metric: value if value is None else pytest.approx(value) for metric, value in scores.items()}


@pytest.mark.parametrize("config", sorted(METRICS))
def test_reference_answers_score_perfectly(data_dir: Path, config: str) -> None:
    docs = list(_split(data_dir, config))
    expected = dict(PERFECT[config])
    if config == "object":  # the true answers land where the objects are: the quadrant shares of the split
        expected.update(
            {f"predicted_{q}": 100 * sum(d["quadrant"] == i for d in docs) / len(docs) for i, q in enumerate(("tl", "tr", "bl", "br"))}
        )
    if config == "state":  # every negative of a kind the build made is rejected; a listed kind it did not make is absent (None), not 0
        present = {doc["negative_kind"] for doc in docs if not doc["label"]}
        assert len(present) >= 2, "fixture must hold several negative kinds"
        assert len(present) < len(KIND_METRICS), "fixture must lack some listed kind"
        expected.update({metric: 100.0 if metric.removeprefix("tnr_") in present else None for metric in KIND_METRICS})
        expected.update(dict.fromkeys(PROBABILITY_METRICS))
    assert _score(docs, [doc["answer"] for doc in docs], config) == expected


def test_state_scores_follow_the_confusion_counts(data_dir: Path) -> None:
    docs = list(_split(data_dir, "state"))
    positives = sum(doc["label"] for doc in docs)
    negatives = len(docs) - positives
    assert positives and negatives, "fixture must hold both verdicts"
    answers = ["No." if doc["label"] else "Maybe." for doc in docs]  # every positive missed, negatives unreadable
    present = {doc["negative_kind"] for doc in docs if not doc["label"]}
    kinds = {metric: 0.0 if metric.removeprefix("tnr_") in present else None for metric in KIND_METRICS}
    assert _score(docs, answers, "state") == {
        "f1": 0.0,
        "tnr": 0.0,
        "fpr": 100.0,
        "invalid_rate": pytest.approx(100 * negatives / len(docs)),
        "balanced_acc": 0.0,
        "mcc": -100.0,
        "group_acc": 0.0,
        **kinds,
        **dict.fromkeys(PROBABILITY_METRICS),
    }


# --- runner checks ---------------------------------------------------------------------------


def test_check_results_lists_missing_tasks_and_non_numeric_metrics() -> None:
    expected = {"lego_arta_state": METRICS["state"], "other_task": None}
    complete = {"results": {"lego_arta_state": {f"{m},none": 1.0 for m in METRICS["state"]}, "other_task": {"acc,none": 0.5}}}
    assert check_results(complete, expected) == []
    broken = {"results": {"lego_arta_state": {"f1,none": 1.0, "tnr,none": "N/A", "fpr,none": float("nan")}}}
    problems = check_results(broken, expected)
    assert "task lego_arta_state: metric tnr is 'N/A', expected a number" in problems
    assert any("metric fpr" in p for p in problems) and any("invalid_rate" in p for p in problems)
    assert "task other_task: missing from results" in problems
    assert check_results({}, expected) == ["results JSON has no 'results' table"]
    # a declared metric that is null is absent (our aggregation said so), not missing; a dropped key is missing
    absent = {
        "results": {
            "lego_arta_state": {**complete["results"]["lego_arta_state"], "tnr_displaced,none": None, "auroc,none": None},
            "other_task": {"acc,none": 0.5},
        }
    }
    assert check_results(absent, expected) == []
    dropped = {
        "results": {
            "lego_arta_state": {k: v for k, v in complete["results"]["lego_arta_state"].items() if k != "auroc,none"},
            "other_task": {"acc,none": 0.5},
        }
    }
    assert check_results(dropped, expected) == ["task lego_arta_state: metric auroc is None, expected a number"]


def test_tags_expand_to_their_tasks() -> None:
    index = read_task_index(REPO_TASKS_DIR)
    expanded = index.expand("lego_arta, lego_arta_state_icl,mme")
    assert set(expanded) == {"lego_arta_scene", "lego_arta_object", "lego_arta_state", "lego_arta_state_icl", "mme"}
    assert expanded["mme"] is None and expanded["lego_arta_object"] == METRICS["object"]


def test_swallowed_generation_errors_are_found_in_the_log() -> None:
    log = "INFO fine\n2026 | ERROR | lmms_eval.models.chat.llava_hf:generate_until:104 - Error shape mismatch in generating\n"
    assert swallowed_errors(log) == [
        "2026 | ERROR | lmms_eval.models.chat.llava_hf:generate_until:104 - Error shape mismatch in generating"
    ]
    assert swallowed_errors("INFO all good\n") == []


def test_exception_lines_name_the_cause_once_in_order() -> None:
    log = "Traceback (most recent call last):\nValueError: bad row\n  raise\ntenacity.RetryError: RetryError[...]\nValueError: bad row\n"
    assert exception_lines(log) == ["ValueError: bad row", "tenacity.RetryError: RetryError[...]"]


# --- real lmms-eval CLI runs -----------------------------------------------------------------


def _results(path: Path) -> dict:
    return json.loads(path.read_text())["results"]


@pytest.mark.slow
def test_dummy_yes_model_gets_the_scores_the_label_counts_predict(data_dir: Path, tmp_path: Path) -> None:
    split = _split(data_dir, "state")
    labels = split["label"]
    positives, negatives = sum(labels), len(labels) - sum(labels)
    made = set(split["negative_kind"])
    path = run_lmms_eval(data=data_dir, model="dummy", model_args="response=Yes", tasks="lego_arta", output=tmp_path)
    results = _results(path)
    state = results["lego_arta_state"]
    assert state["f1,none"] == pytest.approx(100 * 2 * positives / (2 * positives + negatives))
    assert (state["tnr,none"], state["fpr,none"], state["invalid_rate,none"]) == (0.0, 100.0, 0.0)
    # what F1 alone hides: a constant is at chance and gets no state right
    assert (state["balanced_acc,none"], state["mcc,none"], state["group_acc,none"]) == (50.0, 0.0, 0.0)
    # a kind the build did not make, and AUROC without probabilities, are absent (null), never 0.00
    assert {m: state[f"{m},none"] for m in KIND_METRICS} == {m: 0.0 if m.removeprefix("tnr_") in made else None for m in KIND_METRICS}
    assert (state["auroc,none"], state["average_precision,none"]) == (None, None)
    assert json.loads(path.read_text())["configs"]["lego_arta_object"]["metadata"]["box_format"] == "auto"
    # "Yes" names no LEGO entity, holds no box and shares no word with any reference.
    assert {k: results["lego_arta_object"][f"{k},none"] for k in METRICS["object"]} == dict.fromkeys(METRICS["object"], 0.0)
    assert {k: results["lego_arta_scene"][f"{k},none"] for k in METRICS["scene"]} == dict.fromkeys(METRICS["scene"], 0.0)
    for task in ("lego_arta_scene", "lego_arta_object", "lego_arta_state"):
        samples = list(tmp_path.glob(f"*_samples_{task}.jsonl"))
        rows = len(_split(data_dir, task.split("_")[2]))
        assert len(samples) == 1 and len(samples[0].read_text().splitlines()) == rows
    assert (tmp_path / "lmms_eval.log").is_file()


@pytest.mark.slow
def test_tiny_llava_runs_every_task_through_llava_hf(data_dir: Path, tmp_path: Path) -> None:
    model = build_tiny_vlm(tmp_path / "tiny-llava", seed=0)
    tasks = "lego_arta,lego_arta_state_noctx_icl"
    path = run_lmms_eval(
        data=data_dir,
        model="llava_hf",
        model_args=f"pretrained={model},device=cpu,device_map=cpu",
        tasks=tasks,
        output=tmp_path / "eval",
        limit=2,
    )
    results = json.loads(path.read_text())
    assert results["n-samples"]["lego_arta_state_noctx_icl"]["effective"] == 2
    for task in ("lego_arta_scene", "lego_arta_object", "lego_arta_state", "lego_arta_state_noctx_icl"):
        config = task.split("_")[2]
        scores = {m: results["results"][task][f"{m},none"] for m in METRICS[config]}
        # llava_hf exposes no P(Yes): the threshold-free metrics are absent, and so is the TNR of a
        # negative kind this build does not make; every other metric is a number
        absent_ok = {m for m in scores if m in PROBABILITY_METRICS or m.startswith("tnr_")}
        assert all(isinstance(v, float) for m, v in scores.items() if m not in absent_ok), scores
        assert all(scores[m] is None for m in PROBABILITY_METRICS if m in scores), scores


@pytest.mark.slow
def test_a_broken_dataset_fails_loudly_through_the_cli(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(data_dir, broken)
    for parquet in (broken / "state").glob("*.parquet"):
        parquet.write_bytes(b"not parquet")
    args = command(
        "eval",
        *[
            "--data",
            str(broken),
            "--model",
            "dummy",
            "--model-args",
            "response=Yes",
            "--tasks",
            "lego_arta_state",
            "--out",
            str(tmp_path / "eval"),
        ],
    )
    assert args.run(args) == 1
    error = capsys.readouterr().err
    assert "lmms-eval exited with status" in error and "Traceback" in error
    assert "cause: pyarrow.lib.ArrowInvalid" in error, "the root cause behind tenacity's RetryError must be named"


def test_cli_arguments_become_one_checked_lmms_eval_call(tmp_path: Path) -> None:
    from lego_arta.harness.lmms_eval_runner import lmms_eval_command, lmms_eval_environment

    args = command("eval", *["--data", "d", "--model", "dummy", "--out", "o", "--limit", "2", "--", "--seed", "1,2,3,4"])
    assert (args.tasks, args.limit, args.online, args.extra) == ("lego_arta", 2, False, ["--", "--seed", "1,2,3,4"])
    call = lmms_eval_command(
        model="dummy", model_args="", tasks="lego_arta", include_path=tmp_path, output=tmp_path / "o", limit=2, extra=["--seed", "1"]
    )
    assert call[1:3] == ["-m", "lmms_eval"] and call[-2:] == ["--seed", "1"]
    for flag, value in (("--include_path", str(tmp_path)), ("--verbosity", "DEBUG"), ("--timezone", "UTC"), ("--limit", "2")):
        assert call[call.index(flag) + 1] == value
    assert "--log_samples" in call and "--model_args" not in call
    environment = lmms_eval_environment("/data", offline=True, base={})
    assert environment["LEGO_ARTA_DATA"] == "/data" and environment["HF_HUB_OFFLINE"] == "1"
    assert "HF_HUB_OFFLINE" not in lmms_eval_environment("/data", offline=False, base={})
