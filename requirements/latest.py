"""Run the suite against the newest releases setup.cfg allows, and name the package that breaks it.

CI installs the lock, so an upstream release that breaks lego-arta (filelock 4.3.1 did, for
lmms-eval 0.7.3) is invisible there until someone refreshes the lock. This is the deliberate way to
find it: ``make test-latest`` builds a throwaway venv from the declared ranges (torch and lmms-eval
pinned as the lock pins them: the CPU wheel, and lmms-eval without its tree), runs the suite, and on
failure bisects the packages whose version differs from the lock: it puts half of them back to their
locked versions, reruns only the failing tests, and repeats on the half that still breaks.

    python requirements/latest.py --python python3.11 --venv out/latest-venv --find-links /opt/wheels
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL_LOCK = ROOT / "requirements" / "full.txt"
LMMS_EVAL = ROOT / "requirements" / "lmms-eval.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def normalise(name: str) -> str:
    """PEP 503 name: ``normalise("Typing_Extensions") == "typing-extensions"``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``name → version`` of every ``name==version`` line of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def installed(python: Path) -> dict[str, str]:
    """``name → version`` of what the venv holds (the project itself left out)."""
    code = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    found = json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout)
    return {normalise(name): version for name, version in found.items() if normalise(name) != "lego-arta"}


class Venv:
    """A throwaway venv driven by uv (the one the project's lock pins, found beside this Python)."""

    def __init__(self, path: Path, python: str, find_links: str) -> None:
        self.path, self.find_links = path, find_links
        self.python = path / "bin" / "python"
        self.uv = Path(sys.executable).parent / "uv"
        if path.exists():
            shutil.rmtree(path)
        subprocess.run([str(self.uv), "venv", "-q", "--seed", "--python", python, str(path)], check=True)

    def install(self, *args: str) -> None:
        command = [str(self.uv), "pip", "install", "-q", "--python", str(self.python), "--find-links", self.find_links]
        subprocess.run(command + list(args), check=True, cwd=ROOT)

    def pytest(self, tests: list[str], junit: Path, extra: list[str]) -> int:
        env = dict(os.environ, LEGO_ARTA_UNLOCKED="1")
        command = [str(self.python), "-m", "pytest", "-n", "2", "-q", f"--junitxml={junit}", *extra, *tests]
        return subprocess.run(command, cwd=ROOT, env=env).returncode


def failed_tests(junit: Path) -> list[str]:
    """Node ids of the failed or errored test cases in a JUnit XML report."""
    ids = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            ids.append(f"{module}.py::{case.get('name')}")
    return sorted(set(ids))


def bisect(venv: Venv, drifted: dict[str, tuple[str, str]], tests: list[str], junit: Path) -> list[str]:
    """Drifted packages whose newest releases alone still fail ``tests``, the others at their locked versions.

    Halves the candidates while one half alone reproduces the failure; where neither half does, the
    breakage needs packages from both and the whole remaining set is returned.
    """

    def fails_with_latest(names: list[str]) -> bool:
        venv.install("--no-deps", *[f"{name}=={drifted[name][1 if name in names else 0]}" for name in drifted])
        return venv.pytest(tests, junit, []) != 0

    candidates = sorted(drifted)
    if fails_with_latest([]):
        return []
    while len(candidates) > 1:
        half, rest = candidates[: len(candidates) // 2], candidates[len(candidates) // 2 :]
        if fails_with_latest(half):
            candidates = half
        elif fails_with_latest(rest):
            candidates = rest
        else:
            break
    return candidates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="python3", help="interpreter for the throwaway venv")
    parser.add_argument("--venv", type=Path, default=ROOT / "out" / "latest-venv")
    parser.add_argument("--find-links", default="/opt/wheels", help="where the CPU torch wheel is")
    args, pytest_args = parser.parse_known_args(argv)

    lock = read_pins(FULL_LOCK)
    venv = Venv(args.venv, args.python, args.find_links)
    venv.install(f"torch=={lock['torch']}")
    venv.install("-e", ".[dev,eval,train]")
    venv.install("--no-deps", "-r", str(LMMS_EVAL))
    latest = installed(venv.python)
    drifted = {name: (lock[name], version) for name, version in latest.items() if name in lock and lock[name] != version}
    unlocked = sorted(set(latest) - set(lock))
    print(f"{len(drifted)} packages newer or older than the lock; not in the lock: {', '.join(unlocked) or 'none'}")
    for name, (locked, version) in sorted(drifted.items()):
        print(f"  {name:32} lock {locked:14} latest {version}")

    junit = args.venv / "junit.xml"
    if venv.pytest([], junit, pytest_args) == 0:
        print("test-latest: the suite passes on the newest releases; refresh the lock with `make lock UPGRADE=1`, then `make test`")
        return 0
    tests = failed_tests(junit)
    print(f"test-latest: {len(tests)} tests fail on the newest releases: bisecting {len(drifted)} drifted packages")
    culprits = bisect(venv, drifted, tests, junit)
    if not culprits:
        print("test-latest: the failures remain with every drifted package at its locked version: the cause is not a version change")
    together = " together with the others listed" if len(culprits) > 1 else ""
    for name in culprits:
        locked, version = drifted[name]
        print(f"test-latest: {name} {version}{together} breaks {len(tests)} tests that pass with the locked {locked}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
