"""``lego-arta tasks-path``: print a folder of the LEGO-ARTA lmms-eval task files, for raw lmms-eval from any folder.

    python -m lmms_eval --include_path "$(lego-arta tasks-path)" --tasks lego_arta ...

The files are rendered from the registered tasks (``LEGO_ARTA_TASK_MODULES`` included) into a cache
folder named by their digest, or into ``--out DIR``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "print a folder of the task files for `python -m lmms_eval --include_path` (rendered from the task specs)"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=None, help="write the task files into this folder instead of the cache ($LEGO_ARTA_CACHE)"
    )


def run(args: argparse.Namespace) -> int:
    from lego_arta.harness.task_files import tasks_path, write_task_dir

    print(write_task_dir(args.out) if args.out is not None else tasks_path())
    return 0
