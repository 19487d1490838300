"""Where per-manual work runs: this machine's processes (the default) or a Ray cluster.

Synthesis and pair building are a pure function per manual (a manual's output depends only on
the manual, the recipe and the seed), so they are handed to an :class:`Executor` that maps a
module-level function over jobs and yields the results **in job order**, whatever finishes first.
That order is what makes a build byte-identical with any executor and any worker count.

``local`` runs the jobs in ``workers`` processes (in this process with one worker); ``ray`` runs
them as Ray tasks on a running cluster (``address``), or on a local Ray instance started for the
run, for corpora that outgrow one machine. Ray is an optional dependency (``pip install
lego-arta[scale]``); it is imported only when asked for.

>>> executor = make_executor("local", workers=1)
>>> list(executor.map(abs, [-2, 3, -1]))
[2, 3, 1]
>>> make_executor("dask", workers=2)
Traceback (most recent call last):
...
ValueError: unknown executor 'dask' (choose one of: local, ray)
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import cv2
from threadpoolctl import threadpool_limits

Job = TypeVar("Job")
Result = TypeVar("Result")

#: Executor names a recipe run may ask for (``--executor``).
EXECUTORS: tuple[str, ...] = ("local", "ray")
#: Ray tasks kept in flight per worker slot: enough to keep every CPU busy while the driver takes
#: results in order, few enough that finished-but-unread results do not pile up in memory.
RAY_TASKS_PER_CPU = 2
#: Jobs ahead of the next result a local run may start, per worker (largest first among them): the
#: results held while an earlier one is still running are at most this many per worker.
LOCAL_WINDOW_PER_WORKER = 3


@contextmanager
def one_thread_per_worker() -> Iterator[None]:
    """Keep the processes started inside the block to one native thread (OpenCV's pool, BLAS, OpenMP).

    The jobs already use every CPU, one process each; OpenCV otherwise starts a thread per core in
    every worker, and with as many workers as cores those threads only compete for the same cores.
    The limit is set here, in the parent, before the workers are forked, and lifted after: a
    forked child must not reconfigure a thread pool whose threads stayed behind in the parent
    (OpenCV then waits for them forever).

    >>> with one_thread_per_worker():
    ...     cv2.getNumThreads()
    1
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        cv2.setNumThreads(previous)


def _one_threaded(fn: Callable[[Job], Result], job: Job) -> Result:
    """A Ray task, limited in its own process: Ray starts its workers, it does not fork them from
    this one, so no thread pool is left behind in a parent."""
    with one_thread_per_worker():
        return fn(job)


class Executor(Protocol):
    """Maps a picklable module-level function over jobs; results come back in job order."""

    name: str
    workers: int

    def map(self, fn: Callable[[Job], Result], jobs: Sequence[Job], *, cost: Callable[[Job], float] | None = None) -> Iterator[Result]:
        """``fn(job)`` for every job, yielded in the order of ``jobs``; ``cost`` (a guess of each
        job's work) lets an executor start the largest first, so no worker is left with a long
        job at the end while the others idle."""


class LocalExecutor:
    """``workers`` processes on this machine (``concurrent.futures``); one worker runs in-process."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers

    def map(self, fn: Callable[[Job], Result], jobs: Sequence[Job], *, cost: Callable[[Job], float] | None = None) -> Iterator[Result]:
        """Jobs start largest first among the next :data:`LOCAL_WINDOW_PER_WORKER` x ``workers`` not
        yet handed back, so no worker is left with a long job at the end, and the results waiting
        for an earlier job stay that few (a whole corpus started largest first would pile up in
        this process while the first job in order is still to come)."""
        if self.workers == 1 or len(jobs) < 2:
            for job in jobs:
                yield fn(job)
            return
        sizes = [cost(job) for job in jobs] if cost is not None else [0.0] * len(jobs)
        window = self.workers * LOCAL_WINDOW_PER_WORKER
        futures: dict[int, Future[Result]] = {}
        with one_thread_per_worker(), ProcessPoolExecutor(max_workers=min(self.workers, len(jobs))) as pool:
            for index in range(len(jobs)):
                while True:
                    # Keep one job queued beyond the busy workers, so the next choice is made late.
                    while sum(not f.done() for f in futures.values()) <= self.workers:
                        ahead = [i for i in range(index, min(len(jobs), index + window)) if i not in futures]
                        if not ahead:
                            break
                        chosen = max(ahead, key=lambda i: (sizes[i], -i))
                        futures[chosen] = pool.submit(fn, jobs[chosen])
                    if index in futures and futures[index].done():
                        break
                    wait([f for f in futures.values() if not f.done()], return_when=FIRST_COMPLETED)
                yield futures.pop(index).result()


class RayExecutor:
    """Ray tasks, one per job, on the cluster at ``address`` (``ray.init(address=...)``).

    Without an address a local Ray instance is started for the run with ``workers`` CPUs (no
    dashboard, on this machine only); with one, the cluster's CPUs are used and ``workers`` only
    bounds how many tasks are in flight. A driver already joined to another cluster leaves it
    for this one (a driver joins one at a time; the same cluster under another spelling of its
    address is rejoined, which costs only the reconnect). Every node must see the raw folder at
    the same path (a shared filesystem); results travel back through Ray's object store.
    """

    name = "ray"

    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.address = address

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as error:
            raise RuntimeError("--executor ray needs Ray: pip install -e '.[scale]' in a clone, or pip install 'ray>=2.40,<3'") from error
        if ray.is_initialized() and self.address and ray.get_runtime_context().gcs_address != self.address:
            ray.shutdown()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
        return ray

    def map(self, fn: Callable[[Job], Result], jobs: Sequence[Job], *, cost: Callable[[Job], float] | None = None) -> Iterator[Result]:
        """Tasks are started in job order (``cost`` is not used), at most a window of them at a
        time, so results waiting for the driver stay few on a large cluster."""
        ray = self._ray()
        remote = ray.remote(num_cpus=1)(_one_threaded)
        window = max(1, self.workers * RAY_TASKS_PER_CPU)
        pending: collections.deque[Any] = collections.deque()
        upcoming = iter(jobs)
        for job in upcoming:
            pending.append(remote.remote(fn, job))
            if len(pending) >= window:
                break
        while pending:
            result = ray.get(pending.popleft())
            for job in upcoming:
                pending.append(remote.remote(fn, job))
                break
            yield result


def make_executor(kind: str = "local", *, workers: int = 1, address: str | None = None) -> Executor:
    """The executor called ``kind`` (one of :data:`EXECUTORS`); ``address`` is Ray's cluster address."""
    if kind == "local":
        if address:
            raise ValueError("--ray-address needs --executor ray")
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"unknown executor {kind!r} (choose one of: {', '.join(EXECUTORS)})")
