"""Time and peak memory of the two big jobs: ``lego-arta synth`` and ``lego-arta build``.

Each job runs as a child process (as a user runs it), so wall time includes start-up and the peak
resident memory of the job and its workers (``RUSAGE_CHILDREN`` max RSS, the largest single process)
is measured, not guessed. Output size is the bytes on disk.

Run:  .venv/bin/python benchmarks/bench_pipeline.py --manuals 65 --out out/bench   # study scale
      .venv/bin/python benchmarks/bench_pipeline.py --manuals 6                   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

#: Size of the study's full dataset folder (JSON + PNG), from the study.
STUDY_BYTES = 11.8e9


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


#: Runs a command and prints the largest RSS among its processes; a fresh wrapper per job keeps
#: one job's peak from leaking into the next one's figure.
_PEAK_WRAPPER = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the largest process) of one command."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, *command], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manuals", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=Path("out/bench-pipeline"))
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args()

    cli = [sys.executable, "-m", "lego_arta"]
    raw, built = args.out / "raw", args.out / "built"
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    synth_wall, synth_peak = timed(cli + ["synth", "--manuals", str(args.manuals), "--seed", str(args.seed), "--out", str(raw),
                                          "--workers", str(args.workers), "--no-summary"])
    build_wall, build_peak = timed(cli + ["build", "builders/study.yaml", "--manuals", str(args.manuals), "--seed", str(args.seed),
                                          "--raw", str(raw), "--out", str(built), "--workers", str(args.workers)])
    manifest = json.loads((built / "manifest.json").read_text())
    pairs = sum(sum(split.values()) for split in manifest["counts"].values())
    images = sum(1 for _ in (raw).rglob("images/*.png"))
    parquet = sum(p.stat().st_size for p in built.rglob("*.parquet"))

    table = Table(title=f"lego-arta pipeline, {args.manuals} manuals, {args.workers} workers ({os.cpu_count()} cores)")
    for column in ("job", "wall s", "peak RSS MiB", "output MiB", "items", "per item"):
        table.add_column(column, justify="right" if column != "job" else "left")
    raw_bytes, built_bytes = folder_bytes(raw), folder_bytes(built)
    table.add_row("synth", f"{synth_wall:.1f}", f"{synth_peak:.0f}", f"{raw_bytes / 2**20:.0f}", f"{images:,} images",
                  f"{1000 * synth_wall / max(images, 1):.0f} ms/image")
    table.add_row("build", f"{build_wall:.1f}", f"{build_peak:.0f}", f"{built_bytes / 2**20:.0f}", f"{pairs:,} pairs",
                  f"{1000 * build_wall / max(pairs, 1):.0f} ms/pair")
    table.caption = (f"Parquet {parquet / 2**20:.0f} MiB; whole build {built_bytes / 1e9:.2f} GB vs the study's "
                     f"{STUDY_BYTES / 1e9:.1f} GB ({built_bytes / STUDY_BYTES:.1%})")
    Console().print(table)
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
