"""Imports follow the data path downward: no module of lego_arta imports a later layer.

The package is layered source → parse → annotate → dataset → evaluation/harness → finetune, with
the CLI on top and shared facts (atomic writes, checksums, the PNG encoding, boxes, the palette, answer parsing,
metrics, task specs, the study's numbers) at the bottom. An upward import makes an early step
depend on a later one (annotating a crawled manual on the synthetic generator, the harness on
fine-tuning), so this test reads every module's imports with ``ast`` (no module is imported, so
heavy optional dependencies do not matter) and lists each one that runs up the path. Imports
inside functions count (a lazy import is still a dependency); imports under ``if TYPE_CHECKING:``
do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "lego_arta"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: Layer of each top-level name under lego_arta (a subpackage or a module); a module may import
#: its own layer or lower ones. ``__init__`` is lego_arta itself (``from lego_arta import __version__``).
LAYER_RANK: dict[str, int] = {
    **dict.fromkeys(
        (
            "__init__",
            "atomic",
            "checksum",
            "png",
            "image",
            "boxes",
            "palette",
            "answers",
            "metrics",
            "tasks",
            "study",
            "executor",
            "errors",
            "inputs",
        ),
        0,
    ),
    "source": 1,
    "parse": 2,
    "annotate": 3,
    "dataset": 4,
    **dict.fromkeys(("evaluation", "harness", "models", "evaluate_modules", "qa", "probe"), 5),
    "finetune": 6,
    **dict.fromkeys(("cli", "__main__", "commands"), 7),
}
#: Imports that the ranks allow but the design does not: (importing layer, imported layer).
FORBIDDEN_SIDEWAYS: frozenset[tuple[str, str]] = frozenset({("harness", "finetune")})


def module_name(path: Path, root: Path = ROOT) -> str:
    """Dotted name of a file under the package (``lego_arta/dataset/__init__.py`` → ``lego_arta.dataset``)."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The top-level name under lego_arta a dotted module name belongs to; ``__init__`` for the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run, skipping the bodies of ``if TYPE_CHECKING:`` (their ``else`` runs)."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _is_module(dotted: str, root: Path) -> bool:
    path = root.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def package_imports(module: str, source: str, *, is_package: bool = False, root: Path = ROOT) -> list[tuple[str, int]]:
    """(imported lego_arta module, line) for every runtime import in ``source`` of ``module``.

    Relative imports are resolved against the module's package; ``from lego_arta import x`` counts
    as importing ``lego_arta.x`` when ``x`` is a submodule, else ``lego_arta`` itself.
    """
    package = module if is_package else module.rpartition(".")[0]
    imports: list[tuple[str, int]] = []
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            imports += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                imports.append((submodule if _is_module(submodule, root) else base, node.lineno))
    return [(name, line) for name, line in imports if name == PACKAGE or name.startswith(f"{PACKAGE}.")]


def upward_imports(module: str, source: str, *, is_package: bool = False, root: Path = ROOT) -> list[str]:
    """``module → import (line n)`` for each import of a later layer (or a forbidden sideways one)."""
    importer = layer_of(module)
    offending = []
    for imported, line in package_imports(module, source, is_package=is_package, root=root):
        target = layer_of(imported)
        if LAYER_RANK[target] > LAYER_RANK[importer] or (importer, target) in FORBIDDEN_SIDEWAYS:
            offending.append(f"{module} → {imported} (line {line})")
    return offending


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer() -> None:
    unranked = sorted({layer_of(module_name(path)) for path in _modules()} - set(LAYER_RANK))
    assert not unranked, f"give these a rank in LAYER_RANK (tests/test_layers.py): {unranked}"


def test_no_module_imports_a_later_layer() -> None:
    offending = [
        line
        for path in _modules()
        for line in upward_imports(module_name(path), path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
    ]
    path_order = "source → parse → annotate → dataset → evaluation/harness → finetune → cli"
    assert not offending, f"imports up the data path ({path_order}):\n" + "\n".join(offending)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "lego_arta.source.fake",
            "from lego_arta.annotate.colours import LEGO_COLOURS\n",
            ["lego_arta.source.fake → lego_arta.annotate.colours (line 1)"],
        ),
        ("lego_arta.annotate.fake", "import lego_arta.dataset.pairs\n", ["lego_arta.annotate.fake → lego_arta.dataset.pairs (line 1)"]),
        ("lego_arta.atomic", "from lego_arta import cli\n", ["lego_arta.atomic → lego_arta.cli (line 1)"]),
        (
            "lego_arta.parse.fake",
            "def f():\n    from ..dataset import pipeline\n",
            ["lego_arta.parse.fake → lego_arta.dataset.pipeline (line 2)"],
        ),
        (
            "lego_arta.harness.fake",
            "def merge():\n    from lego_arta.finetune.merge import model_args_with_adapter\n",
            ["lego_arta.harness.fake → lego_arta.finetune.merge (line 2)"],
        ),
    ],
)
def test_a_synthetic_upward_import_is_caught(module: str, source: str, expected: list[str]) -> None:
    assert upward_imports(module, source) == expected


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lego_arta.finetune.fake", "from lego_arta.dataset.layout import LLAVA_DIR\nfrom lego_arta.harness import task_docs\n"),
        ("lego_arta.evaluation.fake", "from lego_arta.harness.task_docs import DATA_ENV\nimport lego_arta.models.tiny_vlm\n"),
        ("lego_arta.answers", "from lego_arta.boxes import FrameBox\nfrom lego_arta import __version__\nimport numpy\n"),
        (
            "lego_arta.source.fake",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lego_arta.parse.manual import Row\nelse:\n    Row = object\n",
        ),
    ],
)
def test_downward_sideways_and_type_only_imports_pass(module: str, source: str) -> None:
    assert upward_imports(module, source) == []


def test_an_import_in_the_else_of_type_checking_still_counts() -> None:
    source = "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import lego_arta.cli\n"
    assert upward_imports("lego_arta.metrics.fake", source) == ["lego_arta.metrics.fake → lego_arta.cli (line 5)"]
