"""``lego-arta``: the command-line entry point. It only lists the verbs; each lives in ``lego_arta/commands/<verb>.py``.

Building the parser imports only the chosen verb's arguments (``lego-arta --help`` and ``lego-arta
score …`` do not import torch or lmms-eval); :func:`build_parser` with no verb builds them all, as
the docs test does to parse every documented command line.

>>> args = parse_args(["score", "--task", "state", "--predictions", "p.jsonl", "--data", "out/built"])
>>> args.command, args.split
('score', 'test')
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from lego_arta.commands import COMMANDS, GROUPS
from lego_arta.commands.options import canonical_argv

DESCRIPTION = "LEGO-ARTA: build the benchmark from step-by-step LEGO manuals, then evaluate, probe and fine-tune VLMs on it."


def command_module(verb: str) -> ModuleType:
    """The module of ``verb`` (``HELP``, ``GROUP``, ``add_arguments``, ``run``)."""
    return importlib.import_module(COMMANDS[verb])


def _verb_list() -> str:
    """The verbs grouped along the data path, for ``lego-arta --help``."""
    modules = {verb: command_module(verb) for verb in COMMANDS}
    width = max(map(len, COMMANDS)) + 2
    lines: list[str] = []
    for group, heading in GROUPS:
        verbs = [verb for verb, module in modules.items() if module.GROUP == group]
        if verbs:
            lines += ["", f"{heading}:", *(f"  {verb:<{width}}{modules[verb].HELP}" for verb in verbs)]
    return "\n".join(lines[1:])


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The ``lego-arta`` parser with every verb listed; arguments of ``verb`` only (all verbs when ``None``, none for ``""``)."""
    parser = argparse.ArgumentParser(
        prog="lego-arta", description=DESCRIPTION, epilog=_verb_list(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands (see below)")
    for name in COMMANDS:
        module = command_module(name)
        p = sub.add_parser(name, description=module.HELP)  # listed in the grouped epilog, not in argparse's own list
        if verb is None or verb == name:
            module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def _verb_of(argv: Sequence[str]) -> str | None:
    """The verb ``argv`` names: its first word that is one (options before it are global)."""
    for token in argv:
        if token == "--":
            return None
        if token in COMMANDS:
            return token
    return None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a ``lego-arta`` command line (without the program name); old flag spellings are accepted."""
    argv = canonical_argv(argv)
    return build_parser(_verb_of(argv) or "").parse_args(argv)  # no verb (``--help``, a typo): no verb's arguments either


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from lego_arta.errors import guard

    return guard(lambda: args.run(args))  # expected failures: one line on stderr, exit 2; a bug keeps its traceback


if __name__ == "__main__":
    sys.exit(main())
