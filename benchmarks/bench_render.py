"""Time the synthetic manual renderer: ms per image by frame size and model size, and peak memory.

Models are seeded random stacks of bricks, plates and tiles resting on a base plate (built here,
independent of the planner). Each row times one image kind; ``peak MiB`` is the largest Python/numpy
allocation (tracemalloc) during one extra render.

Run:  .venv/bin/python benchmarks/bench_render.py --repeat 20
      .venv/bin/python benchmarks/bench_render.py --samples docs/images   # README sample renders
Target (study scale, ~10,500 images): <= ~40 ms per 1024x473 assembly image of ~30 parts, one core.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from lego_arta.source.synth.model import Colour, Placement, Shape
from lego_arta.source.synth.render import fit_view, render_assembly, render_parts, render_start

SIZES = ((320, 148), (1024, 473), (2778, 1284))
PART_COUNTS = (10, 30, 60)
BASE = (8, 16)
PALETTE = (
    Colour("bright red", (201, 26, 9)),
    Colour("bright blue", (0, 85, 191)),
    Colour("bright yellow", (242, 205, 55)),
    Colour("white", (244, 244, 244)),
    Colour("black", (27, 42, 52)),
    Colour("dark green", (35, 120, 65)),
    Colour("bright orange", (254, 138, 24)),
    Colour("transparent clear", (252, 252, 252), transparent=True),
)
SHAPES = (
    Shape("brick", 2, 4),
    Shape("brick", 2, 2),
    Shape("brick", 1, 4),
    Shape("brick", 1, 2),
    Shape("plate", 2, 4),
    Shape("plate", 1, 6),
    Shape("tile", 1, 2),
    Shape("tile", 2, 2),
)
BOUNDARY = (230, 0, 230)


def stacked_model(parts: int, seed: int) -> list[Placement]:
    """A base plate and ``parts - 1`` parts, each resting on the highest part under its footprint."""
    rng = random.Random(seed)
    short, long = BASE
    model = [Placement(Shape("plate", short, long), PALETTE[3], 0, 0, 0, along_x=True)]
    heights = {(x, y): 1 for x in range(long) for y in range(short)}
    flat: set[tuple[int, int]] = set()  # cells under a tile: nothing may rest there
    while len(model) < parts:
        shape = rng.choice(SHAPES)
        along_x = rng.random() < 0.5
        size_x, size_y = (shape.long, shape.short) if along_x else (shape.short, shape.long)
        x, y = rng.randrange(0, long - size_x + 1), rng.randrange(0, short - size_y + 1)
        cells = [(cx, cy) for cx in range(x, x + size_x) for cy in range(y, y + size_y)]
        if any(cell in flat for cell in cells):
            continue
        z = max(heights[cell] for cell in cells)
        placement = Placement(shape, rng.choice(PALETTE), x, y, z, along_x)
        model.append(placement)
        for cell in cells:
            heights[cell] = placement.top
            if not shape.studded:
                flat.add(cell)
    return model


def time_ms(render: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU time of one call in milliseconds (after one warm-up call).

    CPU time (``process_time``) is the steadier number on a shared machine.
    """
    render()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        render()
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(wall), statistics.median(cpu)


def peak_mib(render: Callable[[], object]) -> float:
    tracemalloc.start()
    render()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


#: The planned manual the README samples show: (seed, manual index, session index).
SAMPLE_MANUAL = (11, 3, 0)
SAMPLE_SIZE = (1024, 473)


def write_samples(folder: Path) -> None:
    """Write render-{step,step-highlight,parts,start}.png of a planned manual into ``folder``.

    The highlighted step is the first step two thirds into the session that has a parts image.
    """
    from lego_arta.source.synth.plan import eop_parts, plan_manuals

    seed, index, session_index = SAMPLE_MANUAL
    width, height = SAMPLE_SIZE
    plan = plan_manuals(index + 1, seed)[index]
    session = plan.sessions[session_index]
    placements = session.placements
    view = fit_view(placements, width, height)
    present: list[int] = []
    for number, step in enumerate(session.steps):
        before = list(present)
        present.extend(step.placed)
        if number >= 2 * len(session.steps) // 3 and step.has_eop:
            parts = [(placements[i].shape, placements[i].colour) for i in eop_parts(session, number)]
            render_parts([placements[i] for i in before], parts, width, height).image.save(folder / "render-parts.png", optimize=True)
            highlight = [position for position, i in enumerate(present) if i in set(step.placed)]
            boundary = session.boundary.rgb if session.boundary is not None else BOUNDARY
            step_image = render_assembly([placements[i] for i in present], view, highlight=highlight, boundary=boundary).image
            step_image.save(folder / "render-step-highlight.png", optimize=True)
            break
    render_assembly(placements, view).image.save(folder / "render-step.png", optimize=True)
    render_start([s.placements for s in plan.sessions], width, height).save(folder / "render-start.png", optimize=True)
    print(f"wrote samples of {plan.manual_id} {session.name} to {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per cell (median reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES), help="e.g. 1024x473,320x148")
    parser.add_argument("--parts", default=",".join(map(str, PART_COUNTS)), help="model sizes, e.g. 10,30")
    parser.add_argument("--samples", type=Path, help="write the README sample renders here and exit")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here (benchmarks/run_all.py reads it)")
    args = parser.parse_args(argv)
    if args.samples is not None:
        args.samples.mkdir(parents=True, exist_ok=True)
        write_samples(args.samples)
        return 0
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    counts = [int(v) for v in args.parts.split(",")]
    print(f"{'kind':<9} {'size':>10} {'parts':>5} {'wall ms':>8} {'cpu ms':>7} {'peak MiB':>9}")
    rows: list[dict[str, object]] = []
    for width, height in sizes:
        for parts in counts:
            model = stacked_model(parts, args.seed)
            view = fit_view(model, width, height)
            new = [(p.shape, p.colour) for p in model[-3:]]
            cases: dict[str, Callable[[], object]] = {
                "assembly": lambda: render_assembly(model, view, highlight={len(model) - 1}, boundary=BOUNDARY),
                "parts": lambda: render_parts(model[:-3], new, width, height),
                "start": lambda: render_start([model, model[: parts // 2]], width, height),
            }
            for kind, render in cases.items():
                wall, cpu = time_ms(render, args.repeat)
                size, peak = f"{width}x{height}", peak_mib(render)
                print(f"{kind:<9} {size:>10} {parts:>5} {wall:>8.1f} {cpu:>7.1f} {peak:>9.1f}", flush=True)
                rows.append({"kind": kind, "size": size, "parts": parts, "wall_ms": wall, "cpu_ms": cpu, "peak_mib": peak})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of the run: {rss:.0f} MiB")
    if args.json is not None:
        result = {"benchmark": "bench_render", "repeat": args.repeat, "rows": rows, "max_rss_mib": rss}
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
