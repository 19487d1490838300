"""The wheel carries what it runs: built, installed into a fresh venv outside the checkout, and used from a temporary folder.

The venv is the locked environment (``requirements/full.txt``, installed by uv from its cache,
hard-linked: about 50 s on the 2-core CI machine) plus the wheel, with ``--no-deps``. Nothing
of the checkout is on ``sys.path``: the test asserts that ``lego_arta`` is imported from the
venv. From a temporary folder it runs ``quickstart``, ``build`` of a packaged recipe, ``eval``
with lmms-eval's ``dummy`` model, raw ``python -m lmms_eval`` on the folder ``tasks-path``
prints, ``score`` on the samples that wrote, and ``evaluate.load`` of the packaged modules.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the wheel is built from: the package and the files setup.cfg reads.
SOURCES = ("lego_arta", "setup.cfg", "pyproject.toml", "README.md")
#: Where the CPU torch wheels come from, as in the Makefile (TORCH_WHEELS).
TORCH_WHEELS = "/opt/wheels" if Path("/opt/wheels").is_dir() else "https://download.pytorch.org/whl/cpu/torch/"
#: Four manuals of the quick start (seed 0) give every config rows in both splits; two leave state without any.
MANUALS = "4"


def _run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout


def _uv() -> str:
    found = Path(sys.executable).parent / "uv"
    return str(found) if found.is_file() else (shutil.which("uv") or pytest.skip("uv is not installed"))


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv, wheel): the locked environment plus the wheel, built from a copy of the sources."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist"), str(source)],
        cwd=work,
        env=env,
    )
    (wheel,) = (work / "dist").glob("lego_arta-*.whl")
    venv = work / "venv"
    _run([_uv(), "venv", "-q", "--python", sys.executable, str(venv)], cwd=work, env=env)
    python = str(venv / "bin" / "python")
    _run(
        [
            _uv(),
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--python",
            python,
            "--find-links",
            TORCH_WHEELS,
            "-r",
            str(ROOT / "requirements" / "full.txt"),
        ],
        cwd=work,
        env=env,
    )
    _run([_uv(), "pip", "install", "-q", "--no-deps", "--python", python, str(wheel)], cwd=work, env=env)
    return venv, wheel


def test_the_wheel_ships_recipes_evaluate_modules_and_no_checkout_paths(venv: tuple[Path, Path]) -> None:
    names = set(zipfile.ZipFile(venv[1]).namelist())
    for recipe in ("quickstart", "study", "crawled", "probe"):
        assert f"lego_arta/recipes/{recipe}.yaml" in names
    for module in ("scene", "object", "state", "task"):
        assert f"lego_arta/evaluate_modules/lego_arta_{module}/lego_arta_{module}.py" in names
    assert "lego_arta/harness/task_files.py" in names and "lego_arta/tasks/prompts.yaml" in names
    assert not any(name.startswith(("eval_tasks/", "builders/", "tests/")) for name in names)


@pytest.mark.slow
def test_an_installed_wheel_runs_the_evaluation_path_from_any_folder(venv: tuple[Path, Path], tmp_path: Path) -> None:
    bin_dir = venv[0] / "bin"
    env = {
        key: value
        for key, value in os.environ.items()
        # PYTHONDONTWRITEBYTECODE: the fresh venv holds no bytecode (compiling all of it at install costs more than
        # the test), so each process would compile every module it imports again; the first one writes it instead.
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "LEGO_ARTA_TASKS", "LEGO_ARTA_TASK_MODULES", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HF_HOME=str(tmp_path / "hf"),
        LEGO_ARTA_CACHE=str(tmp_path / "cache"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_EVALUATE_OFFLINE="1",
    )
    python, cli = str(bin_dir / "python"), str(bin_dir / "lego-arta")
    work = tmp_path / "anywhere"
    work.mkdir()
    where = _run([python, "-c", "import lego_arta; print(lego_arta.__file__)"], cwd=work, env=env).strip()
    assert Path(where).is_relative_to(venv[0]), f"lego_arta imported from {where}, not from the installed wheel"

    _run([cli, "quickstart", "--manuals", MANUALS, "--out", "qs"], cwd=work, env=env)
    assert (work / "qs" / "lego-arta" / "manifest.json").is_file()
    _run([cli, "build", "quickstart", "--manuals", MANUALS, "--out", "qs/built"], cwd=work, env=env)
    built = work / "qs" / "built"
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "quickstart" and manifest["benchmark_version"]

    _run(
        [cli, "eval", "--data", str(built), "--model", "dummy", "--model-args", "response=Yes", "--limit", "4", "--out", "eval"],
        cwd=work,
        env=env,
    )
    (samples,) = (work / "eval").rglob("*_samples_lego_arta_state.jsonl")

    tasks = _run([cli, "tasks-path"], cwd=work, env=env).strip()
    assert Path(tasks).is_relative_to(tmp_path / "cache") and (Path(tasks) / "lego_arta_state.yaml").is_file()
    _run(
        [
            python,
            "-m",
            "lmms_eval",
            "--model",
            "dummy",
            "--model_args",
            "response=Yes",
            "--tasks",
            "lego_arta",
            "--include_path",
            tasks,
            "--output_path",
            "raw",
            "--log_samples",
            "--limit",
            "4",
        ],
        cwd=work,
        env={**env, "LEGO_ARTA_DATA": str(built)},
    )
    (raw_results,) = (work / "raw").rglob("*_results.json")
    assert {"lego_arta_scene", "lego_arta_object", "lego_arta_state"} <= set(json.loads(raw_results.read_text())["results"])

    _run(
        [cli, "score", "--task", "state", "--predictions", str(samples), "--data", str(built), "--out", "scores", "--resamples", "50"],
        cwd=work,
        env=env,
    )
    assert list((work / "scores").rglob("*.json"))

    loaded = _run(
        [
            python,
            "-c",
            "import evaluate, json\n"
            "from lego_arta.metrics import evaluate_module_for\n"
            "path, config = evaluate_module_for('state')\n"
            "state = evaluate.load(path, config).compute(predictions=['Yes.', 'No.'], references=[True, False])\n"
            "path, config = evaluate_module_for('order')\n"
            "order = evaluate.load(path, config).compute(predictions=['Attached.'], references=['Removed.'], columns={'label': [False]})\n"
            "print(json.dumps([state['f1'], order['order_accuracy'], path]))",
        ],
        cwd=work,
        env=env,
    )
    f1, accuracy, path = json.loads(loaded.strip().splitlines()[-1])
    assert (f1, accuracy) == (100.0, 0.0) and Path(path).is_relative_to(venv[0])
