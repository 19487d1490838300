"""``lego-arta build``: raw manuals → annotated pairs → one self-contained, atomically written folder.

The folder holds the Hub layout (Parquet per config and split + dataset card) and
``manifest.json`` (recipe, seed, counts, skips with reasons, a checksum per file). The
``datasets`` loading script (``lego_arta.py``) calls :func:`read_and_split` and :func:`build_pairs`
too: one implementation. :func:`build` takes one of two routes to the same rows: vote, split,
then stream each manual's pairs into its split's shards; or, when every task has both splits,
vote inside each pair job (one decode of every image) and split afterwards (:func:`_vote_with_pairs`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import datasets
import pyarrow
from tqdm import tqdm

from lego_arta import __version__
from lego_arta.annotate.boundary import BoundaryVote
from lego_arta.annotate.grounding import Grounder, make_grounder
from lego_arta.atomic import atomic_directory, atomic_write_text, check_output_folder, output_lock, refuse_overlap
from lego_arta.dataset.benchmark import BENCHMARK_VERSION, VERSION_KEY, recipe_digest
from lego_arta.dataset.card import render_card, task_notes
from lego_arta.dataset.export import (EmptySplitError, ManualTables, ShardedParquetWriter, content_fingerprint, encode_rows,
                                      file_checksums)
from lego_arta.dataset.layout import BUILD_OUTPUT, MANIFEST, README
from lego_arta.dataset.costs import JobCost, JobMeter, RunStats
from lego_arta.dataset.pairs import ManualPairs, build_manual_pairs, manual_strata, session_votes, vote_and_build_pairs
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.executor import Executor, LocalExecutor
from lego_arta.dataset.splits import SPLITS, split_manuals
from lego_arta.parse.manual import Manual, ManualSet, load_manuals
from lego_arta.png import ENCODER
from lego_arta.source.synth.generator import SYNTH_RECORD, SynthConfig, synthesize
from lego_arta.tasks import get_task
from lego_arta.tasks.synonym_variants import SUFFIX as SYNONYM_SUFFIX


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


def resolve_raw(recipe: BuildRecipe, out: Path, raw: Path | None = None, *, workers: int = 1, progress: bool = True,
                executor: Executor | None = None) -> Path:  # fmt: skip
    """The raw-manuals folder of a recipe, generating synthetic manuals once if they are not there
    (or were written by another PNG encoder: their scene images would not be this one's bytes)."""
    folder = raw_location(recipe, out, raw)
    if raw is not None or recipe.source.kind == "raw":
        return folder
    s = recipe.source
    with output_lock(folder, wait=True):  # a cache several builds share: the second waits for the first's synthesis
        if _synthesized(folder) == (s.manuals, s.seed, s.width, s.height, ENCODER):  # another encoder wrote other bytes
            return folder
        synthesize(folder, SynthConfig(manuals=s.manuals, seed=s.seed, width=s.width, height=s.height), workers=workers,
                   overwrite=True, progress=progress, executor=executor)  # fmt: skip
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


_WORKER_GROUNDER: dict[str, Grounder] = {}


def _grounder(spec: str, raw_root: str) -> Grounder:
    key = f"{spec}|{raw_root}"
    if key not in _WORKER_GROUNDER:
        _WORKER_GROUNDER[key] = make_grounder(spec)
    return _WORKER_GROUNDER[key]


class PairsJob(NamedTuple):
    """One manual's pair job: the manual, its split and the votes when a split came first (else ``None``)."""

    manual: Manual
    recipe: BuildRecipe
    raw_root: str
    strict: bool
    split: str | None
    votes: dict[str, BoundaryVote | None] | None


class VotingPairsJob(NamedTuple):
    """One manual's votes and pairs in one job (:func:`~lego_arta.dataset.pairs.vote_and_build_pairs`)."""

    manual: Manual
    recipe: BuildRecipe
    raw_root: str
    strict: bool


class VotesJob(NamedTuple):
    """One manual's sessions' votes, before its pairs (a build whose split comes first)."""

    manual: Manual
    recipe: BuildRecipe


def _pairs_job(job: PairsJob) -> ManualPairs:
    with JobMeter() as meter:
        pairs = build_manual_pairs(job.manual, job.recipe, _grounder(job.recipe.grounder, job.raw_root), strict=job.strict,
                                   split=job.split, votes=job.votes, clocks=meter.clocks)  # fmt: skip
    pairs.cost = meter.cost
    return pairs


def _voting_pairs_job(job: VotingPairsJob) -> ManualPairs:
    with JobMeter() as meter:
        pairs = vote_and_build_pairs(job.manual, job.recipe, _grounder(job.recipe.grounder, job.raw_root), strict=job.strict,
                                     clocks=meter.clocks)  # fmt: skip
    pairs.cost = meter.cost
    return pairs


def _job_size(job: PairsJob | VotingPairsJob | VotesJob) -> float:
    """A manual's expected cost: its page rows (each an image to decode, most a pair or four)."""
    return float(len(job.manual.rows))


def build_pairs(manuals: Sequence[Manual], recipe: BuildRecipe, *, workers: int = 1, progress: bool = True,
                strict: bool = False, splits: Mapping[str, str] | None = None, votes: Mapping[str, Any] | None = None,
                executor: Executor | None = None) -> Iterator[ManualPairs]:  # fmt: skip
    """Pairs of every manual, in the manuals' order (also with several workers, on any executor).

    With ``splits`` (manual id → split), a task makes no pairs for a manual in a split it does not
    have (an evaluation-only variant makes none for train manuals). ``votes`` (manual id → its
    sessions' boundary votes, from :func:`read_and_split`) spares voting a second time.
    ``executor`` runs the manuals (default: ``workers`` local processes).
    """
    jobs = [PairsJob(manual, recipe, str(manual.folder.parent), strict, splits.get(manual.manual_id) if splits else None,
                     (votes or {}).get(manual.manual_id)) for manual in manuals]  # fmt: skip
    executor = executor or LocalExecutor(workers)
    bar = tqdm(total=len(jobs), desc="building pairs", unit="manual", disable=not progress)
    try:
        for pairs in executor.map(_pairs_job, jobs, cost=_job_size):
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
    up in all of them. It starts from the parsed manuals (their splits and parse skips) and takes
    each manual's :class:`ManualPairs` in turn:

    >>> from lego_arta.parse.manual import Manual, Skip
    >>> read = ManualSet((Manual("m1", "1", "", Path("raw/m1"), ()),), skips=(Skip("m2", "unreadable manual: no table"),))
    >>> tally = BuildTally.start(read, {"m1": "train"}, Path("raw"))
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
    def start(cls, manuals: ManualSet, splits: Mapping[str, str] | None, raw_dir: Path) -> BuildTally:
        """The tally before any pairs: the manuals' splits and what parsing skipped (``splits`` is
        None when the split is made after the pairs; :meth:`assign_splits` records it then)."""
        tally = cls(
            parse_skips=[_relative_to_raw(str(skip), raw_dir) for skip in manuals.skips],
            skips=Counter({f"parse: {k}": v for k, v in manuals.skip_counts().items()}),
        )
        if splits is not None:
            tally.assign_splits([m.manual_id for m in manuals], splits)
        return tally

    def assign_splits(self, manual_ids: Sequence[str], splits: Mapping[str, str]) -> None:
        """Record each manual's split, in the order the manuals were read."""
        self.manuals = {manual_id: splits[manual_id] for manual_id in manual_ids}

    def add(self, pairs: ManualPairs, configs: Sequence[str]) -> None:
        """Count one manual's pairs: its units per config (0 included), skips and image errors."""
        for config in configs:
            self.units[config] += len({(r["session"], r["step_num"]) for r in pairs.rows.get(config, [])})
        self.skips.update(pairs.skips)
        if pairs.skips:
            self.skips_per_manual[pairs.manual_id] = dict(sorted(pairs.skips.items()))
        if pairs.image_errors:
            self.image_errors[pairs.manual_id] = dict(sorted(pairs.image_errors.items()))

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


def _votes_job(job: VotesJob) -> tuple[dict[str, BoundaryVote | None], JobCost]:
    with JobMeter() as meter:
        votes = session_votes(job.manual, job.recipe, clocks=meter.clocks)
    assert meter.cost is not None
    return votes, meter.cost


def _readable_manuals(raw_dir: Path, *, strict: bool, executor: Executor) -> ManualSet:
    """The manuals of ``raw_dir`` that parse; raises when there is none (every config would be empty)."""
    manuals = load_manuals(raw_dir, strict=strict, executor=executor)
    if not len(manuals):
        raise ValueError(f"{raw_dir}: no readable manuals ({len(manuals.skips)} skipped)")
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
    found = list(executor.map(_votes_job, [VotesJob(manual, recipe) for manual in manuals], cost=_job_size))
    votes = {manual.manual_id: vote for manual, (vote, _) in zip(manuals, found)}
    strata = {manual: manual_strata(vote) for manual, vote in votes.items()}
    splits = split_manuals([m.manual_id for m in manuals], test_fraction=recipe.test_fraction, seed=recipe.seed, strata=strata)
    _check_splits(splits, raw_dir)
    return SplitManuals(manuals, splits, votes, {manual.manual_id: cost for manual, (_, cost) in zip(manuals, found)})


class DuplicateIdError(ValueError):
    """Two rows of one config with one id (``--strict``); the message names the manual and the id."""


def unique_rows(pairs: ManualPairs, config: str, seen: set[str], *, strict: bool = False) -> list[dict[str, Any]]:
    """A manual's rows of ``config`` whose id is new to the build; a repeated id is a counted skip
    (in ``pairs.skips``), or with ``strict`` a :class:`DuplicateIdError`.

    Parsing already drops duplicate page rows; this is the last guard, because ``score`` and
    ``datasets`` users rely on ids being unique and a build must never write two rows with one id.
    """
    kept: list[dict[str, Any]] = []
    for row in pairs.rows.get(config, []):
        if row["id"] in seen:
            if strict:
                raise DuplicateIdError(f"{pairs.manual_id}: {config} row id {row['id']} was already written")
            pairs.skips[f"{config}: duplicate id"] += 1
            continue
        seen.add(row["id"])
        kept.append(row)
    return kept


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


def drop_excluded(pairs: ManualPairs, exclude: Collection[str]) -> Counter[str]:
    """Remove the rows whose id is in ``exclude`` from ``pairs``; the count removed per config.

    ``exclude`` holds pair ids quality assurance flagged (``lego-arta qa score`` → flagged.json).
    A synonym variant (``<id>-syn``) shares its original's image and answer, so it goes too:

    >>> pairs = ManualPairs("m1", rows={"state": [{"id": "a"}, {"id": "b"}], "state_syn": [{"id": "b-syn"}]})
    >>> drop_excluded(pairs, {"b"}), pairs.rows
    (Counter({'state': 1, 'state_syn': 1}), {'state': [{'id': 'a'}], 'state_syn': []})
    """
    removed: Counter[str] = Counter()
    for config, rows in pairs.rows.items():
        kept = [row for row in rows if row["id"] not in exclude and row["id"].removesuffix(SYNONYM_SUFFIX) not in exclude]
        removed[config] += len(rows) - len(kept)
        pairs.rows[config] = kept
    return removed


def _write_manual(pairs: ManualPairs, split: str, writers: Mapping[tuple[str, str], ShardedParquetWriter], seen: dict[str, set[str]],
                  tally: BuildTally, run: RunStats, *, configs: Sequence[str], strict: bool,
                  exclude: Collection[str] | None) -> tuple[Counter[str], dict[str, int]]:  # fmt: skip
    """One manual's result into the build, as both routes take it: rows quality assurance flagged
    dropped, every config's new rows streamed into ``split``'s shards (a config without that split
    has none), its units, skips and costs counted. Returns the rows dropped per config and the
    ``nbytes`` of each config's table as it was encoded (what a re-split cuts shards by)."""
    removed = drop_excluded(pairs, exclude) if exclude is not None else Counter()
    sizes: dict[str, int] = {}
    for config in configs:
        writer = writers.get((config, split))
        if writer is None:
            continue
        kept = unique_rows(pairs, config, seen[config], strict=strict)
        if kept:
            table = encode_rows(writer.features, kept)
            sizes[config] = table.nbytes
            writer.write_table(table)
    tally.add(pairs, configs)
    run.add(pairs.cost)
    return removed, sizes


def _vote_with_pairs(raw_dir: Path, recipe: BuildRecipe, writers: Mapping[tuple[str, str], ShardedParquetWriter], run: RunStats,
                     removed: Counter[str], *, progress: bool, strict: bool, exclude: Collection[str] | None,
                     executor: Executor) -> tuple[ManualSet, dict[str, str], BuildTally]:  # fmt: skip
    """Each manual's votes and pairs in one job (one decode of every image), streamed into the
    shards of the split the votes are expected to give; re-split only when they do not.

    For recipes whose tasks all have both splits: no job needs its manual's split. The split is
    stratified by every manual's votes (:func:`read_and_split`), but stratifying only swaps
    manuals when the seeded split misses a label two manuals carry, so the rows are written where
    the unstratified split puts them while the jobs run. When the votes then ask for swaps, the
    shards are rewritten from what was written (:func:`_resplit`). Rows, ids, skips and their order
    are the ones the two-pass build gives, so the build is the same byte for byte either way.
    """
    manuals = _readable_manuals(raw_dir, strict=strict, executor=executor)
    ids = [m.manual_id for m in manuals]
    # Stratifying only swaps manuals between the splits: a split left empty here stays empty.
    expected = split_manuals(ids, test_fraction=recipe.test_fraction, seed=recipe.seed)
    _check_splits(expected, raw_dir)
    tally = BuildTally.start(manuals, None, raw_dir)
    seen: dict[str, set[str]] = {config: set() for config in recipe.configs}
    strata: dict[str, frozenset[str]] = {}
    excluded: dict[str, Counter[str]] = {}
    sizes: dict[tuple[str, str], int] = {}
    jobs = [VotingPairsJob(manual, recipe, str(manual.folder.parent), strict) for manual in manuals]
    bar = tqdm(total=len(jobs), desc="building pairs", unit="manual", disable=not progress)
    try:
        for pairs in executor.map(_voting_pairs_job, jobs, cost=_job_size):
            bar.update()
            strata[pairs.manual_id] = manual_strata(pairs.votes or {})
            excluded[pairs.manual_id], written = _write_manual(pairs, expected[pairs.manual_id], writers, seen, tally, run,
                                                               configs=recipe.configs, strict=strict, exclude=exclude)  # fmt: skip
            sizes.update({(config, pairs.manual_id): size for config, size in written.items()})
    finally:
        bar.close()
    splits = split_manuals(ids, test_fraction=recipe.test_fraction, seed=recipe.seed, strata=strata)
    tally.assign_splits(ids, splits)
    for manual_id, counts in excluded.items():
        removed.update({f"{config}/{splits[manual_id]}": n for config, n in counts.items() if n})
    if splits != expected:
        _resplit(writers, ids, splits, sizes)
    return manuals, splits, tally


def _resplit(writers: Mapping[tuple[str, str], ShardedParquetWriter], ids: Sequence[str], splits: Mapping[str, str],
             sizes: Mapping[tuple[str, str], int]) -> None:  # fmt: skip
    """Rewrite every config's shards for ``splits``: each manual's rows read back from the shards
    they were streamed into, and written in manual order as streaming them there would have
    (``sizes``, the tables' ``nbytes`` when they were encoded, cut the shards at the same rows)."""
    for config in sorted({config for config, _ in writers}):
        mine = {split: writer for (c, split), writer in writers.items() if c == config}
        taken = [part for writer in mine.values() for part in writer.take_back()]
        try:
            written = ManualTables(taken)
            for manual_id in ids:
                if (config, manual_id) in sizes:
                    mine[splits[manual_id]].write_table(written.table(manual_id), nbytes=sizes[config, manual_id])
        finally:
            for part in taken:
                part.unlink(missing_ok=True)


def build(recipe: BuildRecipe, out: Path, *, raw: Path | None = None, workers: int = 1, overwrite: bool = False,
          progress: bool = True, strict: bool = False, exclude: Collection[str] | None = None,
          executor: Executor | None = None) -> BuildResult:  # fmt: skip
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

    Each image is stored once, in the Parquet shards; ``lego-arta export llava`` writes the LLaVA
    layout from them when fine-tuning needs it (:func:`lego_arta.dataset.export.export_llava`).
    """
    out = Path(out)
    with output_lock(out):  # one writer per --out, for the whole run
        return _build(recipe, out, raw=raw, workers=workers, overwrite=overwrite, progress=progress, strict=strict, exclude=exclude,
                      executor=executor)  # fmt: skip


def _build(recipe: BuildRecipe, out: Path, *, raw: Path | None, workers: int, overwrite: bool, progress: bool, strict: bool,
           exclude: Collection[str] | None, executor: Executor | None) -> BuildResult:  # fmt: skip
    executor = executor or LocalExecutor(workers)
    refuse_overlap(out, raw_location(recipe, out, raw))
    check_output_folder(out, overwrite=overwrite, owner=BUILD_OUTPUT)  # before any synthesis
    raw_dir = resolve_raw(recipe, out, raw, workers=executor.workers, progress=progress, executor=executor)
    start, driver_cpu = time.perf_counter(), time.process_time()
    run = RunStats(executor=executor.name, workers=executor.workers)
    config_splits = {c: tuple(s for s in SPLITS if s in get_task(c).splits) for c in recipe.configs}
    removed: Counter[str] = Counter()
    with atomic_directory(out, overwrite=overwrite, owner=BUILD_OUTPUT) as tmp:
        writers = {(c, s): ShardedParquetWriter(tmp, c, s, get_task(c).all_features()) for c in recipe.configs for s in config_splits[c]}
        if all(split in config_splits[c] for c in recipe.configs for split in SPLITS):
            manuals, splits, tally = _vote_with_pairs(raw_dir, recipe, writers, run, removed, progress=progress,
                                                      strict=strict, exclude=exclude, executor=executor)  # fmt: skip
        else:
            manuals, splits, votes, vote_costs = read_and_split(raw_dir, recipe, strict=strict, executor=executor)
            tally = BuildTally.start(manuals, splits, raw_dir)
            for cost in vote_costs.values():
                run.add_vote(cost)
            seen: dict[str, set[str]] = {config: set() for config in recipe.configs}
            for pairs in build_pairs(manuals, recipe, progress=progress, strict=strict, splits=splits, votes=votes, executor=executor):
                split = splits[pairs.manual_id]
                dropped, _ = _write_manual(pairs, split, writers, seen, tally, run, configs=recipe.configs, strict=strict, exclude=exclude)
                removed.update({f"{config}/{split}": n for config, n in dropped.items() if n})
        all_counts = {c: {s: writers[c, s].rows for s in config_splits[c]} for c in recipe.configs}
        absent = empty_splits(all_counts)
        required = set(recipe.configs) if strict or len(absent) == len(recipe.configs) else set(recipe.require)
        _check_rows({c: all_counts[c] for c in recipe.configs if c in required}, splits, tally.skips)
        for (config, _), writer in writers.items():
            writer.discard() if config in absent else writer.close()
        written = [c for c in recipe.configs if c not in absent]
        counts = {c: all_counts[c] for c in written}
        num_bytes = {c: {s: writers[c, s].num_bytes for s in config_splits[c]} for c in written}
        data_files = file_checksums(tmp)
        fingerprints = {c: content_fingerprint(data_files, f"{c}/") for c in written}
        card = render_card(recipe, counts, num_bytes, tally.units, tally.skips, load_path=recipe.hub_repo,
                           fingerprints=fingerprints, manuals=len(manuals), absent=absent)
        atomic_write_text(tmp / README, card)
        manifest = BUILD_OUTPUT.stamp(tally.manifest(recipe, counts, fingerprints))
        manifest["absent_configs"] = {c: {"empty_splits": absent[c], "rows": all_counts[c]} for c in absent}
        if exclude is not None:
            manifest["removed_by_qa"] = {"excluded_ids": len(set(exclude)), "removed": sum(removed.values()), "per_split": dict(sorted(removed.items()))}
        # The data files were hashed once above; the card is the only file written since.
        manifest["files"] = dict(sorted({**data_files, **file_checksums(tmp, only=[README])}.items()))
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    run.driver_cpu_s = time.process_time() - driver_cpu - run.in_process_cpu_s
    stats = run.summary(wall_s=time.perf_counter() - start, pairs=sum(sum(c.values()) for c in counts.values()))
    return BuildResult(out=out, counts=counts, skips=tally.skips, manifest=manifest, stats=stats, absent=absent)
