"""Every test folder is collected: pytest silently skips folders matching ``norecursedirs``."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


def test_no_test_folder_matches_norecursedirs(pytestconfig: pytest.Config) -> None:
    patterns = pytestconfig.getini("norecursedirs")
    folders = [path for path in TESTS.rglob("*") if path.is_dir() and any(path.glob("test_*.py"))]
    skipped = [str(path.relative_to(TESTS)) for path in folders for pattern in patterns if fnmatch(path.name, pattern)]
    assert folders and not skipped, f"test folders pytest would not collect: {skipped}"
