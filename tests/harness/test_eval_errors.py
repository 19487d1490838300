"""`lego-arta eval` says what to do: configs a build lacks, tasks a group leaves out, offline Hub ids, runs that select nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lego_arta.harness.lmms_eval_runner import (
    EvalSetupError,
    absolute_model_path,
    check_model_offline,
    plan_tasks,
    read_task_index,
    run_lmms_eval,
)
from lego_arta.harness.task_files import write_task_dir


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    return read_task_index(write_task_dir(tmp_path_factory.mktemp("tasks") / "lego_arta"))


@pytest.mark.parametrize(
    "task, config", [("lego_arta_order", "order"), ("lego_arta_state_syn", "state_syn"), ("lego_arta_object_syn_icl", "object_syn")]
)
def test_a_task_whose_config_the_build_lacks_is_one_line_naming_configs_and_the_recipe_field(
    index, built_dataset: Path, task: str, config: str
) -> None:
    with pytest.raises(EvalSetupError) as error:
        plan_tasks(f"lego_arta_scene,{task}", index, built_dataset)
    message = str(error.value)
    assert "\n" not in message
    assert f"task {task} needs config {config!r}" in message and "(it has: object, scene, state)" in message
    assert f"add {config} to the recipe's `configs:` list and rebuild" in message


def test_a_tag_runs_the_tasks_the_build_has_and_names_the_others(index, built_dataset: Path) -> None:
    plan = plan_tasks("lego_arta,lego_arta_temporal", index, built_dataset)
    assert list(plan.expected) == ["lego_arta_object", "lego_arta_scene", "lego_arta_state"]
    assert plan.tasks == "lego_arta_object,lego_arta_scene,lego_arta_state" and plan.left_out == {"lego_arta_order": "order"}
    whole = plan_tasks("lego_arta", index, built_dataset)
    assert (whole.tasks, whole.left_out) == ("lego_arta", {}), "nothing left out: the tag goes to lmms-eval as asked"
    with pytest.raises(
        EvalSetupError, match=r"--tasks lego_arta_syn: every task needs a config .* lacks \(object_syn, scene_syn, state_syn"
    ):
        plan_tasks("lego_arta_syn", index, built_dataset)


def test_a_hub_dataset_is_not_inspected(index) -> None:
    plan = plan_tasks("lego_arta_order", index, "lego-arta/lego-arta")
    assert plan.tasks == "lego_arta_order" and plan.left_out == {}


def test_an_uncached_hub_model_offline_names_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    with pytest.raises(EvalSetupError) as error:
        check_model_offline("pretrained=llava-hf/llava-1.5-7b-hf,device_map=auto", offline=True)
    assert str(error.value) == "offline: pass --online to download llava-hf/llava-1.5-7b-hf"
    check_model_offline("pretrained=llava-hf/llava-1.5-7b-hf", offline=False)
    check_model_offline(f"pretrained={tmp_path}", offline=True)
    check_model_offline("response=Yes", offline=True)
    snapshot = hub / "models--org--cached" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (hub / "models--org--cached" / "refs").mkdir()
    (hub / "models--org--cached" / "refs" / "main").write_text("abc123")
    check_model_offline("pretrained=org/cached", offline=True)


def test_the_offline_error_is_what_lego_arta_eval_prints(built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lego_arta.cli import main

    code = main(
        [
            "eval",
            "--data",
            str(built_dataset),
            "--model",
            "llava_hf",
            "--model-args",
            "pretrained=nobody/not-cached",
            "--out",
            str(tmp_path / "eval"),
        ]
    )
    assert code == 1
    assert capsys.readouterr().err.strip() == "error: offline: pass --online to download nobody/not-cached"
    assert not (tmp_path / "eval").exists(), "nothing ran"


def test_a_relative_model_folder_is_made_absolute_and_a_hub_id_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lmms-eval runs in a scratch folder: ``pretrained=out/tiny`` (README) must reach it as an absolute path."""
    (tmp_path / "out" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert (
        absolute_model_path("device=cpu,pretrained=out/tiny,device_map=cpu")
        == f"device=cpu,pretrained={tmp_path / 'out' / 'tiny'},device_map=cpu"
    )
    assert absolute_model_path("pretrained=org/model,device=cpu") == "pretrained=org/model,device=cpu"
    assert absolute_model_path("response=out/tiny") == "response=out/tiny", "only pretrained= names the weights"


@pytest.mark.slow
def test_lego_arta_eval_runs_a_tiny_model_named_by_a_relative_folder(
    built_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's no-GPU run: ``--model-args pretrained=out/tiny`` from the folder holding ``out/``."""
    from lego_arta.cli import main
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    build_tiny_vlm(tmp_path / "out" / "tiny", seed=0)
    monkeypatch.chdir(tmp_path)
    argv = ["eval", "--data", str(built_dataset), "--model", "llava_hf", "--tasks", "lego_arta_state", "--limit", "1"]
    code = main([*argv, "--model-args", "pretrained=out/tiny,device=cpu,device_map=cpu", "--out", "out/eval-tiny"])
    assert code == 0, (tmp_path / "out" / "eval-tiny" / "lmms_eval.log").read_text()[-3000:]
    assert list((tmp_path / "out" / "eval-tiny").rglob("*_results.json"))


@pytest.mark.slow
def test_a_run_that_selects_no_task_is_an_error(built_dataset: Path, tmp_path: Path) -> None:
    """lmms-eval reads ``--tasks X`` as a folder when X is one; an empty one selects nothing, and lmms-eval exits 0."""
    empty = tmp_path / "no-yaml-here"
    empty.mkdir()
    from lego_arta.harness.lmms_eval_runner import LmmsEvalError

    with pytest.raises(LmmsEvalError, match="lmms-eval selected no task for --tasks"):
        run_lmms_eval(data=built_dataset, model="dummy", model_args="response=Yes", tasks=str(empty), output=tmp_path / "eval")


@pytest.fixture(scope="module")
def stateless_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real-manual-shaped build: crawled layout (page and images only), no highlights, so no ``state``."""
    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.recipe import load_recipe
    from lego_arta.source.layout import TRUTH_FILE
    from lego_arta.source.synth.generator import LABELS_DIR, SYNTH_RECORD, SynthConfig, synthesize
    from tests.conftest import TEST_HEIGHT, TEST_WIDTH
    from tests.dataset.test_bad_inputs import UNHIGHLIGHTED_SEED

    work = tmp_path_factory.mktemp("stateless")
    raw = work / "raw-crawled"
    synthesize(raw, SynthConfig(manuals=2, seed=UNHIGHLIGHTED_SEED, width=TEST_WIDTH, height=TEST_HEIGHT), workers=1, progress=False)
    (raw / SYNTH_RECORD).unlink()
    for manual in sorted(p for p in raw.iterdir() if p.is_dir()):
        (manual / TRUTH_FILE).unlink()
        shutil.rmtree(manual / LABELS_DIR)
    build(load_recipe("crawled"), work / "built", raw=raw, progress=False)
    assert "state" in json.loads((work / "built" / "manifest.json").read_text())["absent_configs"]
    return work / "built"


@pytest.mark.slow
def test_the_default_group_runs_on_a_build_without_state_and_names_it(
    stateless_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from lego_arta.cli import main

    code = main(
        [
            "eval",
            "--data",
            str(stateless_build),
            "--model",
            "dummy",
            "--model-args",
            "response=Yes",
            "--limit",
            "2",
            "--out",
            str(tmp_path / "eval"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "left out lego_arta_state: the build has no 'state' config" in captured.err
    assert "lego_arta_scene" in captured.out and "lego_arta_object" in captured.out and "lego_arta_state" not in captured.out
    code = main(["eval", "--data", str(stateless_build), "--model", "dummy", "--tasks", "lego_arta_state", "--out", str(tmp_path / "e2")])
    error = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in error
    assert error.startswith("error: task lego_arta_state needs config 'state'") and "(it has: object, scene)" in error
    assert "the build left state out (no rows in its train, test split; manifest.json absent_configs)" in error
