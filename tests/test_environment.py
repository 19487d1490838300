"""The environment the tests run in is exactly the lock: every installed distribution pinned, at its pin.

`make test` syncs .venv to requirements/full.txt, so a failure here means the venv drifted (a
package added or upgraded by hand, or a stale venv after the lock changed: `rm -r .venv`). The
unpinned run, `make test-latest`, sets ``LEGO_ARTA_UNLOCKED=1`` and skips this on purpose.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, str]:
    return {_name(m.group(1)): m.group(2) for line in text.splitlines() if (m := PIN.match(line.strip()))}


def _drift(pins: dict[str, str], found: dict[str, str]) -> list[str]:
    problems = [f"{name} {version} is installed but not in the lock" for name, version in found.items() if name not in pins]
    problems += [
        f"{name} is locked at {pins[name]} but installed at {found[name]}" for name in found if name in pins and pins[name] != found[name]
    ]
    problems += [f"{name}=={version} is locked but not installed" for name, version in pins.items() if name not in found]
    return sorted(problems)


def test_the_drift_check_names_each_kind_of_drift() -> None:
    pins = _pins("# header\nfilelock==4.2.12\n    # via datasets\ntorch==2.13.0+cpu\nnumpy==2.4.6\n")
    found = {"filelock": "4.3.1", "torch": "2.13.0+cpu", "rich": "15.0.0"}
    assert _drift(pins, found) == [
        "filelock is locked at 4.2.12 but installed at 4.3.1",
        "numpy==2.4.6 is locked but not installed",
        "rich 15.0.0 is installed but not in the lock",
    ]


@pytest.mark.skipif(os.environ.get("LEGO_ARTA_UNLOCKED") == "1", reason="make test-latest runs on unpinned ranges")
def test_installed_environment_is_exactly_the_full_lock() -> None:
    pins = _pins((ROOT / "requirements" / "full.txt").read_text())
    project = _name(importlib.metadata.metadata("lego-arta")["Name"])
    found = {_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    found.pop(project)
    assert _drift(pins, found) == [], "the venv differs from requirements/full.txt; rebuild it with `rm -r .venv && make test`"


def test_core_lock_is_the_full_lock_restricted_to_core() -> None:
    core = _pins((ROOT / "requirements" / "core.txt").read_text())
    full = _pins((ROOT / "requirements" / "full.txt").read_text())
    assert core and {name: full.get(name) for name in core} == core


def test_declared_eval_extra_excludes_the_filelock_that_breaks_lmms_eval() -> None:
    from packaging.requirements import Requirement

    requirements = [Requirement(r) for r in importlib.metadata.requires("lego-arta") or []]
    filelock = [r for r in requirements if _name(r.name) == "filelock" and r.marker and r.marker.evaluate({"extra": "eval"})]
    assert filelock and "4.2.12" in filelock[0].specifier and "4.3.1" not in filelock[0].specifier


@pytest.mark.parametrize(
    ("version", "code", "says"), [((3, 9, 18), 1, "needs Python >= 3.10"), ((3, 12, 1), 0, "locked for Python 3.11"), ((3, 11, 7), 0, "")]
)
def test_an_unsupported_python_is_refused_before_installing(version: tuple[int, int, int], code: int, says: str) -> None:
    probe = f"import runpy, sys; sys.version_info = {version!r}; runpy.run_path({str(ROOT / 'requirements' / 'check_python.py')!r})"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == code and says in result.stderr
    assert bool(result.stderr) == bool(says)
