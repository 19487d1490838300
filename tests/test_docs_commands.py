"""Every ``lego-arta …`` command line in README.md and docs/*.md parses with the real argument parser.

Docs drift from code one renamed flag at a time; this test reads the command lines out of the
Markdown and hands them to :func:`lego_arta.cli.parse_args`. A command in a fenced block must parse
whole (its required arguments included); one quoted inline may be a fragment, so there every
``--flag`` must be one the verb knows.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from lego_arta.cli import build_parser, parse_args
from lego_arta.commands import COMMANDS
from lego_arta.commands.options import canonical_argv

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
#: Where a command starts: the console script, or ``-m lego_arta`` (under ``python`` or ``accelerate launch``).
START = re.compile(r"(?:(?<![\w/.-])lego-arta|-m lego_arta)\s+(?=[a-z])")
#: Where a shell command ends before the line does.
END = re.compile(r"\s(?:#|&&|\|\|?|;)|[)`]")
FENCE = re.compile(r"^\s*```")


@dataclass(frozen=True)
class DocCommand:
    """One command line found in a doc: where, its words after ``lego-arta``, and whether it must parse whole."""

    where: str
    argv: tuple[str, ...]
    whole: bool

    def __str__(self) -> str:
        return f"{self.where}: lego-arta {' '.join(self.argv)}"


def _words(text: str) -> tuple[str, ...]:
    cut = END.search(text)
    return tuple(shlex.split(text[: cut.start()] if cut else text))


def doc_commands(path: Path) -> list[DocCommand]:
    """The ``lego-arta`` commands of a Markdown file: fenced lines joined over ``\\`` continuations, and inline code."""
    found: list[DocCommand] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    in_block, number = False, 0
    while number < len(lines):
        line, start_number = lines[number], number + 1
        if FENCE.match(line):
            in_block = not in_block
            number += 1
            continue
        if in_block:
            while line.rstrip().endswith("\\") and number + 1 < len(lines):
                number += 1
                line = line.rstrip()[:-1] + " " + lines[number].strip()
            for match in START.finditer(line):
                found.append(DocCommand(f"{path.name}:{start_number}", _words(line[match.end() :]), whole=True))
        else:
            for code in re.findall(r"`([^`]+)`", line):
                for match in START.finditer(code):
                    found.append(DocCommand(f"{path.name}:{start_number}", _words(code[match.end() :]), whole=False))
        number += 1
    return found


ALL = [command for path in DOCS for command in doc_commands(path)]


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a parser and of its sub-commands (``qa make``, ``qa score``, …)."""
    found = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def _verb_parser(verb: str) -> argparse.ArgumentParser:
    parser = build_parser(verb)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[verb]


def unknown_flags(argv: tuple[str, ...]) -> list[str]:
    """Long flags in ``argv`` (before a bare ``--``) that its verb does not define."""
    known = _options(_verb_parser(argv[0]))
    flags = []
    for token in canonical_argv(argv):
        if token == "--":
            break
        if token.startswith("--"):
            flags.append(token.partition("=")[0])
    return [flag for flag in flags if flag not in known]


def test_the_docs_hold_commands_of_most_verbs() -> None:
    """The extraction finds the documented commands (an empty list would pass every other test here)."""
    verbs = {command.argv[0] for command in ALL if command.argv}
    assert len(ALL) > 40
    assert {"build", "eval", "score", "finetune", "qa", "probe", "push", "crawl"} <= verbs


@pytest.mark.parametrize("command", ALL, ids=str)
def test_every_documented_command_parses(command: DocCommand) -> None:
    assert command.argv and command.argv[0] in COMMANDS, f"{command}: no such verb (known: {', '.join(COMMANDS)})"
    assert not unknown_flags(command.argv), f"{command}: unknown flag(s) {unknown_flags(command.argv)}"
    if command.whole:
        try:
            parse_args(list(command.argv))
        except SystemExit as exit_:
            pytest.fail(f"{command}: the parser refused it (exit {exit_.code})")


def test_a_misspelt_flag_in_a_doc_fails(tmp_path: Path) -> None:
    """The check itself: a doc with ``--seeed`` is caught, in a block and inline."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Run `lego-arta build builders/quickstart.yaml --seeed 1`.\n\n```bash\nlego-arta score --task state \\\n"
        "    --predictions p.jsonl --data d --resampels 10   # a comment\n```\n",
        encoding="utf-8",
    )
    found = doc_commands(doc)
    assert [(c.where, c.whole) for c in found] == [("doc.md:1", False), ("doc.md:4", True)]
    assert [unknown_flags(c.argv) for c in found] == [["--seeed"], ["--resampels"]]
