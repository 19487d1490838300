"""The task files are rendered from the task specs wherever the package runs; the committed export equals them."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from lego_arta.harness import task_files

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "eval_tasks" / "lego_arta"


def _generator():
    spec = importlib.util.spec_from_file_location("_generate_configs", FOLDER / "_generate_configs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_task_yamls_match_the_task_specs() -> None:
    assert _generator().drift(FOLDER) == [], "run: python eval_tasks/lego_arta/_generate_configs.py"


def test_the_root_group_file_lists_the_main_tasks_as_rendered() -> None:
    assert task_files.ROOT_GROUP_FILE == ROOT / "lego_arta" / "lego_arta.yaml"
    assert task_files.ROOT_GROUP_FILE.read_text(encoding="utf-8") == task_files.root_group_file()
    assert "task: [lego_arta_scene, lego_arta_object, lego_arta_state]\n" in task_files.root_group_file()


def test_drift_names_an_edited_and_a_stale_file(tmp_path: Path) -> None:
    generator = _generator()
    assert generator.main(["--out", str(tmp_path)]) == 0
    assert generator.drift(tmp_path) == []
    (tmp_path / "lego_arta_state.yaml").write_text("edited\n")
    (tmp_path / "lego_arta_gone.yaml").write_text(generator.HEADER + "task: lego_arta_gone\n")
    assert generator.drift(tmp_path) == ["lego_arta_gone.yaml", "lego_arta_state.yaml"]
    assert generator.main(["--out", str(tmp_path), "--check"]) == 1


def test_every_registered_task_has_its_query_settings_and_hooks() -> None:
    from lego_arta.harness import task_docs
    from lego_arta.tasks import TASKS

    files = task_files.render()
    for name, spec in TASKS.items():
        for setting in task_docs.QUERY_SETTINGS:
            assert f"lego_arta_{name}{setting.suffix}.yaml" in files
        assert callable(getattr(task_docs, f"process_{name}_results"))
        assert all(callable(getattr(task_docs, f"aggregate_{metric}")) for metric in spec.metrics)


def test_tasks_path_is_one_folder_per_task_set_written_whole(tmp_path: Path) -> None:
    first = task_files.tasks_path(tmp_path)
    assert first.name == "lego_arta" and first.parent.name == task_files.digest(task_files.render())
    assert task_files.drift(first) == []
    (first / "utils.py").write_text("damaged\n")
    assert task_files.tasks_path(tmp_path) == first and task_files.drift(first) == [], "a damaged folder is rendered again"
    assert sorted(p.name for p in first.parent.iterdir()) == ["lego_arta"], "no staging folder is left behind"


def test_a_plugin_task_is_rendered_without_a_generation_step(tmp_path: Path) -> None:
    """``LEGO_ARTA_TASK_MODULES`` alone puts a task into the printed folder (a fresh process reads the variable)."""
    env = {
        **os.environ,
        "LEGO_ARTA_TASK_MODULES": "tests.tasks.extra_task_module",
        "PYTHONPATH": str(ROOT),
        "LEGO_ARTA_CACHE": str(tmp_path),
    }
    printed = subprocess.run(
        [sys.executable, "-m", "lego_arta", "tasks-path"], env=env, capture_output=True, text=True, check=True, cwd=tmp_path
    )
    folder = Path(printed.stdout.strip())
    assert folder.is_relative_to(tmp_path) and (folder / "lego_arta_last_step_noctx_icl.yaml").is_file()
    assert folder != task_files.tasks_path(tmp_path), "another task set gets another folder"
