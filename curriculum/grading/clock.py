"""How long a cell may run, measured on the work it does rather than on the machine's load.

A cell's **budget** is CPU seconds: the notebook's own declaration for a cell the course knows
(``"mlsd": {"timeout": 180}`` in the instructor's cell metadata, for a long model cell) or the
course's ``Execute.timeout``. Its kernels' CPU time is read from ``/proc`` (the process trees
of the learner's kernel and, for a test cell, of the examiner), so a cell that did its work
slowly because other processes held the cores is not stopped for it. A **wall-clock
ceiling** (``Limits.wall_factor`` × the budget, 4 by default) still stops a cell that waits on
nothing (a ``sleep``, a lock). When that ceiling stops a cell while the machine was busy — its
kernels spent a large share of the time waiting for a core (``/proc/<pid>/task/*/schedstat``;
where the system keeps no such statistics, the load average exceeded the cores) — the stop is
the machine's fault, not the learner's: the grader retries the cell once and otherwise marks
the notebook *to regrade*.

None of this needs a kernel to test.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from curriculum.grading.limits import process_tree

#: the share of a cell's wall time its kernels spent waiting for a core that marks the machine busy
BUSY_WAIT_SHARE = 0.25


def cell_budget(cell: nbformat.NotebookNode, default: float) -> float:
    """CPU seconds `cell` may use: its ``metadata.mlsd.timeout``, else `default`.

    Only the instructor's metadata reaches the graded notebook (a learner's own cells lose
    theirs when the submission is merged), so a learner cannot give a cell more time.
    """
    mlsd = cell.get("metadata", {}).get("mlsd")
    declared = mlsd.get("timeout") if isinstance(mlsd, dict) else None
    if type(declared) in (int, float) and declared > 0:
        return float(declared)
    return float(default)


def _stat_fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2 :].split()  # the fields after the command name


def tree_pids(roots: Iterable[int]) -> list[int]:
    """Every process of the trees rooted at `roots`."""
    return [pid for root in roots for pid in process_tree(root)]


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds (user + system, waited-for children included) of the processes `pids`."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def waiting_seconds(pids: Iterable[int]) -> float | None:
    """Seconds the threads of the processes `pids` spent runnable but waiting for a core.

    None where the system keeps no scheduler statistics (``/proc/<pid>/task/*/schedstat``).
    """
    total, seen = 0, False
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[1])
                seen = True
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9 if seen else None


def load_average() -> float:
    """The machine's one-minute load average (0 where the system does not say)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


@dataclass
class CellClock:
    """What a cell has used since it started: CPU, wall time, time spent waiting for a core."""

    roots: tuple[int, ...]
    started_wall: float
    started_cpu: float
    started_wait: float | None

    @classmethod
    def start(cls, roots: Iterable[int], now: float) -> CellClock:
        """Start measuring the process trees rooted at `roots` at monotonic time `now`."""
        roots = tuple(roots)
        pids = tree_pids(roots)  # one walk of /proc for both measures
        return cls(roots, now, cpu_seconds(pids), waiting_seconds(pids))

    def reading(self, now: float) -> ClockReading:
        """The cell's use so far."""
        pids = tree_pids(self.roots)
        waited = waiting_seconds(pids)
        return ClockReading(
            cpu=max(0.0, cpu_seconds(pids) - self.started_cpu),
            wall=max(0.0, now - self.started_wall),
            waited=None if waited is None else max(0.0, waited - (self.started_wait or 0.0)),
            load=load_average(),
        )


@dataclass(frozen=True)
class ClockReading:
    """A cell's CPU and wall seconds, its wait for a core, and the machine's load."""

    cpu: float
    wall: float
    waited: float | None  # None: the system keeps no scheduler statistics
    load: float

    @property
    def busy(self) -> bool:
        """Whether the machine, not the cell, made it slow.

        The cell's own kernels waited for a core for a large share of its wall time (a cell
        that sleeps on a busy machine does not wait for a core: that is the cell's doing);
        without scheduler statistics, a load average above the number of cores.
        """
        if self.waited is None:
            return self.load > (os.cpu_count() or 1)
        return self.wall > 0 and self.waited / self.wall >= BUSY_WAIT_SHARE

    def describe(self) -> str:
        """``N s of CPU / M s wall (machine load L)``."""
        return f"{self.cpu:.0f} s of CPU / {self.wall:.0f} s wall (machine load {self.load:.1f})"


@dataclass(frozen=True)
class CellStop:
    """Why the grader stopped a cell, and the message the learner and the instructor read."""

    kind: str  # "cpu": the cell's budget; "wall": the wall-clock ceiling
    reading: ClockReading
    budget: float  # CPU seconds
    wall: float  # the wall-clock ceiling it met

    @property
    def machine(self) -> bool:
        """A stop that says nothing about the learner's code: the busy machine's."""
        return self.kind == "wall" and self.reading.busy

    def message(self) -> str:
        """What the cell's error says (a machine's stop is the last one: it was retried)."""
        used = self.reading.describe()
        if self.kind == "cpu":
            return (
                f"CellTimeoutError: timed out after {used}: the cell may use {self.budget:g} s of "
                "CPU; make it do less work (a smaller model, fewer rows, vectorised code)"
            )
        if not self.machine:
            return (
                f"CellTimeoutError: timed out after {used}: the cell waited without computing "
                f"(sleep, input, a lock?) past the {self.wall:g} s wall-clock limit"
            )
        return (
            f"CellTimeoutError: stopped by the wall clock after {used}: the machine was too busy "
            "to finish it (marked to regrade: grade it again when the machine is quieter); this "
            "says nothing about your code"
        )
