"""The benchmark version moves with the task definitions, and every build records it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from lego_arta.dataset import benchmark

ROOT = Path(__file__).resolve().parents[2]
#: The definition digest of BENCHMARK_VERSION. When a prompt, an answer format, a negative kind or the
#: split rule changes, this test fails: raise BENCHMARK_VERSION (semver), add a CHANGELOG.md entry, then
#: update both pins here.
PINNED = ("2.0.0", "635a62fc5ece5d58f35c74028c1cc6f3b19be33381dcc300f8768f378dcbe532")


def test_the_definition_digest_is_pinned_to_the_version() -> None:
    assert (benchmark.BENCHMARK_VERSION, benchmark.definition_digest()) == PINNED, (
        "the task definitions changed: raise BENCHMARK_VERSION, record it in CHANGELOG.md, update PINNED"
    )


def test_the_digest_is_the_same_in_another_process() -> None:
    """No set order or object address leaks into it (hash randomisation differs per process)."""
    code = "from lego_arta.dataset.benchmark import definition_digest; print(definition_digest())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"}).stdout
    assert other.strip() == benchmark.definition_digest()


def test_a_changed_prompt_changes_the_digest(monkeypatch) -> None:
    before = benchmark.definition_digest()
    monkeypatch.setattr(benchmark, "NEGATIVE_KINDS", (*benchmark.NEGATIVE_KINDS, "new_kind"))
    assert benchmark.definition_digest() != before


def test_the_changelog_records_every_version_up_to_the_current_one() -> None:
    versions = re.findall(r"^## (\d+\.\d+\.\d+)$", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert versions and versions[0] == benchmark.BENCHMARK_VERSION, "the newest CHANGELOG.md entry is the current version"


def test_a_build_records_benchmark_and_toolkit_versions_and_the_recipe_digest(built_dataset: Path, built_recipe) -> None:
    from lego_arta import __version__

    manifest = json.loads((built_dataset / "manifest.json").read_text())
    assert manifest["benchmark_version"] == benchmark.BENCHMARK_VERSION and manifest["lego_arta_version"] == __version__
    assert manifest["recipe_digest"] == benchmark.recipe_digest(manifest["recipe"]) == benchmark.recipe_digest(built_recipe.to_dict())
    card = (built_dataset / "README.md").read_text()
    assert f"benchmark version {benchmark.BENCHMARK_VERSION}" in card and f"`{manifest['recipe_digest']}`" in card
    assert benchmark.data_benchmark_version(built_dataset) == benchmark.BENCHMARK_VERSION
    assert benchmark.data_benchmark_version(built_dataset / "nowhere") == benchmark.UNKNOWN
