"""``lego-arta build``: raw manuals → annotated pairs → one self-contained, atomically written folder.

The folder holds the Hub layout (Parquet per config and split + dataset card), LLaVA conversations
and ``manifest.json`` (recipe, seed, counts, skips with reasons, a checksum per file). The
``datasets`` loading script (``lego_arta.py``) calls :func:`build_pairs` too: one implementation.
"""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow
from tqdm import tqdm

from lego_arta import __version__
from lego_arta.annotate.grounding import Grounder, make_grounder
from lego_arta.atomic import atomic_directory, atomic_write_text
from lego_arta.build.card import render_card
from lego_arta.build.export import LlavaWriter, ShardedParquetWriter, file_checksums
from lego_arta.build.features import config_features
from lego_arta.build.pairs import ManualPairs, build_manual_pairs
from lego_arta.build.recipe import BuildRecipe
from lego_arta.build.splits import SPLITS, split_manuals
from lego_arta.manual import Manual, ManualSet, load_manuals
from lego_arta.source.synth.generator import SynthConfig, synthesize

MANIFEST = "manifest.json"
README = "README.md"


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, dict[str, int]]
    skips: Counter[str] = field(default_factory=Counter)
    manifest: dict[str, Any] = field(default_factory=dict)


def default_raw_dir(recipe: BuildRecipe, out: Path) -> Path:
    """Where a synthetic recipe's raw manuals are cached: beside the build, keyed by what shapes them."""
    s = recipe.source
    return out.parent / ".lego-arta-raw" / f"{recipe.name}-m{s.manuals}-s{s.seed}-{s.width}x{s.height}"


def resolve_raw(recipe: BuildRecipe, out: Path, raw: Path | None = None, *, workers: int = 1, progress: bool = True) -> Path:
    """The raw-manuals folder of a recipe, generating synthetic manuals once if they are not there."""
    if raw is not None:
        return Path(raw)
    if recipe.source.kind == "raw":
        return Path(recipe.source.path or "")
    folder = default_raw_dir(recipe, out)
    s = recipe.source
    marker = folder / "synth.json"
    if marker.is_file():
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        if (recorded["manuals"], recorded["seed"], recorded["width"], recorded["height"]) == (s.manuals, s.seed, s.width, s.height):
            return folder
    synthesize(folder, SynthConfig(manuals=s.manuals, seed=s.seed, width=s.width, height=s.height), workers=workers, overwrite=True, progress=progress)
    return folder


_WORKER_GROUNDER: dict[str, Grounder] = {}


def _grounder(spec: str, raw_root: str) -> Grounder:
    key = f"{spec}|{raw_root}"
    if key not in _WORKER_GROUNDER:
        _WORKER_GROUNDER[key] = make_grounder(spec)
    return _WORKER_GROUNDER[key]


def _pairs_job(job: tuple[Manual, BuildRecipe, str]) -> ManualPairs:
    manual, recipe, raw_root = job
    return build_manual_pairs(manual, recipe, _grounder(recipe.grounder, raw_root))


def build_pairs(manuals: Sequence[Manual], recipe: BuildRecipe, *, workers: int = 1, progress: bool = True) -> Iterator[ManualPairs]:
    """Pairs of every manual, in the manuals' order (also with several worker processes)."""
    jobs = [(manual, recipe, str(manual.folder.parent)) for manual in manuals]
    bar = tqdm(total=len(jobs), desc="building pairs", unit="manual", disable=not progress)
    try:
        if workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for pairs in pool.map(_pairs_job, jobs):
                    bar.update()
                    yield pairs
        else:
            for job in jobs:
                pairs = _pairs_job(job)
                bar.update()
                yield pairs
    finally:
        bar.close()


def _manifest(recipe: BuildRecipe, manuals: ManualSet, splits: dict[str, str], counts: dict[str, dict[str, int]],
              skips: Counter[str], per_manual: dict[str, dict[str, int]], units: dict[str, int]) -> dict[str, Any]:
    return {
        "lego_arta_version": __version__,
        "datasets_version": datasets.__version__,
        "pyarrow_version": pyarrow.__version__,
        "python": platform.python_version(),
        "recipe": recipe.to_dict(),
        "seed": recipe.seed,
        "manuals": {m.manual_id: splits[m.manual_id] for m in manuals},
        "counts": counts,
        "units": units,
        "skips": dict(sorted(skips.items())),
        "skips_per_manual": per_manual,
        "parse_skips": [str(skip) for skip in manuals.skips],
    }


def build(recipe: BuildRecipe, out: Path, *, raw: Path | None = None, workers: int = 1, overwrite: bool = False,
          progress: bool = True, strict: bool = False) -> BuildResult:
    """Build every configured task into ``out`` (written atomically: all or nothing)."""
    out = Path(out)
    raw_dir = resolve_raw(recipe, out, raw, workers=workers, progress=progress)
    manuals = load_manuals(raw_dir, strict=strict)
    if not len(manuals):
        raise ValueError(f"{raw_dir}: no readable manuals ({len(manuals.skips)} skipped)")
    splits = split_manuals([m.manual_id for m in manuals], test_fraction=recipe.test_fraction, seed=recipe.seed)
    skips: Counter[str] = Counter({f"parse: {k}": v for k, v in manuals.skip_counts().items()})
    per_manual: dict[str, dict[str, int]] = {}
    units: Counter[str] = Counter()
    with atomic_directory(out, overwrite=overwrite) as tmp:
        writers = {(c, s): ShardedParquetWriter(tmp, c, s, config_features(c)) for c in recipe.configs for s in SPLITS}
        llava = LlavaWriter(tmp)
        for pairs in build_pairs(manuals, recipe, workers=workers, progress=progress):
            split = splits[pairs.manual_id]
            for config in recipe.configs:
                rows = pairs.rows.get(config, [])
                writers[config, split].write(rows)
                llava.write(config, split, rows)
                units[config] += len({(r["session"], r["step_num"]) for r in rows})
            skips.update(pairs.skips)
            if pairs.skips:
                per_manual[pairs.manual_id] = dict(sorted(pairs.skips.items()))
        for writer in writers.values():
            writer.close()
        llava.close()
        counts = {c: {s: writers[c, s].rows for s in SPLITS} for c in recipe.configs}
        num_bytes = {c: {s: writers[c, s].num_bytes for s in SPLITS} for c in recipe.configs}
        card = render_card(recipe, counts, num_bytes, units, skips, load_path=recipe.hub_repo)
        atomic_write_text(tmp / README, card)
        manifest = _manifest(recipe, manuals, splits, counts, skips, per_manual, dict(units))
        manifest["files"] = file_checksums(tmp)
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return BuildResult(out=out, counts=counts, skips=skips, manifest=manifest)
