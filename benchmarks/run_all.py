"""Run every benchmark in ``benchmarks/`` and write one Markdown summary with the command behind each figure.

Each ``bench_*.py`` runs in its own child process with its own folder under ``--out`` (its log and
its JSON results there); the figures are read back from the JSON, never parsed from the printout.
The default scale is what each benchmark's target is about (study-scale synth and build, metrics on
35,612 answers, fine-tuning throughput ours vs a plain loop, annotate accuracy on 6 manuals);
``--quick`` runs every one small (a few minutes in all) to check the set works and see rough numbers.

    .venv/bin/python benchmarks/run_all.py --out out/benchmarks            # full scale (about an hour on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick --out out/benchmarks    # small scale
    .venv/bin/python benchmarks/run_all.py --only metrics,render           # a subset

Writes ``summary.md`` and ``summary.json`` into ``--out``; exits 1 when a benchmark failed (crashed,
wrote no results, or missed its own target and said so by its exit status).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
#: Lines of a failed benchmark's log shown on the terminal.
LOG_TAIL_LINES = 20

Figures = list[tuple[str, str]]


def _render_figures(result: dict[str, Any]) -> Figures:
    figures = []
    for row in result["rows"]:
        figures.append(
            (
                f"render {row['kind']} {row['size']}, {row['parts']} parts",
                f"{row['wall_ms']:.1f} ms wall, {row['cpu_ms']:.1f} ms CPU, {row['peak_mib']:.1f} MiB peak",
            )
        )
    return figures


def _metrics_figures(result: dict[str, Any]) -> Figures:
    answers = result["answers"]
    n = f"{sum(answers.values()):,} answers (scene {answers['scene']:,}, object {answers['object']:,}, state {answers['state']:,})"
    figures = [
        ("metrics: answers scored", n),
        ("metrics: all our metrics", f"{result['all_ours_s']:.2f} s"),
        ("metrics: ratio ours / library, shared metrics", f"{result['shared_total_ratio']:.2f}"),
    ]
    for name, ratio in result["ratio"].items():
        figures.append(
            (f"metrics: {name} ours / library", f"{result['ours_s'][name]:.3f} s / {result['direct_s'][name]:.3f} s = {ratio:.2f}")
        )
    for name, seconds in result.get("evaluate_s", {}).items():
        figures.append((f"metrics: {name} / our functions", f"{seconds:.3f} s = {result['evaluate_vs_functions'][name]:.2f}x"))
    for name, seconds in result.get("bootstrap_s", {}).items():
        figures.append((f"metrics: {name}", f"{seconds:.2f} s"))
    return figures


def _finetune_figures(result: dict[str, Any]) -> Figures:
    setting = f"tiny LLaVA, LoRA r=8, batch {result['batch_size']}, {result['steps']} steps, best of {result['repeats']}"
    return [
        ("finetune: lego_arta.finetune", f"{result['ours_samples_per_s']:.1f} samples/s ({setting})"),
        ("finetune: plain transformers+peft loop", f"{result['plain_samples_per_s']:.1f} samples/s"),
        ("finetune: throughput ratio ours / plain", f"{result['ratio']:.2f} (target >= {result['target_ratio']})"),
    ]


def _annotate_figures(result: dict[str, Any]) -> Figures:
    scale = f"{result['manuals']} manuals at {result['image_size']}" + (", degraded" if result["degraded"] else "")
    figures = []
    for name, value in result["figures"].items():
        shown = f"{value:.1f} ms" if ("time" in name) else f"{value:.4f}"
        note = result["notes"].get(name)
        figures.append((f"annotate: {name}", f"{shown} ({scale}{'; ' + note if note else ''})"))
    return figures


def _build_figures(result: dict[str, Any]) -> Figures:
    scale = f"{result['manuals']} manuals at {result['image_size']}, {result['workers']} workers"
    figures = []
    for job in ("synth", "build"):
        measure = result[job]
        if measure is None:
            continue
        figures.append((f"{job}: wall time", f"{measure['wall_s']:.0f} s ({scale})"))
        figures.append(
            (
                f"{job}: peak RSS",
                f"{measure['peak_rss_tree_mib']:.0f} MiB all processes, {measure['peak_rss_largest_mib']:.0f} MiB largest one",
            )
        )
    figures.append(("synth: raw output", f"{result['raw_bytes'] / 1e9:.2f} GB, {result['raw_images']:,} images"))
    sizes = result["sizes"]
    figures.append(
        (
            "build: output size",
            f"{sizes['total'] / 1e9:.2f} GB = {result['build_vs_study_bytes']:.0%} of the study's "
            f"{result['study_bytes'] / 1e9:.1f} GB (LLaVA export {sizes['llava'] / 1e9:.2f} GB)",
        )
    )
    for config, splits in sorted(sizes["parquet"].items()):
        figures.append((f"build: {config} Parquet", f"{splits['train'] / 1e6:,.0f} MB train, {splits['test'] / 1e6:,.0f} MB test"))
    stats = result.get("run_stats")
    if stats:
        figures.append(
            (
                "build: wall x workers / (pairs x PNG encode of a pair image)",
                f"{stats['encode_ratio']:.2f} (CPU seconds: {stats['encode_cpu_ratio']:.2f} of the pair jobs, "
                f"{stats.get('all_cpu_ratio', float('nan')):.2f} of everything; encode {stats['encode_ms_per_image']:.1f} ms "
                f"wall, {stats['encode_cpu_ms_per_image']:.1f} ms CPU per image; target <= 1.25)",
            )
        )
        figures.append(
            (
                "build: per manual",
                f"{stats['manual_wall_s']['mean']:.1f} s wall, {stats['worker_cpu_s'] / max(stats['manuals'], 1):.1f} s CPU ({scale})",
            )
        )
        figures.append(("build: peak RSS per worker", f"{stats['peak_rss_mib_max']:,.0f} MiB (target <= 1,024 at study scale)"))
    for config, levels in (result.get("png_levels") or {}).items():
        figures.append(
            (f"PNG levels, {config} images", "; ".join(f"{level}: {v['ms']:.1f} ms {v['kib']:,.0f} KiB" for level, v in levels.items()))
        )
    for config, row in result["pairs"].items():
        figures.append(
            (
                f"pairs: {config}",
                f"{row['pairs']:,} vs the study's {row['study_pairs']:,.0f} ({row['pairs_ratio']:.2f}x); "
                f"train {row['train']:,}, test {row['test']:,}",
            )
        )
    return figures


def _probe_figures(result: dict[str, Any]) -> Figures:
    scale = f"random ViT-B/16, {result['images']} images, {result['tokens_per_image']} tokens x {result['dim']}"
    figures = [
        ("probe: backbone pass", f"{result['backbone_ms_per_image']:.0f} ms per image ({scale})"),
        (
            "probe: cached features read",
            f"{result['cache_ms_per_image']:.2f} ms per image, {result['speedup']:.0f}x cheaper "
            f"(target <= {result['target_cache_ms']:.0f} ms, >= {result['target_speedup']:.0f}x); "
            f"{result['cache_bytes_per_image'] / 1e3:.0f} kB per image",
        ),
    ]
    for name, row in result["probes"].items():
        figures.append(
            (f"probe: {name} training", f"{row['ms_per_item_epoch']:.1f} ms per item and epoch, {row['parameters']:,} parameters")
        )
    return figures


@dataclass(frozen=True)
class Benchmark:
    """One script, its arguments at full and quick scale, and how to read its JSON."""

    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    figures: Callable[[dict[str, Any]], Figures]
    #: How the script is told where to write: ``--json FILE`` or ``--out DIR`` (then ``result_name`` in it).
    out_option: str = "--json"
    result_name: str = "result.json"


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "render", "bench_render.py", ("--repeat", "10"), ("--repeat", "3", "--sizes", "1024x473", "--parts", "10,30"), _render_figures
    ),
    Benchmark("metrics", "bench_metrics.py", ("--evaluate",), ("--n", "7000", "--repeats", "2", "--resamples", "200"), _metrics_figures),
    Benchmark("annotate", "bench_annotate.py", ("--manuals", "6"), ("--manuals", "2"), _annotate_figures),
    Benchmark(
        "annotate-degraded", "bench_annotate.py", ("--manuals", "6", "--degrade"), ("--manuals", "2", "--degrade"), _annotate_figures
    ),
    Benchmark("finetune", "bench_finetune.py", (), ("--steps", "20", "--repeats", "2"), _finetune_figures),
    Benchmark("build", "bench_build.py", (), ("--manuals", "3"), _build_figures, out_option="--out", result_name="bench_build.json"),
    Benchmark("probe", "bench_probe.py", (), ("--images", "8", "--items", "16"), _probe_figures),
)


@dataclass
class Outcome:
    benchmark: Benchmark
    command: str
    returncode: int
    seconds: float
    result: dict[str, Any] | None

    @property
    def status(self) -> str:
        if self.result is None:
            return "failed (no results)"
        return "ok" if self.returncode == 0 else f"target missed (exit {self.returncode})"


def _shown_path(path: Path) -> str:
    """``path`` relative to the repository when it is inside it: commands in the summary stay copyable."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def run_benchmark(bench: Benchmark, out: Path, quick: bool, extra: tuple[str, ...]) -> Outcome:
    folder = out / bench.name
    folder.mkdir(parents=True, exist_ok=True)
    result_file = folder / bench.result_name
    result_file.unlink(missing_ok=True)
    target = folder if bench.out_option == "--out" else result_file
    args = [*(bench.quick if quick else bench.full), *extra, bench.out_option, _shown_path(target)]
    command = [sys.executable, str(BENCH_DIR / bench.script), *args]
    shown = shlex.join([".venv/bin/python", f"benchmarks/{bench.script}", *args])
    start = time.perf_counter()
    with (folder / "log.txt").open("w", encoding="utf-8") as log:
        code = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else None
    return Outcome(bench, shown, code, seconds, result)


def _git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def summary_markdown(outcomes: list[Outcome], quick: bool, out: Path) -> str:
    """The RESULTS-style page: one table per benchmark, each figure with the command that produced it."""
    lines = [
        "# lego-arta benchmark results",
        "",
        f"- scale: {'quick (small)' if quick else 'full (each benchmark target scale)'}",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, {platform.platform()}",
        f"- date: {datetime.date.today().isoformat()}, revision {_git_revision()}",
        f"- raw logs and JSON: `{out}/<benchmark>/`",
        "",
        "| benchmark | status | time s | command |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {o.benchmark.name} | {o.status} | {o.seconds:.0f} | `{o.command}` |" for o in outcomes]
    for outcome in outcomes:
        lines += ["", f"## {outcome.benchmark.name}", "", f"Command: `{outcome.command}`", ""]
        if outcome.result is None:
            lines.append(f"No results: see `{out / outcome.benchmark.name / 'log.txt'}`.")
            continue
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| {figure} | {value} |" for figure, value in outcome.benchmark.figures(outcome.result)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/benchmarks"))
    parser.add_argument("--quick", action="store_true", help="every benchmark at small scale (minutes, not an hour)")
    names = [b.name for b in BENCHMARKS]
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(names)}")
    parser.add_argument("--build-raw", type=Path, help="reuse this synthetic raw folder in the build benchmark")
    args = parser.parse_args(argv)
    chosen = names if args.only is None else [n.strip() for n in args.only.split(",")]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {unknown}; expected some of {names}")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    console = Console()
    outcomes: list[Outcome] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("benchmarks", total=len(chosen))
        for bench in (b for b in BENCHMARKS if b.name in chosen):
            progress.update(task, description=f"running {bench.name} ({bench.script})")
            extra = ("--raw", str(args.build_raw.resolve())) if bench.name == "build" and args.build_raw else ()
            outcome = run_benchmark(bench, out, args.quick, extra)
            outcomes.append(outcome)
            colour = "green" if outcome.status == "ok" else "red"
            progress.console.print(f"[{colour}]{bench.name}: {outcome.status}[/{colour}] in {outcome.seconds:.0f} s")
            if outcome.status != "ok":
                tail = (out / bench.name / "log.txt").read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
                progress.console.print("\n".join(tail), markup=False, highlight=False)
            progress.advance(task)

    (out / "summary.md").write_text(summary_markdown(outcomes, args.quick, out), encoding="utf-8")
    collected = {o.benchmark.name: {"command": o.command, "status": o.status, "seconds": o.seconds, "result": o.result} for o in outcomes}
    (out / "summary.json").write_text(json.dumps(collected, indent=1) + "\n", encoding="utf-8")
    console.print(f"summary: {out / 'summary.md'}")
    failed = [o.benchmark.name for o in outcomes if o.status != "ok"]
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/red]")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
