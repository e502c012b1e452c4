"""A synthetic background load: CPU-burning processes, bounded in time, for benchmarks and tests.

Each burner runs in a session of its own, as another user's job would: Linux's autogroup
scheduler then gives it a share of the cores of its own, instead of one shared with the process
that started the burners (which would make the load far lighter than its count says).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator


def _burn(seconds: float, started) -> None:
    os.setsid()
    started.set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@contextlib.contextmanager
def background_load(factor: float = 2.0, seconds: float = 600.0) -> Iterator[int]:
    """Run round(`factor` × cores) CPU-burning processes while the block runs.

    Each ends by itself after `seconds` even if the block never returns; all are stopped when
    it ends.

    Yields
    ------
    int
        How many burners run.
    """
    count = max(0, round(factor * (os.cpu_count() or 1)))
    context = multiprocessing.get_context("fork")
    events = [context.Event() for _ in range(count)]
    burners = [context.Process(target=_burn, args=(seconds, e), daemon=True) for e in events]
    for process in burners:
        process.start()
    try:
        if not all(e.wait(30) for e in events):
            raise RuntimeError("the background load did not start")
        yield count
    finally:
        for process in burners:
            process.terminate()
        for process in burners:
            process.join(5)
