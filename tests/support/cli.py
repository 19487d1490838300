"""Command lines as the ``lego-arta`` entry point parses them, for tests of a verb's adapter."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lego_arta.cli import parse_args


def command(verb: str, *argv: str) -> argparse.Namespace:
    """``lego-arta VERB ARGV…`` parsed by the real parser (its ``run`` is ``args.run``)."""
    return parse_args([verb, *argv])


def run_command(verb: str, argv: Sequence[str]) -> int:
    """Run ``lego-arta VERB ARGV…`` in-process through its command module and return the exit code."""
    args = command(verb, *argv)
    return int(args.run(args))
