"""How the work of a function grows with its input, measured so that a busy machine cannot fake growth.

The complexity tests ask "does sixteen times the input cost about sixteen times the work?". Timed
with a wall clock, the answer depends on the neighbours: under ``pytest -n 2`` a short run of the
small input fits between two of the other worker's bursts while the long run of the large input
shares its core, and a linear parser measured 41 times the time for 16 times the rows (19 to 26
alone). So :func:`growth_per_unit` compares windows of equal length and counts only this process's
CPU time:

- the small input is run ``times`` times in a row, so that both windows hold the same amount of
  input and meet the same load;
- ``time.process_time`` does not count the time this process waited for a core;
- the garbage collector is off inside a window (as ``timeit`` does), so a collection that falls in
  one window does not count against it;
- the windows alternate, and the median of the rounds' ratios is returned, so one disturbed round
  does not decide.

Linear work gives about 1; work that grows with the square of the input gives up to ``times``.

>>> growth_per_unit(lambda: sum(range(20_000)), lambda: sum(range(320_000)), times=16) < 4
True
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def cpu_seconds(work: Callable[[], object]) -> float:
    """This process's CPU seconds for one call of ``work``, with the garbage collector off."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.process_time()
        work()
        return time.process_time() - started
    finally:
        if enabled:
            gc.enable()


def growth_per_unit(small: Callable[[], object], large: Callable[[], object], *, times: int, rounds: int = 3) -> float:
    """The median over ``rounds`` of CPU(``large``) / CPU(``small`` run ``times`` times), where ``large``
    holds ``times`` the input of ``small``: about 1 for linear work, about ``times`` for quadratic."""
    ratios = []
    for _ in range(rounds):
        many = cpu_seconds(lambda: [small() for _ in range(times)])
        one = cpu_seconds(large)
        ratios.append(one / max(many, 1e-9))
    return statistics.median(ratios)
