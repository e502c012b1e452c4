"""What one submission may use, and how the limits are enforced on its kernel.

:class:`Limits` is the instructor's budget for one notebook. The limits hold for the **whole
sandbox**, the kernel and every process it starts:

* memory (including files in the sandbox's private ``/tmp``, which live in memory) and the
  number of processes, with a control group where this machine lets us create one
  (:class:`Cgroup`, cgroup v2 or v1), else by a watchdog that sums the process tree's resident
  memory and counts its processes twice a second (:func:`process_tree`);
* address space per process (a single runaway allocation fails with ``MemoryError`` in the cell
  instead of killing the kernel), file size, no core files (:mod:`curriculum.grading.launch`);
* disk: the sandbox's writable space is a size-limited tmpfs; the few host files a kernel can
  write (its connection folder) are measured by the watchdog;
* CPU threads: one BLAS/OpenMP thread per kernel unless the instructor asks for more, and
  OpenMP threads that sleep instead of spinning while they wait (:func:`threads_per_kernel`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one submitted notebook may use.

    Attributes
    ----------
    cell_timeout : float
        CPU seconds a cell may use before it is interrupted (and fails), unless the course's
        notebook declares more for it (:func:`curriculum.grading.clock.cell_budget`).
    wall_factor : float
        A cell that waits is stopped after this many times its budget on the wall clock.
    wall_limit : float
        Seconds the whole notebook may run; the kernel is stopped after that.
    memory_mb : int
        Memory of the sandbox in MiB, all processes and the private ``/tmp`` together; also the
        address-space limit of each process (0: none).
    output_limit_mb : float
        Output kept in the graded notebook; beyond it outputs are truncated (grading goes on).
    disk_mb : int
        Writable space of the sandbox (its private ``/tmp``), and the largest file a kernel may
        write anywhere.
    max_processes : int
        Processes and threads the sandbox may run at once.
    message_mb : float
        Largest single message a kernel may send to the grader; larger ones are dropped before
        they are read.
    output_wait : float
        Seconds to wait for a cell's last outputs after its reply (they may come late on a busy
        machine). A message above `message_mb` breaks the output stream, so its cell costs this
        long before the stream is restored.
    threads : int
        BLAS/OpenMP threads per kernel (0: the grader's choice, see :func:`threads_per_kernel`).
    """

    cell_timeout: float = 60.0
    wall_factor: float = 4.0
    wall_limit: float = 600.0
    memory_mb: int = 8192
    output_limit_mb: float = 10.0
    disk_mb: int = 1024
    max_processes: int = 512
    message_mb: float = 64.0
    output_wait: float = 30.0
    threads: int = 0

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "wall_factor", "wall_limit", "output_limit_mb", "message_mb",
                     "output_wait"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("memory_mb", "threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("disk_mb", "max_processes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")

    @property
    def output_bytes(self) -> int:
        """The output budget in bytes."""
        return int(self.output_limit_mb * MB)

    @property
    def message_bytes(self) -> int:
        """The largest message in bytes: at least twice the output budget."""
        return int(max(self.message_mb * MB, 2 * self.output_bytes))


def threads_per_kernel(limits: Limits, workers: int) -> int:
    """BLAS/OpenMP threads for each grading kernel: one, unless the instructor sets more.

    Measured on the 2-core machine this course is built on (HistGradientBoosting, 60k rows):
    quiet, 2 threads fit in 0.6 s and 1 thread in 0.7 s; with four other busy processes, 2
    threads took 6.0 s (2.4 s with ``OMP_WAIT_POLICY=PASSIVE``) and 1 thread 1.9 s. A grade
    must not depend on the machine's load, and the course's notebooks gain little from a second
    thread, so every kernel gets one. ``Limits.threads`` wins when set, capped so that
    workers × threads ≤ cores.
    """
    if not limits.threads:
        return 1
    cores = os.cpu_count() or 1
    return max(1, min(limits.threads, cores // max(1, workers) or 1))


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that cap the numeric libraries' thread pools."""
    value = str(threads)
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_MAX_THREADS")
    # waiting OpenMP threads sleep instead of spinning: spinning threads fight other processes
    # for the cores and a busy machine then slows a fit several times over
    passive = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
    return {name: value for name in (*names, "VECLIB_MAXIMUM_THREADS")} | passive


# -- control groups -----------------------------------------------------------------------------


def _own_cgroups() -> dict[str, str]:
    """The cgroup path of this process per controller ('' for the cgroup v2 hierarchy)."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            out[controller] = parts[2]
    return out


class Cgroup:
    """A control group for one sandbox: memory (tmpfs included) and process limits.

    Created under this process's own cgroup (so it nests inside a container's limits) in the
    unified hierarchy (v2) when it delegates ``memory`` and ``pids``, else in the v1 ``memory``
    and ``pids`` hierarchies. :meth:`create` returns None where neither is writable.
    """

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs, self.version = dirs, version

    @classmethod
    def create(cls, memory_mb: int, max_processes: int) -> Cgroup | None:
        """A new cgroup with these limits, or None where this machine does not allow one."""
        name = f"mlsd-{uuid.uuid4().hex[:12]}"
        own = _own_cgroups()
        for attempt in (cls._create_v2, cls._create_v1):
            try:
                group = attempt(own, name, memory_mb, max_processes)
            except OSError:
                group = None
            if group is not None:
                return group
        return None

    @classmethod
    def _create_v2(cls, own: dict, name: str, memory_mb: int, max_processes: int):
        if "" not in own or not (cls.ROOT / "cgroup.controllers").exists():
            return None
        parent = cls.ROOT / own[""].lstrip("/")
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(enabled):
            return None
        path = parent / name
        path.mkdir()
        group = cls([path], 2)
        try:
            if memory_mb:
                (path / "memory.max").write_text(str(memory_mb * MB))
                with contextlib.suppress(OSError):
                    (path / "memory.swap.max").write_text("0")
            (path / "pids.max").write_text(str(max_processes))
        except OSError:
            group.remove()
            return None
        return group

    @classmethod
    def _create_v1(cls, own: dict, name: str, memory_mb: int, max_processes: int):
        memory_root, pids_root = cls.ROOT / "memory", cls.ROOT / "pids"
        if "memory" not in own or "pids" not in own or not memory_root.is_dir():
            return None
        memory = memory_root / own["memory"].lstrip("/") / name
        pids = pids_root / own["pids"].lstrip("/") / name
        memory.mkdir()
        group = cls([memory], 1)
        try:
            pids.mkdir()
            group.dirs.append(pids)
            if memory_mb:
                (memory / "memory.limit_in_bytes").write_text(str(memory_mb * MB))
            (pids / "pids.max").write_text(str(max_processes))
        except OSError:
            group.remove()
            return None
        return group

    def procs_files(self) -> list[str]:
        """The files a process writes its pid to in order to join (all hierarchies)."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def oom_killed(self) -> bool:
        """Whether the memory limit was hit (a process was killed or an allocation refused)."""
        counters = self._memory_counters()
        if counters.get("oom_kill", 0) > 0:
            return True
        if self.version == 2:
            return counters.get("max", 0) > 0
        try:
            return int((self.dirs[0] / "memory.failcnt").read_text().strip() or 0) > 0
        except (OSError, ValueError):
            return False

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer stopped in this group (0 if unknown).

        Unlike :meth:`oom_killed` this ignores reclaimed page cache, which an honest notebook
        that reads large files may also cause.
        """
        return self._memory_counters().get("oom_kill", 0)

    def _memory_counters(self) -> dict[str, int]:
        """The memory controller's event counters; empty when unreadable.

        ``memory.events`` on v2 (``max``, ``oom_kill``), ``memory.oom_control`` on v1
        (``oom_kill``).
        """
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            lines = (self.dirs[0] / name).read_text().splitlines()
        except OSError:
            return {}
        pairs = (line.split() for line in lines)
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}

    def pids(self) -> list[int]:
        """The processes in the group now."""
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
        return sorted(found)

    def kill_all(self) -> None:
        """SIGKILL every process of the group."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.dirs[0] / "cgroup.kill").write_text("1")
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """Kill what is left and delete the group."""
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


# -- the watchdog's view of a process tree (where no cgroup is available) ----------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the fields follow the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def resident_bytes(pids: list[int]) -> int:
    """Summed resident memory of `pids`."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
    return total


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under `folder` (not following links)."""
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    return total
