"""The committed lmms-eval task folder is exactly what _generate_configs.py writes from the task specs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[2] / "eval_tasks" / "lego_arta"


def _generator():
    spec = importlib.util.spec_from_file_location("_generate_configs", FOLDER / "_generate_configs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_task_yamls_match_the_task_specs() -> None:
    assert _generator().drift(FOLDER) == [], "run: python eval_tasks/lego_arta/_generate_configs.py"


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

    files = _generator().render()
    for name, spec in TASKS.items():
        for setting in task_docs.QUERY_SETTINGS:
            assert f"lego_arta_{name}{setting.suffix}.yaml" in files
        assert callable(getattr(task_docs, f"process_{name}_results"))
        assert all(callable(getattr(task_docs, f"aggregate_{metric}")) for metric in spec.metrics)
