"""Executors map per-manual work and give results back in job order, whichever finishes first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lego_arta.executor import LOCAL_WINDOW_PER_WORKER, LocalExecutor, RayExecutor, make_executor


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
    window = 2 * LOCAL_WINDOW_PER_WORKER
    results = list(LocalExecutor(2).map(_started, list(range(window)), cost=float))
    assert [job for job, _ in results] == list(range(window))
    starts = {job: started for job, started in results}
    assert starts[window - 1] < starts[1] and starts[window - 2] < starts[0], "the costliest jobs are started first"


def _marked(job: tuple[int, str]) -> int:
    """Leave a mark that the job started, then take a moment (so results can wait in the driver)."""
    number, folder = job
    (Path(folder) / f"started-{number}").touch()
    time.sleep(0.02)
    return number


def test_results_waiting_for_an_earlier_job_stay_within_the_window(tmp_path: Path) -> None:
    """The first job is the cheapest: started largest first over the whole list, every other
    result would wait for it in the driver. Within the window, at most that many are ever ahead."""
    count, window = 24, 2 * LOCAL_WINDOW_PER_WORKER
    jobs = [(n, str(tmp_path)) for n in range(count)]
    seen = []
    for number in LocalExecutor(2).map(_marked, jobs, cost=lambda job: float(job[0])):
        started = len(list(tmp_path.glob("started-*")))
        assert started <= min(count, number + window), (number, started)
        seen.append(number)
    assert seen == list(range(count))


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
