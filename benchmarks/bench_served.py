"""Requests per second of lmms-eval's async backend against ``transformers serve``, over a bare asyncio client's.

The same N ``state`` requests go to one ``transformers serve`` of the tiny LLaVA, at the same
concurrency, three ways: through ``lego-arta eval --model lego_arta_openai`` (lmms-eval's
``async_openai`` backend with resume, retries and usage), through lmms-eval's own
``async_openai``, and from a bare asyncio client (httpx) that posts the very request bodies the
harness sent, already encoded. The bare client is the server's own limit; the ratio harness ÷ bare
says what the harness costs. Every request passes a pass-through proxy on 127.0.0.1 that stamps
its arrival and the end of its answer, so each rate is N over the window from the first request's
arrival to the last answer's end: lmms-eval's start-up, dataset loading and scoring are outside it.
The three clients take turns, ``--rounds`` times, and each rate is the median of its rounds, so a
burst of load from other jobs on a shared machine does not fall on one client only.

    .venv/bin/python benchmarks/bench_served.py --out out/bench-served                 # 64 requests, concurrency 4, 3 rounds
    .venv/bin/python benchmarks/bench_served.py --out out/bench-served --requests 16 --rounds 1   # quick

Writes ``results.json`` into ``--out``. Exits 1 when the harness ratio is below the 0.9 target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lego_arta.harness.local_server import start_transformers_serve  # noqa: E402
from tests.support.fault_proxy import FaultProxy, Seen  # noqa: E402

TARGET_RATIO = 0.9


def _window(seen: list[Seen]) -> float:
    """Seconds from the first request's arrival to the last answer's end."""
    return max(s.finished for s in seen if s.finished is not None) - min(s.arrived for s in seen)


def _dataset(out: Path, requests: int) -> Path:
    """A build with at least ``requests`` state test rows (small synthetic manuals)."""
    from dataclasses import replace

    import pyarrow.parquet as pq

    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.recipe import load_recipe
    from lego_arta.source.synth.generator import SynthConfig, synthesize

    manuals = 8
    while True:
        raw, built = out / f"raw{manuals}", out / f"built{manuals}"
        if not built.is_dir():
            synthesize(raw, SynthConfig(manuals=manuals, seed=0, width=384, height=178), workers=1, progress=False)
            recipe = replace(load_recipe(REPO / "builders" / "quickstart.yaml"), collage_width=384, collage_height=178, configs=("state",))
            build(recipe, built, raw=raw, progress=False)
        rows = sum(pq.read_metadata(path).num_rows for path in (built / "state").glob("test-*.parquet"))
        if rows >= requests:
            return built
        manuals *= 2


def _eval(data: Path, model: str, model_args: str, out: Path, requests: int, py_spy: str | None) -> None:
    """One fresh ``lego-arta eval`` (its output folder emptied first: a journal left there would answer everything).

    With ``py_spy``, py-spy samples it and its lmms-eval subprocess into ``out``.prof.txt (collapsed stacks).
    """
    shutil.rmtree(out, ignore_errors=True)
    spy = [py_spy, "record", "--subprocesses", "--format", "raw", "--rate", "200", "-o", f"{out}.prof.txt", "--"] if py_spy else []
    command = [
        *spy,
        sys.executable,
        "-m",
        "lego_arta",
        "eval",
        "--data",
        str(data),
        "--model",
        model,
        "--model-args",
        model_args,
        "--tasks",
        "lego_arta_state",
        "--limit",
        str(requests),
        "--out",
        str(out),
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "OPENAI_API_KEY": "bench"})


async def _bare(url: str, bodies: list[bytes], concurrency: int) -> None:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(body: bytes) -> None:
            async with gate:
                answer = await client.post(f"{url}/chat/completions", content=body, headers={"Content-Type": "application/json"})
                answer.raise_for_status()

        await asyncio.gather(*(one(body) for body in bodies))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the three clients; each rate is the median")
    parser.add_argument("--py-spy", help="a py-spy executable: sample each harness run (eval-NAME-rROUND.prof.txt in --out)")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    from lego_arta.models.tiny_vlm import build_tiny_vlm

    data = _dataset(out, args.requests)
    model_dir = out / "tiny"
    if not (model_dir / "tiny_vlm.json").is_file():
        build_tiny_vlm(model_dir, seed=0)
    server = start_transformers_serve(model_dir, out / "serve.log")
    rounds: dict[str, list[float]] = {"lego_arta_openai": [], "async_openai": [], "bare": []}
    try:
        with FaultProxy(server.port) as proxy:
            runs = {
                "lego_arta_openai": ("lego_arta_openai", f"concurrency={args.concurrency},logprobs=false"),
                "async_openai": ("async_openai", f"num_cpus={args.concurrency}"),
            }
            harness_bodies: list[bytes] = []
            for round_ in range(args.rounds):
                for name, (model, extra) in runs.items():
                    before = len(proxy.requests())
                    model_args = f"model={model_dir},base_url={proxy.url},{extra}"
                    _eval(data, model, model_args, out / f"eval-{name}-r{round_}", args.requests, args.py_spy)
                    seen = proxy.requests()[before:]
                    assert len(seen) == args.requests and all(s.status == 200 for s in seen), f"{name}: {len(seen)} requests"
                    rounds[name].append(args.requests / _window(seen))
                    harness_bodies = harness_bodies or [s.body for s in seen]
                before = len(proxy.requests())
                asyncio.run(_bare(proxy.url, harness_bodies, args.concurrency))
                rounds["bare"].append(args.requests / _window(proxy.requests()[before:]))
    finally:
        server.stop()
    rates = {name: statistics.median(values) for name, values in rounds.items()}
    result = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "requests_per_s": rates,
        "requests_per_s_each_round": rounds,
        "ratio_lego_arta_openai": rates["lego_arta_openai"] / rates["bare"],
        "ratio_async_openai": rates["async_openai"] / rates["bare"],
        "load_average_1min_at_end": os.getloadavg()[0],
        "target": TARGET_RATIO,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["ratio_lego_arta_openai"] >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
