"""The whole study-scale build, measured: wall time, peak memory, output size and pairs vs the study.

Runs the two jobs a user runs for ``lego-arta build builders/study.yaml --out DIR`` (which makes the
synthetic raw manuals first when there are none), each as its own child process:

1. ``lego-arta synth`` with the recipe's source settings (65 manuals, seed 0, 1024x473), skipped
   with ``--raw DIR`` (an existing synthetic raw folder is reused);
2. ``lego-arta build RECIPE --raw RAW --out BUILT`` (``lego_arta.dataset.pipeline.build``).

Per job: wall and CPU seconds, peak RSS of the largest single process (``getrusage`` of the
job's reaped processes, workers included) and peak RSS of the whole process tree (the sum over
the job and its workers, sampled every ``SAMPLE_SECONDS``). The build also reports its own run
facts (``lego-arta build --stats``): the issue-15 ratio build wall x workers / (pairs x PNG encode
time of a pair image), both timed in that one run, the same ratio in CPU seconds, the cost per
manual and each worker's peak RSS. Then the bytes on disk (raw folder, build total, Parquet per
config and split; a build holds no LLaVA copy since ``lego-arta export llava`` makes it on demand)
against the study's 11.8 GB folder, the pairs and units per config against the study's Table 4.3,
and size vs encode time of the build's own pair images at each PNG compression level. Prints a
table, writes ``bench_build.json`` (and the jobs' logs) into ``--out``.

    .venv/bin/python benchmarks/bench_build.py --out out/bench-build                 # study scale (65 manuals)
    .venv/bin/python benchmarks/bench_build.py --manuals 4 --out out/bench-build     # quick
    .venv/bin/python benchmarks/bench_build.py --raw out/raw65 --out out/bench-build # reuse raw manuals
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow.parquet as pq
from PIL import Image
from rich.console import Console
from rich.table import Table

from lego_arta.dataset.recipe import load_recipe
from lego_arta.study import study_statistics

#: Size of the study's full dataset folder (JSON + PNG), SPEC §5.
STUDY_BYTES = 11.8e9
#: How often the process tree's memory is sampled; short jobs may peak between two samples.
SAMPLE_SECONDS = 0.25
RECIPE = Path("builders/study.yaml")
RESULT_FILE = "bench_build.json"
#: Wide enough for both tables when the output is a log file, not a terminal.
TABLE_WIDTH = 150
#: PNG levels measured on the build's own images, and how many images of each config.
PNG_LEVELS = (0, 1, 2, 3, 4, 6, 9)
PNG_SAMPLE = 30
#: Units of each config and their row in the study's statistics.
STUDY_UNITS = {"scene": "scenes", "object": "objects", "state": "states"}

#: Runs a command, then writes the rusage of everything it reaped (the command and its workers)
#: as JSON to argv[1]; a fresh wrapper per job keeps one job's peak out of the next one's figure.
_RUSAGE_WRAPPER = (
    "import json, resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[2:]).returncode; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "open(sys.argv[1], 'w').write(json.dumps({'maxrss_kib': u.ru_maxrss, 'cpu_s': u.ru_utime + u.ru_stime})); "
    "sys.exit(code)"
)


@dataclass(frozen=True)
class JobMeasure:
    """What one child job cost."""

    command: str
    wall_s: float
    cpu_s: float
    peak_rss_largest_mib: float
    peak_rss_tree_mib: float


def _tree_rss(wrapper: psutil.Process) -> int:
    """Bytes resident in the wrapper's descendants (the wrapper itself, a few MiB, is left out)."""
    total = 0
    try:
        children = wrapper.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for child in children:
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run_measured(command: list[str], log: Path, scratch: Path) -> JobMeasure:
    """Run ``command`` (stdout to ``log``, progress bars on our stderr) and measure it."""
    usage_file = scratch / f".rusage-{log.stem}.json"
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        wrapper = psutil.Popen([sys.executable, "-c", _RUSAGE_WRAPPER, str(usage_file), *command], stdout=out)
        peak = 0
        while wrapper.poll() is None:
            peak = max(peak, _tree_rss(wrapper))
            time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - start
    if wrapper.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {wrapper.returncode}; see {log}")
    usage = json.loads(usage_file.read_text(encoding="utf-8"))
    usage_file.unlink()
    largest = usage["maxrss_kib"] / 1024
    return JobMeasure(" ".join(command), wall, usage["cpu_s"], largest, max(peak / 2**20, largest))


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_sizes(built: Path, configs: list[str]) -> dict[str, Any]:
    """Bytes of the build: total, Parquet per config and split, the LLaVA export, the rest."""
    parquet = {c: {s: sum(p.stat().st_size for p in (built / c).glob(f"{s}-*.parquet")) for s in ("train", "test")} for c in configs}
    llava = folder_bytes(built / "llava") if (built / "llava").is_dir() else 0
    total = folder_bytes(built)
    return {"total": total, "parquet": parquet, "llava": llava, "other": total - llava - sum(sum(v.values()) for v in parquet.values())}


def pair_counts(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Pairs and units per config next to the study's."""
    study = study_statistics()
    rows: dict[str, dict[str, float]] = {}
    for config, splits in sorted(manifest["counts"].items()):
        pairs = sum(splits.values())
        study_pairs = study[(config, "vqa_pairs")]
        study_units = study[(config, STUDY_UNITS[config])]
        units = manifest.get("units", {}).get(config, 0)
        rows[config] = {
            "train": splits["train"],
            "test": splits["test"],
            "pairs": pairs,
            "study_pairs": study_pairs,
            "pairs_ratio": pairs / study_pairs,
            "units": units,
            "study_units": study_units,
            "units_ratio": units / study_units,
        }
    total = sum(r["pairs"] for r in rows.values())
    study_total = study[("overall", "vqa_pairs")]
    rows["all"] = {
        "train": sum(r["train"] for r in rows.values()),
        "test": sum(r["test"] for r in rows.values()),
        "pairs": total,
        "study_pairs": study_total,
        "pairs_ratio": total / study_total,
    }
    return rows


def png_levels(built: Path, configs: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Encode CPU time and size of ``PNG_SAMPLE`` of each config's pair images at every level in ``PNG_LEVELS``."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for config in configs:
        shard = next(iter(sorted((built / config).glob("train-*.parquet"))), None)
        if shard is None:
            continue
        cells = pq.read_table(shard, columns=["image"]).slice(0, PNG_SAMPLE).column("image").to_pylist()
        pixels = [np.asarray(Image.open(io.BytesIO(cell["bytes"]))) for cell in cells]  # as stored: RGB or RGBA
        table[config] = {}
        for level in PNG_LEVELS:
            start, size = time.thread_time(), 0
            for image in pixels:
                buffer = io.BytesIO()
                Image.fromarray(image).save(buffer, format="PNG", compress_level=level)
                size += buffer.tell()
            table[config][str(level)] = {"ms": 1000 * (time.thread_time() - start) / len(pixels), "kib": size / len(pixels) / 1024}
    return table


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def print_report(result: dict[str, Any], console: Console) -> None:
    jobs = Table(
        title=f"lego-arta build, {result['manuals']} manuals at {result['image_size']}, "
        f"{result['workers']} workers ({result['cores']} cores)"
    )
    for column in ("job", "wall s", "CPU s", "peak RSS MiB (largest)", "peak RSS MiB (tree)", "output MiB", "per item"):
        jobs.add_column(column, justify="left" if column == "job" else "right")
    synth, build = result["synth"], result["build"]
    if synth:
        jobs.add_row(
            "synth",
            f"{synth['wall_s']:.0f}",
            f"{synth['cpu_s']:.0f}",
            f"{synth['peak_rss_largest_mib']:.0f}",
            f"{synth['peak_rss_tree_mib']:.0f}",
            _mib(result["raw_bytes"]),
            f"{1000 * synth['wall_s'] / max(result['raw_images'], 1):.0f} ms/image ({result['raw_images']:,})",
        )
    else:
        jobs.add_row("synth", "reused", "", "", "", _mib(result["raw_bytes"]), f"{result['raw_images']:,} images")
    pairs = result["pairs"]["all"]["pairs"]
    jobs.add_row(
        "build",
        f"{build['wall_s']:.0f}",
        f"{build['cpu_s']:.0f}",
        f"{build['peak_rss_largest_mib']:.0f}",
        f"{build['peak_rss_tree_mib']:.0f}",
        _mib(result["sizes"]["total"]),
        f"{1000 * build['wall_s'] / max(pairs, 1):.1f} ms/pair ({pairs:,})",
    )
    console.print(jobs)

    counts = Table(title="pairs per config vs the study (Table 4.3)")
    for column in ("config", "train", "test", "pairs", "study", "ratio", "units (steps)", "study units", "ratio ", "Parquet MiB"):
        counts.add_column(column, justify="left" if column == "config" else "right")
    for config, row in result["pairs"].items():
        parquet = result["sizes"]["parquet"].get(config)
        counts.add_row(
            config,
            f"{row['train']:,}",
            f"{row['test']:,}",
            f"{row['pairs']:,}",
            f"{row['study_pairs']:,.0f}",
            f"{row['pairs_ratio']:.2f}",
            f"{row['units']:,}" if "units" in row else "",
            f"{row['study_units']:,.0f}" if "units" in row else "",
            f"{row['units_ratio']:.2f}" if "units" in row else "",
            _mib(sum(parquet.values())) if parquet else "",
        )
    sizes = result["sizes"]
    counts.caption = (
        f"build {sizes['total'] / 1e9:.2f} GB (Parquet {sum(sum(v.values()) for v in sizes['parquet'].values()) / 1e9:.2f}, "
        f"LLaVA copy {sizes['llava'] / 1e9:.2f}) + raw {result['raw_bytes'] / 1e9:.2f} GB vs the study's "
        f"{STUDY_BYTES / 1e9:.1f} GB: build {sizes['total'] / STUDY_BYTES:.0%}, "
        f"build + raw {(sizes['total'] + result['raw_bytes']) / STUDY_BYTES:.0%}"
    )
    console.print(counts)

    stats = result.get("run_stats") or {}
    if stats:
        run = Table(title="build run facts (lego-arta build --stats): the issue-15 ratio and memory")
        for column in ("figure", "value"):
            run.add_column(column)
        run.add_row("wall x workers / (pairs x PNG encode of a pair image)", f"{stats['encode_ratio']:.2f} (target <= 1.25)")
        run.add_row("the same in CPU seconds of the pair jobs", f"{stats['encode_cpu_ratio']:.2f}")
        if "all_cpu_ratio" in stats:
            shares = stats["cpu_shares"]
            run.add_row("every CPU second (votes, pairs, driver) / (pairs x encode CPU)", f"{stats['all_cpu_ratio']:.2f}")
            run.add_row(
                "the jobs' CPU",
                f"{shares['encode']:.0%} PNG encode, {shares['decode']:.0%} decode "
                f"({stats['decodes']:,} x {stats['decode_cpu_ms_per_image']:.1f} ms), {shares['other']:.0%} the rest; "
                f"votes {stats['vote_cpu_s']:.1f} s, driver {stats['driver_cpu_s']:.1f} s",
            )
        run.add_row(
            "PNG encode per image",
            f"{stats['encode_ms_per_image']:.1f} ms wall, {stats['encode_cpu_ms_per_image']:.1f} ms CPU ({stats['encodes']:,} encodes; "
            f"{stats.get('encodes_spared', 0):,} files embedded as their recorded encoding instead)",
        )
        run.add_row("per pair per worker", f"{stats['ms_per_pair_per_worker']:.1f} ms wall")
        run.add_row(
            "per manual",
            f"{stats['manual_wall_s']['mean']:.1f} s wall mean, {stats['manual_wall_s']['max']:.1f} s max; "
            f"{stats['worker_cpu_s'] / max(stats['manuals'], 1):.1f} s CPU mean",
        )
        run.add_row("peak RSS per worker", ", ".join(f"{v:,.0f}" for v in stats["peak_rss_mib_per_worker"].values()) + " MiB")
        if stats.get("driver_received_share") is not None:
            run.add_row(
                "the driver's load (workers write the rows)",
                f"received {stats['driver_received_bytes'] / 1e6:.2f} MB = {stats['driver_received_share']:.3%} of the "
                f"{stats['output_bytes'] / 1e9:.2f} GB output; {stats['driver_cpu_s']:.1f} s CPU = {stats['driver_cpu_share']:.2%} of the build's",
            )
        console.print(run)
    levels = result.get("png_levels") or {}
    if levels:
        table = Table(title=f"PNG compression level vs size and CPU time, {PNG_SAMPLE} pair images per config (the build uses level 1)")
        table.add_column("config")
        for level in PNG_LEVELS:
            table.add_column(f"level {level}", justify="right")
        for config, row in levels.items():
            table.add_row(config, *(f"{row[str(level)]['ms']:.1f} ms {row[str(level)]['kib']:,.0f} KiB" for level in PNG_LEVELS))
        console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--manuals", type=int, default=None, help="synthetic manuals (default: the recipe's, 65)")
    parser.add_argument("--raw", type=Path, default=None, help="reuse this synthetic raw folder (skips the synth job)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--executor", choices=("local", "ray"), default="local", help="the build's executor (lego-arta build --executor)")
    parser.add_argument("--out", type=Path, default=Path("out/bench-build"))
    parser.add_argument("--keep", action="store_true", help="keep the raw and built folders (default: only the results)")
    args = parser.parse_args(argv)

    recipe = load_recipe(args.recipe).with_overrides(manuals=args.manuals)
    source = recipe.source
    if source.kind != "synthetic" and args.raw is None:
        parser.error(f"{args.recipe}: benchmarks a synthetic recipe (or pass --raw)")
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    cli = [sys.executable, "-m", "lego_arta"]
    console = Console(stderr=True)

    synth = None
    raw = args.raw
    if raw is None:
        raw = work / "raw"
        console.print(f"[bold]synth[/bold]: {source.manuals} manuals at {source.width}x{source.height} into {raw}")
        synth = run_measured(
            cli
            + [
                "synth",
                "--manuals",
                str(source.manuals),
                "--seed",
                str(source.seed),
                "--width",
                str(source.width),
                "--height",
                str(source.height),
                "--out",
                str(raw),
                "--workers",
                str(args.workers),
                "--no-summary",
            ],
            args.out / "synth.log",
            work,
        )
    recorded = json.loads((raw / "synth.json").read_text(encoding="utf-8")) if (raw / "synth.json").is_file() else {}
    built = work / "built"
    console.print(f"[bold]build[/bold]: {args.recipe} from {raw} into {built}")
    stats_file = work / "build-stats.json"
    build_command = cli + [
        "build",
        str(args.recipe),
        "--raw",
        str(raw),
        "--out",
        str(built),
        "--workers",
        str(args.workers),
        "--executor",
        args.executor,
        "--stats",
        str(stats_file),
    ]
    if args.manuals is not None:
        build_command += ["--manuals", str(args.manuals)]
    build = run_measured(build_command, args.out / "build.log", work)

    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = {
        "benchmark": "bench_build",
        "command": " ".join(["benchmarks/bench_build.py", *(argv if argv is not None else sys.argv[1:])]),
        "recipe": str(args.recipe),
        "manuals": len(manifest["manuals"]),
        "image_size": f"{recorded.get('width', source.width)}x{recorded.get('height', source.height)}",
        "workers": args.workers,
        "cores": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "synth": asdict(synth) if synth else None,
        "build": asdict(build),
        "raw_bytes": folder_bytes(raw),
        "raw_images": sum(1 for _ in raw.rglob("images/*.png")),
        "sizes": build_sizes(built, sorted(manifest["counts"])),
        "study_bytes": STUDY_BYTES,
        "pairs": pair_counts(manifest),
        "skips": manifest.get("skips", {}),
        "run_stats": json.loads(stats_file.read_text(encoding="utf-8")),
        "png_levels": png_levels(built, sorted(manifest["counts"])),
        "load_average": os.getloadavg(),
    }
    result["build_vs_study_bytes"] = result["sizes"]["total"] / STUDY_BYTES
    (args.out / RESULT_FILE).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print_report(result, Console(width=TABLE_WIDTH))
    print(f"results: {args.out / RESULT_FILE}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
