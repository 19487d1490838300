"""``make test-latest`` names the package whose new release breaks the suite (requirements/latest.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _latest():
    spec = importlib.util.spec_from_file_location("latest", ROOT / "requirements" / "latest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Venv:
    """Stands in for the throwaway venv: installs set versions, the tests fail while ``breaking`` are all at their new release."""

    def __init__(self, drifted: dict[str, tuple[str, str]], breaking: set[str]) -> None:
        self.versions = {name: new for name, (_, new) in drifted.items()}
        self.drifted, self.breaking, self.runs = drifted, breaking, 0

    def install(self, *args: str) -> None:
        for pin in args[1:]:
            name, version = pin.split("==")
            self.versions[name] = version

    def pytest(self, tests, junit, extra) -> int:
        self.runs += 1
        return int(all(self.versions[name] == self.drifted[name][1] for name in self.breaking))


DRIFTED = {f"pkg{i:02d}": ("1.0", "2.0") for i in range(13)}


@pytest.mark.parametrize("culprit", ["pkg00", "pkg06", "pkg12"])
def test_bisection_names_the_one_breaking_release(culprit: str) -> None:
    venv = _Venv(DRIFTED, {culprit})
    assert _latest().bisect(venv, DRIFTED, ["t"], Path("j")) == [culprit]
    assert venv.runs <= 2 * 4 + 1, "halving, not one run per package"


def test_a_breakage_needing_two_releases_is_named_as_the_set_that_holds_both() -> None:
    found = _latest().bisect(_Venv(DRIFTED, {"pkg01", "pkg11"}), DRIFTED, ["t"], Path("j"))
    assert {"pkg01", "pkg11"} <= set(found)


def test_a_failure_that_stays_at_the_locked_versions_blames_no_package() -> None:
    class Broken(_Venv):
        def pytest(self, tests, junit, extra) -> int:
            return 1

    assert _latest().bisect(Broken(DRIFTED, set()), DRIFTED, ["t"], Path("j")) == []


def test_pins_are_read_by_normalised_name(tmp_path: Path) -> None:
    lock = tmp_path / "full.txt"
    lock.write_text("# header\nTyping_Extensions==4.16.0\n    # via x\ntorch==2.13.0+cpu ; sys_platform == 'linux'\n")
    assert _latest().read_pins(lock) == {"typing-extensions": "4.16.0", "torch": "2.13.0+cpu"}
