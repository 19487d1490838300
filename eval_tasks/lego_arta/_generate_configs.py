"""Write the readable export of the LEGO-ARTA lmms-eval task files (rendered by ``lego_arta.harness.task_files``).

The package renders these files itself wherever it runs (``lego-arta eval`` into each run's
include path, ``lego-arta tasks-path`` into a cache folder), so nothing reads this folder at run
time; it is committed so the tasks can be read and reviewed. Every file here but ``README.md``
and this script is generated; ``tests/harness/test_generated_configs.py`` fails when they
drift from the task specs.

    python eval_tasks/lego_arta/_generate_configs.py              # rewrite this folder
    python eval_tasks/lego_arta/_generate_configs.py --out DIR    # write elsewhere (with extra tasks, say)
    python eval_tasks/lego_arta/_generate_configs.py --check      # exit 1 and name the files that differ
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lego_arta.harness.task_files import HEADER, drift, render, write_task_dir

HERE = Path(__file__).resolve().parent
__all__ = ["HEADER", "drift", "main", "render"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: this folder)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the folder differs")
    args = parser.parse_args(argv)
    if args.check:
        differ = drift(args.out)
        for name in differ:
            print(f"{args.out / name}: differs from the task specs; run {Path(__file__).name}", file=sys.stderr)
        return 1 if differ else 0
    files = render()
    write_task_dir(args.out, files)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
