"""Executors map per-manual work and give results back in job order, whichever finishes first."""

from __future__ import annotations

import os
import time

import pytest

from lego_arta.executor import LocalExecutor, RayExecutor, make_executor


def _slow_square(job: tuple[int, float]) -> tuple[int, int]:
    """The square of a job's number, after a pause; later jobs finish first, and the worker's pid."""
    number, pause = job
    time.sleep(pause)
    return number * number, os.getpid()


JOBS = [(n, 0.05 * (5 - n)) for n in range(6)]


@pytest.mark.parametrize("workers", [1, 2])
def test_local_results_come_in_job_order(workers: int) -> None:
    results = list(LocalExecutor(workers).map(_slow_square, JOBS))
    assert [square for square, _ in results] == [0, 1, 4, 9, 16, 25]
    pids = {pid for _, pid in results}
    assert (pids == {os.getpid()}) if workers == 1 else (os.getpid() not in pids)


def _started(job: int) -> tuple[int, float]:
    """A job and when it started (``time.monotonic`` is one clock for every process on a machine)."""
    started = time.monotonic()
    time.sleep(0.05)
    return job, started


def test_the_largest_jobs_start_first_and_results_still_come_in_job_order() -> None:
    results = list(LocalExecutor(2).map(_started, list(range(8)), cost=float))
    assert [job for job, _ in results] == list(range(8))
    starts = {job: started for job, started in results}
    assert starts[7] < starts[1] and starts[6] < starts[0], "the costliest jobs are started first"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="workers must be at least 1"):
        LocalExecutor(0)
    with pytest.raises(ValueError, match="needs --executor ray"):
        make_executor("local", workers=2, address="127.0.0.1:6379")
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        make_executor("spark")


@pytest.mark.slow
def test_ray_results_come_in_job_order_from_other_processes(ray_address: str) -> None:
    executor = RayExecutor(workers=2, address=ray_address)
    results = list(executor.map(_slow_square, JOBS))
    assert [square for square, _ in results] == [0, 1, 4, 9, 16, 25]
    assert os.getpid() not in {pid for _, pid in results}
