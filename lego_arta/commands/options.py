"""Argument types and flag spellings shared by every command: one vocabulary for the whole CLI.

Long flags are hyphenated, outputs are ``--out``, task lists are comma-separated. Spellings of
earlier releases still parse (:data:`ALIASES`), but ``--help`` and the docs show only the new ones.

>>> canonical_argv(["eval", "--output", "x", "--model_args=a=1", "--", "--output"])
['eval', '--out', 'x', '--model-args=a=1', '--', '--output']
>>> comma_list("scene, state,scene")
('scene', 'state')

Every numeric option is read by :func:`number`: finite and in its range. ``argparse``'s
``type=float`` takes ``nan``, ``inf`` and ``1e999``: ``crawl --deadline nan`` silently turned the
deadline off (every comparison with NaN is false), ``crawl --timeout inf`` ended in an
``OverflowError`` in the socket code and ``compare --alpha nan`` in a traceback.

>>> number(float, low=0, low_open=True)("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 'nan' is not a finite number
>>> number(int, low=1)("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 0 is out of range: expected at least 1
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence

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

    parser.add_argument(
        "--workers",
        type=POSITIVE_INT,
        default=default_workers(),
        help="worker processes (ray: tasks in flight per CPU slot; default: %(default)s)",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where the per-manual work runs: local processes, or Ray (pip install -e '.[scale]' in a clone, or pip install 'ray>=2.40,<3')",
    )
    parser.add_argument("--ray-address", default=None, help="Ray cluster to join (ray.init(address=...)); default: a local Ray instance")


def executor_from(args: argparse.Namespace):
    """The executor ``--executor``, ``--workers`` and ``--ray-address`` describe."""
    from lego_arta.executor import make_executor

    return make_executor(args.executor, workers=args.workers, address=args.ray_address)


#: How much of a refused value a message shows.
SHOWN_CHARS = 40


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'more than' if low_open else 'at least'} {low:g}")
    if high is not None:
        parts.append(f"{'less than' if high_open else 'at most'} {high:g}")
    return " and ".join(parts)


def number(
    kind: type[int] | type[float], *, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> Callable[[str], int | float]:
    """An ``argparse`` ``type=`` that reads a finite ``kind`` in ``[low, high]`` (``*_open``: bound excluded).

    ``argparse`` turns the :class:`argparse.ArgumentTypeError` into ``error: argument --x: …`` and exit 2.
    """

    def parse(text: str) -> int | float:
        shown = text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}…"
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{shown!r} is not {'a whole number' if kind is int else 'a number'}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{shown!r} is not a finite number")
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            raise argparse.ArgumentTypeError(f"{value} is out of range: expected {_range_text(low, high, low_open, high_open)}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


#: Seconds to wait for something (a timeout, a deadline): positive and finite, at most a day.
SECONDS = number(float, low=0, high=86_400, low_open=True)
#: A count that must be at least one (workers, resamples, manuals).
POSITIVE_INT = number(int, low=1)
#: A count that may be zero.
NON_NEGATIVE_INT = number(int, low=0)
#: A seed for numpy and random: 0 … 2³²−1.
SEED = number(int, low=0, high=2**32 - 1)
#: A two-sided error rate for intervals and tests: strictly between 0 and 1.
ALPHA = number(float, low=0, high=1, low_open=True, high_open=True)
#: A fraction strictly between 0 and 1.
FRACTION = number(float, low=0, high=1, low_open=True, high_open=True)


def add_box_format_argument(parser: argparse.ArgumentParser) -> None:
    """``--box-format``: the convention object answers' box numbers are read in (:data:`lego_arta.answers.BOX_FORMATS`)."""
    from lego_arta.answers import BOX_FORMATS

    parser.add_argument(
        "--box-format",
        choices=BOX_FORMATS,
        default="auto",
        help="how object answers' boxes are read: auto (the documented rules), 0-100, 0-1000 (Qwen2/3-VL), "
        "pixels (Qwen2.5-VL, absolute), gemini ([ymin, xmin, ymax, xmax] in 0-1000) (default: %(default)s)",
    )


def add_interval_arguments(parser: argparse.ArgumentParser, *, seed_help: str = "bootstrap seed", alpha: bool = True) -> None:
    """``--resamples``, ``--seed`` and (unless ``alpha=False``) ``--alpha``: how manual-clustered intervals are drawn.

    One definition, so every command that reports intervals (score, compare, baselines, robustness)
    spells, bounds and defaults them alike.

    >>> parser = argparse.ArgumentParser()
    >>> add_interval_arguments(parser)
    >>> vars(parser.parse_args(["--seed", "3"]))
    {'resamples': 1000, 'seed': 3, 'alpha': 0.05}
    """
    from lego_arta.metrics import DEFAULT_ALPHA, DEFAULT_RESAMPLES

    parser.add_argument(
        "--resamples", type=POSITIVE_INT, default=DEFAULT_RESAMPLES, help="bootstrap resamples (and permutations) (default: %(default)s)"
    )
    parser.add_argument("--seed", type=SEED, default=0, help=f"{seed_help} (default: %(default)s)")
    if alpha:
        parser.add_argument(
            "--alpha", type=ALPHA, default=DEFAULT_ALPHA, help="two-sided error rate (default: %(default)s, 95%% intervals)"
        )
