"""Measure the annotate algorithms against the synthetic ground truth, and time them.

On N synthetic manuals (generated here, or an existing folder of raw manuals with ``truth.json``):

* grounding — mean IoU of the OpenCV grounder's boxes against the truth boxes, the share of
  phrases with IoU >= 0.5, and how many phrases it could not place; optionally a zero-shot
  detector (``--transformers MODEL``) the same way;
* boundary colour — accuracy per session (the voted colour equals the truth's, or None for
  unhighlighted sessions), voted from the session's step images as the pipeline does;
* negatives — rejection rate (and reasons) over every highlighted state, and the item mask's
  IoU against the truth label image;
* time per image (per state for negatives) of each algorithm.

    .venv/bin/python benchmarks/bench_annotate.py --manuals 8 --width 512 --height 237
    .venv/bin/python benchmarks/bench_annotate.py --raw path/to/synthetic/raw

Targets (synthetic, 1024x473): grounding mean IoU >= 0.95, boundary accuracy >= 0.95, negatives
rejection <= 10%, each algorithm <= 0.5 s per image on one core.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from lego_arta.annotate.boundary import highlighted_item_mask, session_boundary
from lego_arta.annotate.collage import make_collage
from lego_arta.annotate.colours import to_lab
from lego_arta.annotate.grounding import Grounder, make_grounder, part_phrases
from lego_arta.annotate.negatives import make_negatives
from lego_arta.parse.manual import load_manuals
from lego_arta.source.synth.generator import SynthConfig, synthesize

#: A voted colour counts as right within this CIE Lab distance of the truth; blur leaves no pixel
#: of a thin outline pure, so degraded images get a wider margin.
COLOUR_MATCH_DE = 3.0
DEGRADED_COLOUR_MATCH_DE = 20.0
#: ``--degrade``: the blur (3x3 Gaussian of this sigma, px) and noise (std of 8-bit levels) antialiased renders
#: and recompressed images add, so the numbers do not only reflect the synthetic images' clean pixels.
DEGRADE_BLUR = 0.8
DEGRADE_NOISE = 2.0
#: A box counts as a hit at this IoU.
HIT_IOU = 0.5


def iou(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    """IoU of two half-open pixel boxes; 0 when either is missing."""
    if a is None or b is None:
        return 0.0
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


#: (blur sigma, noise std) applied to every image read; (0, 0) = the images as written.
_DEGRADE: tuple[float, float] = (0.0, 0.0)


def degrade(image: np.ndarray, path: Path, blur: float, noise: float) -> np.ndarray:
    """Blur and add noise seeded by the file name, so every run degrades identically."""
    out = image.astype(np.float32)
    if blur > 0:
        out = cv2.GaussianBlur(out, (3, 3), blur)  # 3x3: mixes neighbours like antialiasing does
    if noise > 0:
        out = out + np.random.default_rng(zlib.crc32(path.name.encode())).normal(0.0, noise, image.shape)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def rgb_image(path: Path) -> np.ndarray:
    image = np.array(Image.open(path).convert("RGB"))
    return degrade(image, path, *_DEGRADE) if any(_DEGRADE) else image


@dataclass
class Timer:
    """Accumulated seconds and calls of one algorithm."""

    seconds: float = 0.0
    calls: int = 0

    def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = function(*args, **kwargs)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return result

    @property
    def per_call(self) -> float:
        return self.seconds / self.calls if self.calls else float("nan")


@dataclass
class Report:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    #: The same figures as numbers, keyed like the rows (``--json``).
    values: dict[str, float] = field(default_factory=dict)

    def add(self, measure: str, value: str, note: str = "", number: float | None = None) -> None:
        self.rows.append((measure, value, note))
        if number is not None:
            self.values[measure] = number

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        value_width = max(len(r[1]) for r in self.rows)
        for measure, value, note in self.rows:
            print(f"{measure:<{width}}  {value:>{value_width}}  {note}")


def bench_grounding(raw: Path, grounder: Grounder, report: Report) -> None:
    truth = make_grounder("truth")
    timer = Timer()
    scores: list[float] = []
    missing = 0
    images = 0
    for manual in load_manuals(raw, strict=True):
        for row in manual.rows:
            if row.step_class != "eop":
                continue
            phrases = [p for line in row.lines for p in part_phrases(line)]
            image = rgb_image(row.image.path)
            expected = truth.ground(row, image, phrases)
            found = timer.run(grounder.ground, row, image, phrases)
            images += 1
            missing += sum(box is None for box in found)
            scores.extend(iou(f, e) for f, e in zip(found, expected, strict=True) if e is not None)
    name = grounder.name
    report.add(
        f"grounding[{name}] mean IoU", f"{np.mean(scores):.4f}", f"{len(scores)} phrases in {images} parts images", float(np.mean(scores))
    )
    report.add(
        f"grounding[{name}] IoU>={HIT_IOU}",
        f"{np.mean(np.array(scores) >= HIT_IOU):.4f}",
        f"{missing} phrases without a box",
        float(np.mean(np.array(scores) >= HIT_IOU)),
    )
    report.add(f"grounding[{name}] time/image", f"{timer.per_call * 1000:.1f} ms", "", timer.per_call * 1000)


def _step_images(folder: Path, session: dict[str, Any]) -> list[np.ndarray]:
    return [rgb_image(folder / "images" / s["step"]["file"]) for s in session["steps"]]


def _same_colour(voted: tuple[int, int, int] | None, truth: tuple[int, int, int] | None) -> bool:
    if voted is None or truth is None:
        return voted is None and truth is None
    tolerance = DEGRADED_COLOUR_MATCH_DE if any(_DEGRADE) else COLOUR_MATCH_DE
    voted_lab, truth_lab = to_lab(np.array([voted, truth], dtype=np.uint8))
    return float(np.linalg.norm(voted_lab - truth_lab)) <= tolerance


def bench_boundary_and_negatives(folders: Sequence[Path], report: Report, seed: int) -> None:
    vote_timer, negative_timer = Timer(), Timer()
    correct = sessions = highlighted = step_images = 0
    made = 0
    rejected: Counter[str] = Counter()
    mask_ious: list[float] = []
    rng = np.random.default_rng(seed)
    for folder in folders:
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        for session in truth["sessions"]:
            steps = _step_images(folder, session)
            step_images += len(steps)
            colour = tuple(session["boundary"]["rgb"]) if session["boundary"] else None
            sessions += 1
            highlighted += colour is not None
            correct += _same_colour(vote_timer.run(session_boundary, steps).bound_color, colour)  # type: ignore[arg-type]
            if colour is None:
                continue
            for index in range(1, len(steps)):
                step = session["steps"][index]
                result = negative_timer.run(make_negatives, steps[index], steps[index - 1], colour, rng)
                made += len(result.negatives)
                rejected.update(result.rejected)
                labels = np.array(Image.open(folder / step["step"]["labels"])).astype(np.int64)
                placed = set(step["placed"])
                wanted = [pos + 1 for pos, idx in enumerate(step["step"]["present"]) if idx in placed]
                true_item = np.isin(labels, wanted)
                mask = highlighted_item_mask(steps[index], colour)  # type: ignore[arg-type]
                union = (mask | true_item).sum()
                if union:
                    mask_ious.append(float((mask & true_item).sum() / union))
    report.add(
        "boundary accuracy (steps only)",
        f"{correct / sessions:.4f}",
        f"{correct}/{sessions} sessions, {highlighted} highlighted",
        correct / sessions,
    )
    report.add(
        "boundary time/step image",
        f"{vote_timer.seconds / max(step_images, 1) * 1000:.1f} ms",
        f"{step_images} images",
        vote_timer.seconds / max(step_images, 1) * 1000,
    )
    total = made + sum(rejected.values())
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items())) or "none"
    report.add(
        "negatives rejection rate",
        f"{sum(rejected.values()) / max(total, 1):.4f}",
        f"{made} made of {total}; {reasons}",
        sum(rejected.values()) / max(total, 1),
    )
    report.add(
        "negatives item mask IoU vs labels",
        f"{np.mean(mask_ious):.4f}",
        f"min {np.min(mask_ious):.3f} over {len(mask_ious)} states",
        float(np.mean(mask_ious)),
    )
    report.add("negatives time/state", f"{negative_timer.per_call * 1000:.1f} ms", "", negative_timer.per_call * 1000)


def bench_collage(folders: Sequence[Path], report: Report) -> None:
    images = [rgb_image(p) for p in sorted((folders[0] / "images").glob("*eop*"))[:4]]
    if len(images) < 4:
        return
    timer = Timer()
    for target in range(4):
        timer.run(make_collage, images, target, (10, 10, 50, 50), size=(images[0].shape[1], images[0].shape[0]))
    report.add("collage time/collage", f"{timer.per_call * 1000:.1f} ms", "", timer.per_call * 1000)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", type=Path, help="existing folder of synthetic raw manuals (with truth.json)")
    parser.add_argument("--manuals", type=int, default=6, help="synthetic manuals to generate (without --raw)")
    parser.add_argument("--seed", type=int, default=11, help="generator seed (and negatives seed)")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=473)
    parser.add_argument("--workers", type=int, default=1, help="processes for generating manuals")
    parser.add_argument("--transformers", metavar="MODEL", help="also bench a zero-shot detector (model id or path)")
    parser.add_argument(
        "--degrade",
        nargs="?",
        const=f"{DEGRADE_BLUR},{DEGRADE_NOISE}",
        metavar="BLUR,NOISE",
        help=f"blur (sigma px) and add noise (std) to every image first; default {DEGRADE_BLUR},{DEGRADE_NOISE}",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here (benchmarks/run_all.py reads it)")
    args = parser.parse_args(argv)
    global _DEGRADE
    if args.degrade:
        blur, noise = (float(v) for v in args.degrade.split(","))
        _DEGRADE = (blur, noise)
    with tempfile.TemporaryDirectory(prefix="bench_annotate_") as tmp:
        raw = args.raw
        if raw is None:
            raw = Path(tmp) / "raw"
            config = SynthConfig(manuals=args.manuals, seed=args.seed, width=args.width, height=args.height)
            start = time.perf_counter()
            synthesize(raw, config, workers=args.workers, progress=False)
            print(
                f"generated {args.manuals} manuals at {args.width}x{args.height} (seed {args.seed}) in {time.perf_counter() - start:.0f} s"
            )
        folders = [p for p in sorted(raw.iterdir()) if (p / "truth.json").is_file()]
        if not folders:
            parser.error(f"{raw}: no manual folder with truth.json")
        report = Report()
        if any(_DEGRADE):
            report.add("images degraded", "yes", f"Gaussian blur sigma {_DEGRADE[0]}, noise std {_DEGRADE[1]}")
        bench_grounding(raw, make_grounder("opencv"), report)
        if args.transformers:
            bench_grounding(raw, make_grounder(f"transformers:{args.transformers}"), report)
        bench_boundary_and_negatives(folders, report, args.seed)
        bench_collage(folders, report)
        report.print()
        if args.json is not None:
            result = {
                "benchmark": "bench_annotate",
                "manuals": len(folders),
                "image_size": f"{args.width}x{args.height}",
                "degraded": list(_DEGRADE) if any(_DEGRADE) else None,
                "figures": report.values,
                "notes": {measure: note for measure, _, note in report.rows if note},
            }
            args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
