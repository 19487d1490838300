"""What runs in a worker: one manual's votes, its pairs, and (for ``lego-arta build``) its rows written to the staging area.

Every job is a module-level function of one :class:`~typing.NamedTuple` (picklable for process
pools and Ray), measured by a :class:`~lego_arta.dataset.costs.JobMeter` whose clocks its image
work is charged to. :func:`stage_manual` is the build's job: it reads the manual's page, makes its
pairs, leaves out the rows quality assurance flagged and repeated ids, writes each config's rows
as one Parquet file into the build's :class:`~lego_arta.dataset.staging.Staging` and hands back
only a :class:`~lego_arta.dataset.staging.ManualRecord` (names, counts, checksums, votes, what
reading skipped): neither the rows nor the parsed page travel to the driver, which sends a
folder's path and receives metadata. :func:`folder_votes_job` is its counterpart for a build
whose split comes before the pairs. :func:`pairs_job` hands the rows back instead, for the
``datasets`` loading script, which builds in its own process.

>>> pairs = ManualPairs("m1", rows={"state": [{"id": "a"}, {"id": "b"}], "state_syn": [{"id": "b-syn"}]})
>>> drop_excluded(pairs, {"b"}), pairs.rows
(Counter({'state': 1, 'state_syn': 1}), {'state': [{'id': 'a'}], 'state_syn': []})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any, NamedTuple

from lego_arta.annotate.boundary import BoundaryVote
from lego_arta.annotate.grounding import Grounder, make_grounder
from lego_arta.dataset.costs import JobCost, JobMeter
from lego_arta.dataset.export import encode_rows
from lego_arta.dataset.pairs import ManualPairs, build_manual_pairs, session_votes, vote_and_build_pairs
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.dataset.staging import ManualRecord, Staging, manual_key
from lego_arta.parse.manual import Manual, Skip, read_folder
from lego_arta.source.layout import page_path
from lego_arta.tasks import get_task
from lego_arta.tasks.synonym_variants import SUFFIX as SYNONYM_SUFFIX

_WORKER_GROUNDER: dict[str, Grounder] = {}


def _grounder(spec: str, raw_root: str) -> Grounder:
    """The recipe's grounder, made once per worker process (a model-backed one loads weights)."""
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


class VotesJob(NamedTuple):
    """One manual's sessions' votes, before its pairs (a build whose split comes first)."""

    manual: Manual
    recipe: BuildRecipe


class FolderVotesJob(NamedTuple):
    """One manual folder of a build whose split comes first: read it and vote (nothing parsed goes back)."""

    folder: Path
    recipe: BuildRecipe
    strict: bool


class FolderVotes(NamedTuple):
    """A manual folder's votes, whether it was readable, what reading it skipped, and what it cost."""

    manual_id: str
    readable: bool
    parse_skips: list[Skip]
    votes: dict[str, BoundaryVote | None]
    cost: JobCost


class StageJob(NamedTuple):
    """One manual of ``lego-arta build``: its folder read and its pairs written into ``staging``.

    ``vote`` says the job votes itself (every task has both splits, so the split waits for all
    votes); otherwise ``split`` and ``votes`` come from the votes made before. ``exclude`` holds
    the ids quality assurance flagged (``None``: no list given). The job carries the folder, not
    the parsed manual: the driver never holds a manual's rows.
    """

    folder: Path
    recipe: BuildRecipe
    strict: bool
    staging: Staging
    vote: bool
    split: str | None = None
    votes: dict[str, BoundaryVote | None] | None = None
    exclude: frozenset[str] | None = None


def job_size(job: PairsJob | VotesJob) -> float:
    """A manual's expected cost: its page rows (each an image to decode, most a pair or four)."""
    return float(len(job.manual.rows))


def folder_size(job: StageJob | FolderVotesJob) -> float:
    """A manual folder's expected cost, known without parsing it: the size of its page, which
    grows with its rows (0 for a folder without a page: its job only records the skip).

    >>> folder_size(FolderVotesJob(Path("no/such/manual"), BuildRecipe(), False))
    0.0
    """
    try:
        return float(page_path(job.folder).stat().st_size)
    except OSError:
        return 0.0


def pairs_job(job: PairsJob) -> ManualPairs:
    """A manual's rows of every task, handed back whole (the ``datasets`` loading script's route)."""
    with JobMeter() as meter:
        pairs = build_manual_pairs(
            job.manual,
            job.recipe,
            _grounder(job.recipe.grounder, job.raw_root),
            strict=job.strict,
            split=job.split,
            votes=job.votes,
            clocks=meter.clocks,
        )
    pairs.cost = meter.cost
    return pairs


def votes_job(job: VotesJob) -> tuple[dict[str, BoundaryVote | None], JobCost]:
    """A manual's sessions' boundary votes, and what they cost."""
    with JobMeter() as meter:
        votes = session_votes(job.manual, job.recipe, clocks=meter.clocks)
    assert meter.cost is not None
    return votes, meter.cost


def folder_votes_job(job: FolderVotesJob) -> FolderVotes:
    """A manual folder read and its sessions' boundary votes made (none for an unreadable one)."""
    with JobMeter() as meter:
        manual, skips = read_folder(job.folder, strict=job.strict)
        votes = {} if manual is None else session_votes(manual, job.recipe, clocks=meter.clocks)
    assert meter.cost is not None
    return FolderVotes(job.folder.name, manual is not None, skips, votes, meter.cost)


def stage_manual(job: StageJob) -> tuple[ManualRecord, JobCost]:
    """The build's job for one manual folder: its page read, its rows written as one file per config,
    its record written last (so a resumed build trusts only finished manuals), and the record and
    its cost handed back. An unreadable manual's record holds only what reading it skipped."""
    with JobMeter() as meter:
        manual, skips = read_folder(job.folder, strict=job.strict)
        if manual is None:
            record = ManualRecord(job.folder.name, readable=False)
        else:
            grounder = _grounder(job.recipe.grounder, str(job.folder.parent))
            if job.vote:
                pairs = vote_and_build_pairs(manual, job.recipe, grounder, strict=job.strict, clocks=meter.clocks)
            else:
                pairs = build_manual_pairs(
                    manual, job.recipe, grounder, strict=job.strict, split=job.split, votes=job.votes, clocks=meter.clocks
                )
            record = write_rows(pairs, job.recipe.configs, job.staging, strict=job.strict, exclude=job.exclude)
        record.parse_skips = skips
        job.staging.write_record(record)
    assert meter.cost is not None
    return record, meter.cost


def write_rows(
    pairs: ManualPairs, configs: Collection[str], staging: Staging, *, strict: bool, exclude: Collection[str] | None
) -> ManualRecord:
    """A manual's rows into ``staging``, one file per config with rows: flagged rows left out,
    repeated ids skipped (ids hash the manual's id, so a repeat can only come from this manual),
    units counted. The record of what was written."""
    removed = drop_excluded(pairs, exclude) if exclude is not None else Counter()
    record = ManualRecord(pairs.manual_id, removed={c: n for c, n in removed.items() if n}, votes=pairs.votes)
    stem = manual_key(pairs.manual_id)
    for config in configs:
        record.units[config] = len({(r["session"], r["step_num"]) for r in pairs.rows.get(config, [])})
        kept = unique_rows(pairs, config, set(), strict=strict)
        if kept:
            record.files[config] = staging.write_table(config, stem, encode_rows(get_task(config).all_features(), kept))
    record.skips = dict(sorted(pairs.skips.items()))
    record.image_errors = dict(sorted(pairs.image_errors.items()))
    return record


class DuplicateIdError(ValueError):
    """Two rows of one config with one id (``--strict``); the message names the manual and the id."""


def unique_rows(pairs: ManualPairs, config: str, seen: set[str], *, strict: bool = False) -> list[dict[str, Any]]:
    """A manual's rows of ``config`` whose id is not in ``seen``; a repeated id is a counted skip
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


def drop_excluded(pairs: ManualPairs, exclude: Collection[str]) -> Counter[str]:
    """Remove the rows whose id is in ``exclude`` from ``pairs``; the count removed per config.

    ``exclude`` holds pair ids quality assurance flagged (``lego-arta qa score`` → flagged.json).
    A synonym variant (``<id>-syn``) shares its original's image and answer, so it goes too.
    """
    removed: Counter[str] = Counter()
    for config, rows in pairs.rows.items():
        kept = [row for row in rows if row["id"] not in exclude and row["id"].removesuffix(SYNONYM_SUFFIX) not in exclude]
        removed[config] += len(rows) - len(kept)
        pairs.rows[config] = kept
    return removed
