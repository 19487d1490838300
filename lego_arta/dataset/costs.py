"""What a build's work costs: each job's :class:`JobCost`, measured with clocks handed to it, summed into :class:`RunStats`.

A job (one manual's votes, or its pairs) gets fresh :class:`JobClocks`; the image cache charges
its PNG encodes and decodes to them, and :class:`JobMeter` adds the job's wall and CPU seconds,
its process's peak memory and which process ran it. Nothing is kept process-wide, so two jobs in
one process (one local worker runs them all in the driver) never read each other's time.

These are run facts for ``build --stats`` and the benchmarks: they differ between runs and never
enter the build's files.

>>> with JobMeter() as meter:
...     with meter.clocks.encode.timing():
...         pass
>>> meter.cost.encodes, meter.cost.wall_s >= 0, meter.cost.worker == os.getpid()
(1, True, True)
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from lego_arta.image import ImageClock


@dataclass
class JobClocks:
    """The clocks one job's image work is charged to: PNG encodes, decodes, and the encodes spared
    (a decoded file embedded as the encoding its record vouches for: only counted)."""

    encode: ImageClock = field(default_factory=ImageClock)
    decode: ImageClock = field(default_factory=ImageClock)
    spared_encodes: int = 0


@dataclass(frozen=True)
class JobCost:
    """What one job cost its worker: seconds, codec work, the process's peak memory so far and its id."""

    wall_s: float
    cpu_s: float
    encode_s: float = 0.0
    encode_cpu_s: float = 0.0
    encodes: int = 0
    encodes_spared: int = 0
    decode_cpu_s: float = 0.0
    decodes: int = 0
    peak_rss_mib: float = 0.0
    #: The process that ran the job (its pid).
    worker: int = 0


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (``getrusage``; Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class JobMeter:
    """Measure the block as one job: fresh :attr:`clocks` to hand to its work, and its :attr:`cost` after."""

    def __init__(self) -> None:
        self.clocks = JobClocks()
        self.cost: JobCost | None = None
        self._start = self._cpu = 0.0

    def __enter__(self) -> JobMeter:
        self._start, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        encode, decode = self.clocks.encode, self.clocks.decode
        self.cost = JobCost(
            wall_s=time.perf_counter() - self._start,
            cpu_s=time.process_time() - self._cpu,
            encode_s=encode.seconds,
            encode_cpu_s=encode.cpu_seconds,
            encodes=encode.images,
            encodes_spared=self.clocks.spared_encodes,
            decode_cpu_s=decode.cpu_seconds,
            decodes=decode.images,
            peak_rss_mib=peak_rss_mib(),
            worker=os.getpid(),
        )


@dataclass
class RunStats:
    """What one build cost, summed from its manuals' :class:`JobCost`.

    ``encode_ratio`` is the issue-15 figure: build wall x workers / (pairs x mean PNG encode time of
    a pair image), both measured in this run; 1.0 would mean the cores did nothing but encode one
    PNG per pair. ``encode_cpu_ratio`` is the same in CPU seconds of the pair jobs (their CPU over
    the encoding CPU per image): on a machine shared with other jobs, wall times stretch unevenly
    and this one stays put. ``all_cpu_ratio`` counts every CPU second of the build: the vote jobs
    that come before the pairs, and the driver's own (reading results, writing the shards).
    ``cpu_shares`` splits the jobs' CPU into PNG encoding, decoding and the rest, so a run shows
    how much of it is codec work no build can avoid. A manual's memory figure is its worker's
    peak so far, so the per-worker peak is the largest over its manuals. ``driver_received_share``
    is what reached the driver from its jobs as a share of the build's bytes, ``driver_cpu_share``
    the driver's CPU as a share of all the build's CPU: the driver keeps the books, the workers
    write the rows, so both stay small however many workers there are.

    >>> stats = RunStats(executor="local", workers=2)
    >>> stats.add(JobCost(wall_s=2.0, cpu_s=1.5, encode_s=0.5, encodes=50, peak_rss_mib=300.0, worker=7))
    >>> stats.summary(wall_s=1.0, pairs=100)["encode_ratio"]
    2.0
    """

    executor: str
    workers: int
    manuals: int = 0
    cpu_s: float = 0.0
    encode_s: float = 0.0
    encode_cpu_s: float = 0.0
    encodes: int = 0
    #: Decoded files embedded as the encoding their record vouches for (no encode; not in ``encodes``).
    encodes_spared: int = 0
    decode_cpu_s: float = 0.0
    decodes: int = 0
    vote_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    #: CPU of the jobs that ran in the driver's own process (one local worker): not the driver's.
    in_process_cpu_s: float = 0.0
    per_manual_wall_s: list[float] = field(default_factory=list)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    #: Pickled bytes of every result the driver received from its jobs (records, votes, parsed manuals).
    driver_received_bytes: int = 0
    #: Bytes of every file of the build.
    output_bytes: int = 0

    def add(self, cost: JobCost | None) -> None:
        """Count one manual's pair job."""
        if cost is None:
            return
        self.manuals += 1
        self.cpu_s += cost.cpu_s
        self.encode_s += cost.encode_s
        self.encode_cpu_s += cost.encode_cpu_s
        self.encodes += cost.encodes
        self.encodes_spared += cost.encodes_spared
        self.per_manual_wall_s.append(cost.wall_s)
        self._count_job(cost)

    def add_vote(self, cost: JobCost) -> None:
        """Count one manual's vote job (its decodes are codec work too; its encodes are none)."""
        self.vote_cpu_s += cost.cpu_s
        self._count_job(cost)

    def _count_job(self, cost: JobCost) -> None:
        """What every job adds, a vote or a pair job: decodes, its process's peak memory, and its CPU
        when it ran in the driver's own process."""
        self.decode_cpu_s += cost.decode_cpu_s
        self.decodes += cost.decodes
        if cost.worker == os.getpid():
            self.in_process_cpu_s += cost.cpu_s
        worker = str(cost.worker)
        self.peak_rss_mib[worker] = max(self.peak_rss_mib.get(worker, 0.0), cost.peak_rss_mib)

    def summary(self, *, wall_s: float, pairs: int) -> dict[str, Any]:
        encode_ms = 1000 * self.encode_s / self.encodes if self.encodes else 0.0
        encode_cpu_ms = 1000 * self.encode_cpu_s / self.encodes if self.encodes else 0.0
        ratio = wall_s * self.workers / (pairs * encode_ms / 1000) if pairs and encode_ms else None
        floor = pairs * encode_cpu_ms / 1000
        cpu_ratio = self.cpu_s / floor if floor else None
        jobs_cpu = self.cpu_s + self.vote_cpu_s
        all_ratio = (jobs_cpu + self.driver_cpu_s) / floor if floor else None
        walls = sorted(self.per_manual_wall_s)
        shares = {"encode": self.encode_cpu_s, "decode": self.decode_cpu_s, "other": jobs_cpu - self.encode_cpu_s - self.decode_cpu_s}
        return {
            "executor": self.executor,
            "workers": self.workers,
            "manuals": self.manuals,
            "pairs": pairs,
            "wall_s": round(wall_s, 3),
            "worker_cpu_s": round(self.cpu_s, 3),
            "vote_cpu_s": round(self.vote_cpu_s, 3),
            "driver_cpu_s": round(self.driver_cpu_s, 3),
            "encodes": self.encodes,
            "encodes_spared": self.encodes_spared,
            "encode_s": round(self.encode_s, 3),
            "encode_ms_per_image": round(encode_ms, 3),
            "decodes": self.decodes,
            "decode_cpu_ms_per_image": round(1000 * self.decode_cpu_s / self.decodes, 3) if self.decodes else 0.0,
            "ms_per_pair_per_worker": round(1000 * wall_s * self.workers / pairs, 3) if pairs else None,
            "encode_ratio": round(ratio, 3) if ratio is not None else None,
            "encode_cpu_ms_per_image": round(encode_cpu_ms, 3),
            "encode_cpu_ratio": round(cpu_ratio, 3) if cpu_ratio is not None else None,
            "all_cpu_ratio": round(all_ratio, 3) if all_ratio is not None else None,
            "cpu_shares": {k: round(v / jobs_cpu, 3) for k, v in shares.items()} if jobs_cpu else {},
            "driver_received_bytes": self.driver_received_bytes,
            "output_bytes": self.output_bytes,
            "driver_received_share": round(self.driver_received_bytes / self.output_bytes, 5) if self.output_bytes else None,
            "driver_cpu_share": round(self.driver_cpu_s / (jobs_cpu + self.driver_cpu_s), 4) if jobs_cpu + self.driver_cpu_s else None,
            "manual_wall_s": {"mean": round(sum(walls) / len(walls), 3), "max": round(walls[-1], 3)} if walls else {},
            "peak_rss_mib_per_worker": {k: round(v, 1) for k, v in sorted(self.peak_rss_mib.items())},
            "peak_rss_mib_max": round(max(self.peak_rss_mib.values()), 1) if self.peak_rss_mib else None,
        }
