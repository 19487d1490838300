"""``lego-arta build``: raw manuals → annotated pairs → one self-contained, atomically written folder.

The folder holds the Hub layout (Parquet per config and split + dataset card) and
``manifest.json`` (recipe, seed, counts, skips with reasons, a checksum per file). The
``datasets`` loading script (``lego_arta.py``) calls :func:`read_and_split` and :func:`build_pairs`
too: one implementation. :func:`build` is the driver: each manual's job
(:func:`~lego_arta.dataset.jobs.stage_manual`) is handed the manual's folder, reads its page,
writes its rows into the staging area and hands back a record; the driver keeps the books and
moves the files into place. It takes one of two routes to the same files: vote, split, then make
each manual's pairs for its split; or, when every task has both splits, vote inside each pair job
(one decode of every image) and split after the last job, which only decides the names the files
are moved to.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import platform
import shutil
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import datasets
import pyarrow
from tqdm import tqdm

from lego_arta import __version__
from lego_arta.annotate.boundary import BoundaryVote
from lego_arta.atomic import atomic_directory, atomic_write_text, check_output_folder, output_lock, refuse_overlap
from lego_arta.dataset.benchmark import BENCHMARK_VERSION, VERSION_KEY, recipe_digest
from lego_arta.dataset.card import render_card, task_notes
from lego_arta.dataset.costs import JobCost, RunStats
from lego_arta.dataset.export import EmptySplitError, content_fingerprint, file_checksums
from lego_arta.dataset.jobs import (
    FolderVotesJob,
    PairsJob,
    StageJob,
    VotesJob,
    folder_size,
    folder_votes_job,
    job_size,
    pairs_job,
    stage_manual,
    votes_job,
)
from lego_arta.dataset.layout import BUILD_OUTPUT, MANIFEST, README, shard_name
from lego_arta.dataset.pairs import ManualPairs, manual_strata
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.dataset.splits import SPLITS, split_manuals
from lego_arta.dataset.staging import ManualRecord, Staging, StagingError, build_key, staging_url
from lego_arta.executor import Executor, LocalExecutor
from lego_arta.parse.manual import Manual, ManualSet, Skip, load_manuals, manual_folders, skip_counts
from lego_arta.png import ENCODER
from lego_arta.source.synth.generator import SYNTH_RECORD, SynthConfig, synthesize
from lego_arta.tasks import get_task


@dataclass
class BuildResult:
    """What a build wrote: ``counts`` of the configs written; ``absent`` the configs left out, with their empty splits."""

    out: Path
    counts: dict[str, dict[str, int]]
    skips: Counter[str] = field(default_factory=Counter)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: What the run cost (:class:`RunStats`); not in the manifest, which holds no run facts.
    stats: dict[str, Any] = field(default_factory=dict)
    absent: dict[str, list[str]] = field(default_factory=dict)


def default_raw_dir(recipe: BuildRecipe, out: Path) -> Path:
    """Where a synthetic recipe's raw manuals are cached: beside the build, keyed by what shapes them."""
    s = recipe.source
    return out.parent / ".lego-arta-raw" / f"{recipe.name}-m{s.manuals}-s{s.seed}-{s.width}x{s.height}"


def raw_location(recipe: BuildRecipe, out: Path, raw: Path | None = None) -> Path:
    """Where a build reads its raw manuals from (``--raw``, the recipe's folder or the synthetic cache), without generating them."""
    if raw is not None:
        return Path(raw)
    if recipe.source.kind == "raw":
        return Path(recipe.source.path or "")
    return default_raw_dir(recipe, out)


def resolve_raw(
    recipe: BuildRecipe, out: Path, raw: Path | None = None, *, workers: int = 1, progress: bool = True, executor: Executor | None = None
) -> Path:
    """The raw-manuals folder of a recipe, generating synthetic manuals once if they are not there
    (or were written by another PNG encoder: their scene images would not be this one's bytes)."""
    folder = raw_location(recipe, out, raw)
    if raw is not None or recipe.source.kind == "raw":
        return folder
    s = recipe.source
    with output_lock(folder, wait=True):  # a cache several builds share: the second waits for the first's synthesis
        if _synthesized(folder) == (s.manuals, s.seed, s.width, s.height, ENCODER):  # another encoder wrote other bytes
            return folder
        synthesize(
            folder,
            SynthConfig(manuals=s.manuals, seed=s.seed, width=s.width, height=s.height),
            workers=workers,
            overwrite=True,
            progress=progress,
            executor=executor,
        )
    return folder


def _synthesized(folder: Path) -> tuple[Any, ...] | None:
    """What the synthetic cache ``folder`` holds (manuals, seed, width, height, encoder), or None when
    it holds nothing usable: a missing or corrupt ``synth.json`` means "synthesize again", not a traceback."""
    marker = folder / SYNTH_RECORD
    try:
        recorded = json.loads(marker.read_bytes())
        return (recorded["manuals"], recorded["seed"], recorded["width"], recorded["height"], recorded.get("png_encoder"))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def build_pairs(
    manuals: Sequence[Manual],
    recipe: BuildRecipe,
    *,
    workers: int = 1,
    progress: bool = True,
    strict: bool = False,
    splits: Mapping[str, str] | None = None,
    votes: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
) -> Iterator[ManualPairs]:
    """Pairs of every manual, in the manuals' order (also with several workers, on any executor).

    With ``splits`` (manual id → split), a task makes no pairs for a manual in a split it does not
    have (an evaluation-only variant makes none for train manuals). ``votes`` (manual id → its
    sessions' boundary votes, from :func:`read_and_split`) spares voting a second time.
    ``executor`` runs the manuals (default: ``workers`` local processes).
    """
    jobs = [
        PairsJob(
            manual,
            recipe,
            str(manual.folder.parent),
            strict,
            splits.get(manual.manual_id) if splits else None,
            (votes or {}).get(manual.manual_id),
        )
        for manual in manuals
    ]
    executor = executor or LocalExecutor(workers)
    bar = tqdm(total=len(jobs), desc="building pairs", unit="manual", disable=not progress)
    try:
        for pairs in executor.map(pairs_job, jobs, cost=job_size):
            bar.update()
            yield pairs
    finally:
        bar.close()


def _relative_to_raw(text: str, raw_dir: Path) -> str:
    """``text`` with the raw folder's location removed: the manifest holds no machine-specific paths."""
    return text.replace(f"{raw_dir}{os.sep}", "").replace(str(raw_dir), ".")


@dataclass
class BuildTally:
    """Everything a build counts while it reads manuals, in one place; the manifest is made from it.

    The build, the card and :class:`BuildResult` read the same tally, so a skip counted once shows
    up in all of them. It starts from the readable manuals' ids, their splits and what reading
    skipped, and takes each manual's :class:`ManualPairs` (or its job's record) in turn:

    >>> tally = BuildTally.start(["m1"], [Skip("m2", "unreadable manual: no table")], {"m1": "train"}, Path("raw"))
    >>> tally.add(ManualPairs("m1", rows={"scene": [{"session": "a", "step_num": 1}] * 2},
    ...                       skips=Counter({"scene: no step image": 1})), ("scene", "state"))
    >>> dict(tally.skips), dict(tally.units), tally.skips_per_manual
    ({'parse: unreadable manual': 1, 'scene: no step image': 1}, {'scene': 1, 'state': 0}, {'m1': {'scene: no step image': 1}})
    """

    #: Manual id → split, in the order the manuals were read.
    manuals: dict[str, str] = field(default_factory=dict)
    #: What was skipped while reading the manuals, with paths relative to the raw folder.
    parse_skips: list[str] = field(default_factory=list)
    #: Skips per reason over the whole build (``parse: …`` and ``<config>: …``).
    skips: Counter[str] = field(default_factory=Counter)
    #: Manual id → its own skips per reason (manuals without skips are left out).
    skips_per_manual: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Manual id → undecodable image file → the decoder's reason.
    image_errors: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Config → distinct (session, step) units its rows come from.
    units: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, manual_ids: Sequence[str], skips: Sequence[Skip], splits: Mapping[str, str] | None, raw_dir: Path) -> BuildTally:
        """The tally before any pairs: the readable manuals' splits, in reading order, and what
        parsing skipped (``splits`` is None when the split is made after the pairs;
        :meth:`assign_splits` records it then)."""
        tally = cls(
            parse_skips=[_relative_to_raw(str(skip), raw_dir) for skip in skips],
            skips=Counter({f"parse: {k}": v for k, v in skip_counts(skips).items()}),
        )
        if splits is not None:
            tally.assign_splits(manual_ids, splits)
        return tally

    def assign_splits(self, manual_ids: Sequence[str], splits: Mapping[str, str]) -> None:
        """Record each manual's split, in the order the manuals were read."""
        self.manuals = {manual_id: splits[manual_id] for manual_id in manual_ids}

    def add(self, pairs: ManualPairs, configs: Sequence[str]) -> None:
        """Count one manual's pairs: its units per config (0 included), skips and image errors."""
        units = {config: len({(r["session"], r["step_num"]) for r in pairs.rows.get(config, [])}) for config in configs}
        self._count(pairs.manual_id, units, pairs.skips, pairs.image_errors)

    def add_record(self, record: ManualRecord, configs: Sequence[str]) -> None:
        """Count one manual from what its job recorded (the rows stayed in the worker's files)."""
        self._count(record.manual_id, {config: record.units.get(config, 0) for config in configs}, record.skips, record.image_errors)

    def _count(self, manual_id: str, units: Mapping[str, int], skips: Mapping[str, int], image_errors: Mapping[str, str]) -> None:
        self.units.update(units)
        self.skips.update(skips)
        if skips:
            self.skips_per_manual[manual_id] = dict(sorted(skips.items()))
        if image_errors:
            self.image_errors[manual_id] = dict(sorted(image_errors.items()))

    def manifest(self, recipe: BuildRecipe, counts: dict[str, dict[str, int]], fingerprints: dict[str, str]) -> dict[str, Any]:
        """Everything that shaped the build, and nothing that differs between two runs of it (no times, no paths)."""
        return {
            "lego_arta_version": __version__,
            VERSION_KEY: BENCHMARK_VERSION,
            "recipe_digest": recipe_digest(recipe.to_dict()),
            "datasets_version": datasets.__version__,
            "pyarrow_version": pyarrow.__version__,
            "python": platform.python_version(),
            "recipe": recipe.to_dict(),
            "seed": recipe.seed,
            "manuals": self.manuals,
            "counts": counts,
            "units": dict(self.units),
            "skips": dict(sorted(self.skips.items())),
            "skips_per_manual": self.skips_per_manual,
            "parse_skips": self.parse_skips,
            "image_errors": self.image_errors,
            "fingerprints": fingerprints,
            "task_notes": task_notes(recipe),
        }


def _check_splits(splits: dict[str, str], raw_dir: Path) -> None:
    """Refuse early when a split would get no manual at all (every config would be empty there)."""
    missing = [split for split in SPLITS if split not in splits.values()]
    if missing:
        raise EmptySplitError(
            f"{raw_dir}: {len(splits)} readable manual(s) leave split(s) {missing} without any manual; "
            "a build needs at least 2 manuals (one for train, one for test)"
        )


class SplitManuals(NamedTuple):
    """The readable manuals, the split of each, and each manual's boundary votes (what stratified
    the split); ``vote_costs`` is what each manual's vote cost, for the run's stats."""

    manuals: ManualSet
    splits: dict[str, str]
    votes: dict[str, dict[str, BoundaryVote | None]]
    vote_costs: dict[str, JobCost]


def _check_readable(raw_dir: Path, readable: int, skipped: int) -> None:
    """Refuse a raw folder without a readable manual (every config would be empty)."""
    if not readable:
        raise ValueError(f"{raw_dir}: no readable manuals ({skipped} skipped)")


def _readable_manuals(raw_dir: Path, *, strict: bool, executor: Executor) -> ManualSet:
    """The manuals of ``raw_dir`` that parse; raises when there is none (every config would be empty)."""
    manuals = load_manuals(raw_dir, strict=strict, executor=executor)
    _check_readable(raw_dir, len(manuals), len(manuals.skips))
    return manuals


def read_and_split(raw_dir: Path, recipe: BuildRecipe, *, strict: bool = False, executor: Executor | None = None) -> SplitManuals:
    """The readable manuals of ``raw_dir``, the split of each (manual id → ``train``/``test``) and
    their sessions' boundary votes.

    The split is stratified by highlight (:func:`~lego_arta.dataset.pairs.manual_strata`), so the
    state task gets a highlighted manual in both splits whenever two exist. Raises when no manual
    is readable or a split would get none: every config would be empty there.
    """
    executor = executor or LocalExecutor(1)
    manuals = _readable_manuals(raw_dir, strict=strict, executor=executor)
    found = list(executor.map(votes_job, [VotesJob(manual, recipe) for manual in manuals], cost=job_size))
    votes = {manual.manual_id: vote for manual, (vote, _) in zip(manuals, found)}
    strata = {manual: manual_strata(vote) for manual, vote in votes.items()}
    splits = split_manuals([m.manual_id for m in manuals], test_fraction=recipe.test_fraction, seed=recipe.seed, strata=strata)
    _check_splits(splits, raw_dir)
    return SplitManuals(manuals, splits, votes, {manual.manual_id: cost for manual, (_, cost) in zip(manuals, found)})


def empty_splits(counts: dict[str, dict[str, int]]) -> dict[str, list[str]]:
    """Config → its splits without rows, for the configs that have such a split.

    >>> empty_splits({"scene": {"train": 5, "test": 2}, "state": {"train": 4, "test": 0}})
    {'state': ['test']}
    """
    empty = {config: [split for split, rows in per_split.items() if not rows] for config, per_split in counts.items()}
    return {config: found for config, found in empty.items() if found}


def _check_rows(counts: dict[str, dict[str, int]], splits: dict[str, str], skips: Counter[str]) -> None:
    """Refuse a build with an empty (config, split) among ``counts``: ``datasets`` cannot load it, and a benchmark needs both."""
    empty = [f"{config}/{split}" for config, found in empty_splits(counts).items() for split in found]
    if empty:
        held = {split: sorted(m for m, s in splits.items() if s == split) for split in SPLITS}
        reasons = "; ".join(f"{n} × {reason}" for reason, n in sorted(skips.items())) or "none"
        raise EmptySplitError(
            f"no rows for {', '.join(empty)} (datasets cannot load an empty split). Manuals per split: {held}. "
            f"Skips: {reasons}. Build more manuals (--manuals) or another --seed."
        )


class _Receiving:
    """An executor whose results are weighed as they reach the driver: the pickled bytes of each
    (what a process pool or Ray hands over; the same figure with one in-process worker)."""

    def __init__(self, executor: Executor) -> None:
        self.inner, self.name, self.workers = executor, executor.name, executor.workers
        self.received_bytes = 0

    def map(self, fn: Callable[[Any], Any], jobs: Sequence[Any], *, cost: Callable[[Any], float] | None = None) -> Iterator[Any]:
        for result in self.inner.map(fn, jobs, cost=cost):
            self.received_bytes += len(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            yield result


def _build_key(recipe: BuildRecipe, raw_dir: Path, *, strict: bool, exclude: Collection[str] | None) -> str:
    """What a staged manual's files depend on: the recipe, the raw folder, the flags that change
    rows, and the versions that write them (a resume with anything else builds afresh)."""
    return build_key(
        {
            "recipe": recipe.to_dict(),
            "raw": str(raw_dir.resolve()),
            "strict": strict,
            "exclude": None if exclude is None else sorted(set(exclude)),
            "lego_arta": __version__,
            "datasets": datasets.__version__,
            "pyarrow": pyarrow.__version__,
            "png": ENCODER,
        }
    )


def open_staging(url: str, key: str, *, resume: bool, overwrite: bool) -> tuple[Staging, dict[str, ManualRecord]]:
    """The build's staging area and the manuals already complete in it (``resume``).

    A staging area left by a killed build is reused only with ``resume``, and only when it names
    this build (the same :func:`_build_key`); ``overwrite`` cleans one that names any build (the
    marker proves it is a build's own leftover). Otherwise it is refused, named, so nothing is
    lost or mixed silently.
    """
    if not Staging.exists(url):
        return Staging.create(url, key=key), {}
    found = Staging.open(url)
    if resume and found.key == key:
        return found, found.complete_records()
    if resume:
        raise StagingError(
            f"{url}: left by a build of another recipe, raw folder or version; rerun it with --overwrite to discard it, or remove it"
        )
    if overwrite:
        found.remove()
        return Staging.create(url, key=key), {}
    raise StagingError(
        f"{url}: left by an interrupted build; rerun the same command with --resume to reuse its finished "
        "manuals, or with --overwrite to discard it"
    )


def _stage(
    folders: Sequence[Path],
    recipe: BuildRecipe,
    staging: Staging,
    done: dict[str, ManualRecord],
    run: RunStats,
    executor: Executor,
    *,
    strict: bool,
    exclude: Collection[str] | None,
    progress: bool,
    splits: Mapping[str, str] | None = None,
    votes: Mapping[str, Any] | None = None,
) -> dict[str, ManualRecord]:
    """Every manual folder's record: the ones ``done`` holds, and the others from jobs that read the
    folder and write its rows into ``staging`` (voting themselves without ``splits``). A job is
    handed the folder's path, never its parsed page, and hands back the record only."""
    frozen = None if exclude is None else frozenset(exclude)
    jobs = [
        StageJob(
            folder,
            recipe,
            strict,
            staging,
            splits is None,
            None if splits is None else splits[folder.name],
            None if votes is None else votes.get(folder.name),
            frozen,
        )
        for folder in folders
        if folder.name not in done
    ]
    records = dict(done)
    bar = tqdm(total=len(folders), initial=len(folders) - len(jobs), desc="building pairs", unit="manual", disable=not progress)
    try:
        for record, cost in executor.map(stage_manual, jobs, cost=folder_size):
            bar.update()
            records[record.manual_id] = record
            run.add(cost)
    finally:
        bar.close()
    return records


def _lay_out(
    tmp: Path,
    staging: Staging,
    records: Mapping[str, ManualRecord],
    manual_ids: Sequence[str],
    splits: Mapping[str, str],
    configs: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Move each manual's staged files into ``tmp`` as ``<config>/<split>-NNNNN-of-NNNNN.parquet``,
    numbered in the manuals' order within each split: renames only, no row is read. Returns the
    moved files' checksums as the workers recorded them."""
    checksums: dict[str, dict[str, Any]] = {}
    for config in configs:
        for split in SPLITS:
            staged = [records[m].files[config] for m in manual_ids if splits[m] == split and config in records[m].files]
            if staged:
                (tmp / config).mkdir(parents=True, exist_ok=True)
            for index, found in enumerate(staged):
                name = f"{config}/{shard_name(split, index, len(staged))}"
                _move(staging.local_path(found.name), tmp / name)
                checksums[name] = {"sha256": found.sha256, "bytes": found.bytes}
    return checksums


def _move(source: Path, target: Path) -> None:
    """A rename; a copy only when ``--staging`` is on another filesystem than ``--out`` (renames cannot cross)."""
    try:
        os.replace(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.move(source, target)


def build(
    recipe: BuildRecipe,
    out: Path,
    *,
    raw: Path | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    strict: bool = False,
    exclude: Collection[str] | None = None,
    executor: Executor | None = None,
    resume: bool = False,
    staging: str | None = None,
) -> BuildResult:
    """Build every configured task into ``out`` (written atomically: all or nothing).

    Unreadable manuals, rows and images are counted skips in the manifest, card and result, or
    with ``strict`` an error naming the file. ``out`` may not overlap the raw folder, and
    ``overwrite`` replaces only an earlier build (a folder whose :data:`MANIFEST` names ``lego-arta build``). A config with
    a split without rows (state from manuals without highlights) is left out, and named in the
    summary, the card and the manifest (``absent_configs``); with ``strict``, or when the recipe's
    ``require`` names it, it is an :class:`EmptySplitError`, and nothing is written. So is a build
    where every config is empty. Rows whose id is in ``exclude`` are left out and counted in the
    manifest under ``removed_by_qa``. ``executor`` runs the per-manual work (synthesis and pairs;
    default: ``workers`` local processes); the output is the same on every executor.

    Workers write the rows (:func:`~lego_arta.dataset.jobs.stage_manual`) into the staging area
    (``staging``, an fsspec URL of a folder this machine can rename from; default
    :func:`~lego_arta.dataset.staging.staging_url` beside ``out``); the driver receives only
    their records, then writes the card and manifest and moves the files into the Hub layout. A
    killed build leaves the staging area: ``resume`` reuses its finished manuals (see
    :func:`open_staging`).

    Each image is stored once, in the Parquet shards; ``lego-arta export llava`` writes the LLaVA
    layout from them when fine-tuning needs it (:func:`lego_arta.dataset.export.export_llava`).
    """
    out = Path(out)
    with output_lock(out):  # one writer per --out, for the whole run
        return _build(
            recipe,
            out,
            raw=raw,
            workers=workers,
            overwrite=overwrite,
            progress=progress,
            strict=strict,
            exclude=exclude,
            executor=executor,
            resume=resume,
            staging=staging,
        )


def _build(
    recipe: BuildRecipe,
    out: Path,
    *,
    raw: Path | None,
    workers: int,
    overwrite: bool,
    progress: bool,
    strict: bool,
    exclude: Collection[str] | None,
    executor: Executor | None,
    resume: bool,
    staging: str | None,
) -> BuildResult:
    receiving = _Receiving(executor or LocalExecutor(workers))
    refuse_overlap(out, raw_location(recipe, out, raw))
    check_output_folder(out, overwrite=overwrite, owner=BUILD_OUTPUT)  # before any synthesis
    raw_dir = resolve_raw(recipe, out, raw, workers=receiving.workers, progress=progress, executor=receiving.inner)
    start, driver_cpu = time.perf_counter(), time.process_time()
    run = RunStats(executor=receiving.name, workers=receiving.workers)
    url = staging or staging_url(out)
    area, done = open_staging(url, _build_key(recipe, raw_dir, strict=strict, exclude=exclude), resume=resume, overwrite=overwrite)
    try:
        result = _build_staged(
            recipe, out, raw_dir, area, done, run, receiving, overwrite=overwrite, strict=strict, exclude=exclude, progress=progress
        )
    except Exception:
        area.remove()  # a build that failed (an error, not a kill) leaves nothing to resume: its error names the cause
        raise
    area.remove()
    run.driver_cpu_s = time.process_time() - driver_cpu - run.in_process_cpu_s
    run.driver_received_bytes = receiving.received_bytes
    result.stats = run.summary(wall_s=time.perf_counter() - start, pairs=sum(sum(c.values()) for c in result.counts.values()))
    return result


class Staged(NamedTuple):
    """The manuals a build staged: the readable ones' ids in reading order, what reading skipped,
    each manual's split and each folder's record."""

    ids: list[str]
    skips: list[Skip]
    splits: dict[str, str]
    records: dict[str, ManualRecord]


def _stage_then_split(
    folders: Sequence[Path],
    recipe: BuildRecipe,
    raw_dir: Path,
    area: Staging,
    done: dict[str, ManualRecord],
    run: RunStats,
    executor: Executor,
    **options: Any,
) -> Staged:
    """Every task has both splits: each job reads its folder and votes itself (one decode of every
    image), and the split follows the votes, deciding only the names the files are moved to."""
    records = _stage(folders, recipe, area, done, run, executor, **options)
    read = [records[folder.name] for folder in folders]
    ids = [record.manual_id for record in read if record.readable]
    skips = [skip for record in read for skip in record.parse_skips]
    _check_readable(raw_dir, len(ids), len(skips))
    strata = {manual_id: manual_strata(records[manual_id].votes or {}) for manual_id in ids}
    splits = split_manuals(ids, test_fraction=recipe.test_fraction, seed=recipe.seed, strata=strata)
    _check_splits(splits, raw_dir)
    return Staged(ids, skips, splits, records)


def _split_then_stage(
    folders: Sequence[Path],
    recipe: BuildRecipe,
    raw_dir: Path,
    area: Staging,
    done: dict[str, ManualRecord],
    run: RunStats,
    executor: Executor,
    **options: Any,
) -> Staged:
    """A task lacks a split (an evaluation-only variant): jobs read the folders and vote, the split
    is made, then each readable manual's job reads its folder again and makes its pairs for its
    split (a page is read twice, so no parsed page travels to the driver and back)."""
    found = list(
        executor.map(folder_votes_job, [FolderVotesJob(folder, recipe, options["strict"]) for folder in folders], cost=folder_size)
    )
    for voted in found:
        run.add_vote(voted.cost)
    ids = [voted.manual_id for voted in found if voted.readable]
    skips = [skip for voted in found for skip in voted.parse_skips]
    _check_readable(raw_dir, len(ids), len(skips))
    votes = {voted.manual_id: voted.votes for voted in found if voted.readable}
    splits = split_manuals(ids, test_fraction=recipe.test_fraction, seed=recipe.seed, strata={m: manual_strata(votes[m]) for m in ids})
    _check_splits(splits, raw_dir)
    readable = set(ids)
    records = _stage([f for f in folders if f.name in readable], recipe, area, done, run, executor, splits=splits, votes=votes, **options)
    return Staged(ids, skips, splits, records)


def _build_staged(
    recipe: BuildRecipe,
    out: Path,
    raw_dir: Path,
    area: Staging,
    done: dict[str, ManualRecord],
    run: RunStats,
    receiving: _Receiving,
    *,
    overwrite: bool,
    strict: bool,
    exclude: Collection[str] | None,
    progress: bool,
) -> BuildResult:
    """The build after its staging area is open: rows staged by the jobs, the books kept here, the layout moved into place."""
    config_splits = {c: tuple(s for s in SPLITS if s in get_task(c).splits) for c in recipe.configs}
    options = {"strict": strict, "exclude": exclude, "progress": progress}
    folders = manual_folders(raw_dir)
    if all(split in config_splits[c] for c in recipe.configs for split in SPLITS):
        ids, skips, splits, records = _stage_then_split(folders, recipe, raw_dir, area, done, run, receiving, **options)
    else:
        ids, skips, splits, records = _split_then_stage(folders, recipe, raw_dir, area, done, run, receiving, **options)
    tally = BuildTally.start(ids, skips, splits, raw_dir)
    removed: Counter[str] = Counter()
    for manual_id in ids:
        record = records[manual_id]
        tally.add_record(record, recipe.configs)
        removed.update({f"{config}/{splits[manual_id]}": n for config, n in record.removed.items()})
    all_counts = {c: {s: 0 for s in config_splits[c]} for c in recipe.configs}
    num_bytes = {c: {s: 0 for s in config_splits[c]} for c in recipe.configs}
    for manual_id in ids:
        for config, staged in records[manual_id].files.items():
            all_counts[config][splits[manual_id]] += staged.rows
            num_bytes[config][splits[manual_id]] += staged.nbytes
    absent = empty_splits(all_counts)
    required = set(recipe.configs) if strict or len(absent) == len(recipe.configs) else set(recipe.require)
    _check_rows({c: all_counts[c] for c in recipe.configs if c in required}, splits, tally.skips)
    written = [c for c in recipe.configs if c not in absent]
    counts = {c: all_counts[c] for c in written}
    with atomic_directory(out, overwrite=overwrite, owner=BUILD_OUTPUT) as tmp:
        data_files = _lay_out(tmp, area, records, ids, splits, written)
        fingerprints = {c: content_fingerprint(data_files, f"{c}/") for c in written}
        card = render_card(
            recipe,
            counts,
            {c: num_bytes[c] for c in written},
            tally.units,
            tally.skips,
            load_path=recipe.hub_repo,
            fingerprints=fingerprints,
            manuals=len(ids),
            absent=absent,
        )
        atomic_write_text(tmp / README, card)
        manifest = BUILD_OUTPUT.stamp(tally.manifest(recipe, counts, fingerprints))
        manifest["absent_configs"] = {c: {"empty_splits": absent[c], "rows": all_counts[c]} for c in absent}
        if exclude is not None:
            manifest["removed_by_qa"] = {
                "excluded_ids": len(set(exclude)),
                "removed": sum(removed.values()),
                "per_split": dict(sorted(removed.items())),
            }
        # The workers hashed the data files; the card is the only file the driver wrote.
        manifest["files"] = dict(sorted({**data_files, **file_checksums(tmp, only=[README])}.items()))
        manifest_text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
        atomic_write_text(tmp / MANIFEST, manifest_text)
    run.output_bytes = sum(f["bytes"] for f in manifest["files"].values()) + len(manifest_text.encode("utf-8"))
    return BuildResult(out=out, counts=counts, skips=tally.skips, manifest=manifest, absent=absent)
