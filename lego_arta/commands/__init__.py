"""One module per ``lego-arta`` verb, as ``datasets-cli`` keeps its commands.

Each module is an adapter: it declares its verb's ``HELP``, its ``GROUP`` on the data path, its
arguments (``add_arguments``) and its ``run(args) -> int``, and calls the package for the work. Its
module-level imports stay light (argparse, pathlib, rich), so ``lego-arta --help`` does not import
torch, lmms-eval or datasets; the domain modules are imported inside ``add_arguments`` and ``run``.

:data:`COMMANDS` is the only list of verbs; ``lego_arta.cli`` builds the parser from it.

>>> COMMANDS["build"]
'lego_arta.commands.build'
>>> [group for group, _ in GROUPS][:3]
['start', 'source', 'parse']
"""

from __future__ import annotations

#: The groups ``lego-arta --help`` lists verbs under, in data-path order, with their headings.
GROUPS: tuple[tuple[str, str], ...] = (
    ("start", "start here"),
    ("source", "raw manuals"),
    ("parse", "parse"),
    ("dataset", "build, check and publish the dataset"),
    ("evaluate", "evaluate models"),
    ("finetune", "fine-tune"),
    ("tools", "tools"),
)

#: Every verb and the module that holds it, in the order ``--help`` lists them within a group.
COMMANDS: dict[str, str] = {
    verb: f"lego_arta.commands.{verb.replace('-', '_')}"
    for verb in (
        "quickstart",
        "synth",
        "crawl",
        "parse",
        "build",
        "export",
        "push",
        "qa",
        "eval",
        "converse",
        "tasks-path",
        "score",
        "compare",
        "robustness",
        "baselines",
        "report",
        "probe",
        "finetune",
        "merge",
        "synonym-map",
        "tiny-model",
    )
}
