"""Argument types and flag spellings shared by every command: one vocabulary for the whole CLI.

Long flags are hyphenated, outputs are ``--out``, task lists are comma-separated. Spellings of
earlier releases still parse (:data:`ALIASES`), but ``--help`` and the docs show only the new ones.

>>> canonical_argv(["eval", "--output", "x", "--model_args=a=1", "--", "--output"])
['eval', '--out', 'x', '--model-args=a=1', '--', '--output']
>>> comma_list("scene, state,scene")
('scene', 'state')
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

#: Old flag spelling → the one the CLI documents (kept so existing scripts keep working).
ALIASES: dict[str, str] = {"--output": "--out", "--model_args": "--model-args"}


def canonical_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with old flag spellings replaced, up to a bare ``--`` (what follows it belongs to another program)."""
    out: list[str] = []
    for position, token in enumerate(argv):
        if token == "--":
            return out + list(argv[position:])
        flag, equals, value = token.partition("=")
        out.append(ALIASES.get(flag, flag) + equals + value if flag.startswith("--") else token)
    return out


def comma_list(value: str) -> tuple[str, ...]:
    """A comma-separated list, stripped, empty items and repeats dropped, order kept."""
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def default_workers() -> int:
    """Worker processes by default: two, or one on a one-core machine."""
    return min(2, os.cpu_count() or 1)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--executor`` and ``--ray-address``: where per-manual work runs (synth, build)."""
    from lego_arta.executor import EXECUTORS

    parser.add_argument("--workers", type=int, default=default_workers(), help="worker processes (ray: tasks in flight per CPU slot; default: %(default)s)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="where the per-manual work runs: local processes, or Ray (pip install 'lego-arta[scale]')")  # fmt: skip
    parser.add_argument("--ray-address", default=None, help="Ray cluster to join (ray.init(address=...)); default: a local Ray instance")


def executor_from(args: argparse.Namespace):
    """The executor ``--executor``, ``--workers`` and ``--ray-address`` describe."""
    from lego_arta.executor import make_executor

    return make_executor(args.executor, workers=args.workers, address=args.ray_address)


def add_box_format_argument(parser: argparse.ArgumentParser) -> None:
    """``--box-format``: the convention object answers' box numbers are read in (:data:`lego_arta.answers.BOX_FORMATS`)."""
    from lego_arta.answers import BOX_FORMATS

    parser.add_argument("--box-format", choices=BOX_FORMATS, default="auto",
                        help="how object answers' boxes are read: auto (the documented rules), 0-100, 0-1000 (Qwen2/3-VL), "
                             "pixels (Qwen2.5-VL, absolute), gemini ([ymin, xmin, ymax, xmax] in 0-1000) (default: %(default)s)")  # fmt: skip
