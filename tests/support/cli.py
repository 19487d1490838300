"""Command lines as the ``lego-arta`` entry point parses them, for tests of a verb's adapter."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pytest

from lego_arta.cli import parse_args


def command(verb: str, *argv: str) -> argparse.Namespace:
    """``lego-arta VERB ARGV…`` parsed by the real parser (its ``run`` is ``args.run``)."""
    return parse_args([verb, *argv])


def run_command(verb: str, argv: Sequence[str]) -> int:
    """Run ``lego-arta VERB ARGV…`` in-process through its command module and return the exit code."""
    args = command(verb, *argv)
    return int(args.run(args))


def error_printed(capsys: pytest.CaptureFixture[str]) -> str:
    """What a failed command printed on stderr, checked to hold its ``error:`` line while stdout holds none.

    Errors go to stderr so that ``lego-arta score … > table.txt`` keeps only results in the file and
    shows the problem on the terminal; a message back on stdout fails here.
    """
    captured = capsys.readouterr()
    assert "error:" in captured.err and "error:" not in captured.out, f"stdout: {captured.out[-1500:]!r}\nstderr: {captured.err[-1500:]!r}"
    return captured.err
