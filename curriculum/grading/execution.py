"""Run the notebook to grade: the learner's cells in their kernel, every test in the examiner's.

Two kernels serve one notebook. The learner's runs sandboxed and executes their cells and the
instructor's read-only cells in order; the examiner runs outside the sandbox, starts with the
trusted imports and executes each autograded test cell, asking the learner's kernel for names,
calls and attributes as plain data (:mod:`curriculum.exam`). Before each test cell the learner's
kernel is told to answer; after it, it is let go (or interrupted if it does not return).

What stops a notebook early, always with a reason: the wall-clock limit, a kernel that dies
(out of memory — from the control group or the watchdog —, ``os._exit``...), a kernel that
ignores an interrupt after a timeout, a watchdog limit (disk, memory or processes where no
control group exists). Outputs past the budget are truncated; grading goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import nbformat
from nbclient.exceptions import DeadKernelError

from curriculum.grading import examiner
from curriculum.grading.clock import CellClock, CellStop, cell_budget, load_average
from curriculum.grading.course_config import KERNEL_ARGUMENTS
from curriculum.grading.kernel import (
    TIMEOUT_MESSAGE,
    BudgetedClient,
    GradingKernelManager,
    KernelPlan,
    OutputBudget,
    kernel_manager,
)
from curriculum.grading.limits import (
    MB,
    Cgroup,
    Limits,
    folder_bytes,
    process_tree,
    resident_bytes,
)
from curriculum.grading.merge import grade_id
from curriculum.grading.sandbox import Sandbox


class GradingFailure(Exception):
    """The grader itself could not grade (the examiner did not start): not the learner's fault."""


class _Stop(Exception):
    """Execution must stop: the reason is the message."""


@dataclass
class Run:
    """What executing a notebook produced."""

    replies: dict[int, dict] = field(default_factory=dict)  # cell index → execute reply
    reason: str = ""  # why execution stopped early, if it did
    truncated_mb: float = 0.0  # output dropped beyond the budget
    lost_outputs: int = 0  # cells with a message above the size cap (dropped unread)
    memory_kills: int = 0  # processes the cgroup's OOM killer stopped
    regrade: list[str] = field(default_factory=list)  # stops that were the busy machine's fault
    timings: list[tuple[str, float]] = field(default_factory=list)  # step → seconds

    def timed(self, step: str, start: float) -> None:
        """Record how long `step` took since `start` (``time.monotonic``)."""
        self.timings.append((step, round(time.monotonic() - start, 3)))


@dataclass
class JobFolders:
    """A job's private folders (under a parent no kernel can see)."""

    root: Path

    @property
    def connection(self) -> Path:
        """The learner kernel's connection folder: the one host folder its sandbox writes."""
        return self.root / "conn"

    @property
    def work(self) -> Path:
        """The learner's working folder when there is no sandbox."""
        return self.root / "work"

    @property
    def examiner(self) -> Path:
        """The examiner's connection and working folder (never bound into a sandbox)."""
        return self.root / "examiner"

    @property
    def socket(self) -> str:
        """The examiner's socket, where the learner's kernel connects."""
        return str(self.connection / "exam.sock")

    def make(self) -> JobFolders:
        """Create the folders (private to the grader's user)."""
        for folder in (self.root, self.connection, self.work, self.examiner):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self


async def _until(get, msg_id: str, timeout: float, done=lambda msg: True) -> dict | None:
    """Read messages with `get` until one answering `msg_id` satisfies `done`; None on timeout."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await get(timeout=left)
        except Empty:
            return None
        if msg.get("parent_header", {}).get("msg_id") == msg_id and done(msg):
            return msg
    return None


async def _reply(client: BudgetedClient, msg_id: str, timeout: float) -> dict:
    """The shell reply to `msg_id` (others are skipped); TimeoutError after `timeout`."""
    msg = await _until(client.kc.get_shell_msg, msg_id, timeout)
    if msg is None:
        raise TimeoutError
    return msg.get("content", {})


def _idle(msg: dict) -> bool:
    return msg.get("msg_type") == "status" and msg["content"].get("execution_state") == "idle"


async def _drain(client: BudgetedClient, msg_id: str, timeout: float) -> None:
    """Read (and drop) the output of a silent request until its kernel is idle again."""
    await _until(client.kc.get_iopub_msg, msg_id, timeout, _idle)


async def _silent(client: BudgetedClient, code: str, timeout: float) -> dict:
    msg_id = client.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    reply = await _reply(client, msg_id, timeout)
    await _drain(client, msg_id, 5.0)
    return reply


@dataclass
class _Watch:
    """One attempt at one cell, as its guard sees it."""

    clock: CellClock
    budget: float  # CPU seconds
    wall: float  # wall-clock ceiling in seconds
    examined: bool  # a test cell (run by the examiner)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    stops: list[CellStop] = field(default_factory=list)


class NotebookRun:
    """Executes one merged notebook with a learner kernel and an examiner kernel."""

    def __init__(
        self,
        nb: nbformat.NotebookNode,
        source: nbformat.NotebookNode,
        *,
        limits: Limits,
        sandbox: Sandbox,
        threads: int,
        folders: JobFolders,
    ) -> None:
        self.nb, self.source, self.limits, self.sandbox = nb, source, limits, sandbox
        self.folders, self.threads = folders, threads
        self.run = Run()
        self.budget = OutputBudget(limits.output_bytes)
        self.cgroup: Cgroup | None = None
        self._watch_reason = ""

    # -- kernels --------------------------------------------------------------------------------

    def _client(self, km: GradingKernelManager) -> BudgetedClient:
        limits = self.limits
        return BudgetedClient(
            self.nb,
            km=km,
            timeout=int(max(1, limits.cell_timeout)),
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": "CellTimeoutError",
                "evalue": TIMEOUT_MESSAGE,
                "traceback": [],
            },
            allow_errors=True,
            startup_timeout=120,
            iopub_timeout=limits.output_wait,
            extra_arguments=list(KERNEL_ARGUMENTS),
            budget=self.budget,
            replies=self.run.replies,
        )

    def _plans(self) -> tuple[KernelPlan, KernelPlan]:
        f = self.folders
        learner = KernelPlan(
            self.limits,
            self.threads,
            f.connection,
            f.work,
            f.root / "learner.log",
            sandbox=self.sandbox,
            cgroup=self.cgroup,
        )
        trusted = KernelPlan(
            self.limits,
            self.threads,
            f.examiner,
            f.examiner,
            f.root / "examiner.log",
        )
        return learner, trusted

    async def execute(self) -> Run:
        """Run every code cell; never raises for what the learner's code does."""
        self.cgroup = Cgroup.create(self.limits.memory_mb, self.limits.max_processes)
        learner_plan, examiner_plan = self._plans()
        learner_km, examiner_km = kernel_manager(learner_plan), kernel_manager(examiner_plan)
        learner, trusted = self._client(learner_km), self._client(examiner_km)
        logs = [learner_plan.log.open("wb"), examiner_plan.log.open("wb")]
        watchdog = None
        start = time.monotonic()
        try:
            async with AsyncExitStack() as stack:
                started = await asyncio.gather(  # both kernels start at once
                    stack.enter_async_context(
                        learner.async_setup_kernel(
                            stdout=logs[0], stderr=logs[0], cwd=learner_plan.cwd()
                        )
                    ),
                    stack.enter_async_context(
                        trusted.async_setup_kernel(
                            stdout=logs[1], stderr=logs[1], cwd=examiner_plan.cwd()
                        )
                    ),
                    return_exceptions=True,
                )
                failed = [e for e in started if isinstance(e, BaseException)]
                if failed:
                    raise _Stop(self._start_failure(failed[0]))
                self.run.timed("start kernels", start)
                watchdog = asyncio.ensure_future(self._watch(learner_km, learner_plan))
                start = time.monotonic()
                await self._bootstrap(trusted)
                self.run.timed("examiner imports", start)
                await self._cells(learner, trusted)
                start = time.monotonic()
        except _Stop as stop:
            self.run.reason = str(stop)
        except GradingFailure as failure:  # the grader's fault: keep what was earned, regrade
            self.run.reason = f"grading failed: {failure}"
            self.run.regrade.append(self.run.reason)
        except DeadKernelError:
            self.run.reason = self._watch_reason or self._death(learner_km, examiner_km)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            for client in (learner, trusted):
                with contextlib.suppress(Exception):
                    if client.kc is not None:
                        client.kc.stop_channels()
            for km in (learner_km, examiner_km):
                with contextlib.suppress(Exception):
                    if km.has_kernel:
                        await km.shutdown_kernel(now=True)
                km.close_context()
            for log in logs:
                log.close()
            if self.cgroup is not None:
                self.run.memory_kills = self.cgroup.oom_kills()
                self.cgroup.remove()
            self.run.timed("stop kernels", start)
        if self.budget.dropped:
            self.run.truncated_mb = self.budget.dropped / MB
        self.run.lost_outputs = learner.lost_outputs + trusted.lost_outputs
        return self.run

    def _start_failure(self, exc: BaseException) -> str:
        reason = f"the kernel could not start: {type(exc).__name__}: {exc}"
        if self.limits.memory_mb:
            reason += f" (it may need more than --memory-mb {self.limits.memory_mb})"
        return reason

    async def _bootstrap(self, trusted: BudgetedClient) -> None:
        code = examiner.bootstrap_code(
            self.folders.socket,
            self.limits.message_bytes,
            examiner.trusted_imports(self.source),
            accept_timeout=min(10.0, self.limits.cell_timeout / 2),
        )
        await self._examiner_call(trusted, code, 180)

    # -- cells ----------------------------------------------------------------------------------

    async def _cells(self, learner: BudgetedClient, trusted: BudgetedClient) -> None:
        deadline = time.monotonic() + self.limits.wall_limit
        over_time = f"the notebook ran longer than its {self.limits.wall_limit:g} s limit"
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Stop(self._over_time(over_time))
            start = time.monotonic()
            try:
                await asyncio.wait_for(self._cell(index, cell, learner, trusted), left)
            except TimeoutError:
                raise _Stop(self._over_time(over_time)) from None
            finally:
                self.run.timed(f"cell {cell.get('id', index)}", start)
            if self.run.replies.get(index, {}).get("ename") == "CellTimeoutError":
                client = trusted if examiner.examined(cell) else learner
                if not await _responsive(client, min(10.0, max(0.0, left))):
                    who = "the examiner" if client is trusted else "the kernel"
                    raise _Stop(f"{who} ignored the interrupt after a cell timed out")

    def _over_time(self, reason: str) -> str:
        load = load_average()
        if load > (os.cpu_count() or 1):
            self.run.regrade.append(f"{reason} while the machine was busy")
            return f"{reason} (machine load {load:.1f}: marked to regrade)"
        return reason

    async def _cell(self, index, cell, learner: BudgetedClient, trusted: BudgetedClient):
        """Run one cell within its CPU budget; retry once if the busy machine stopped it."""
        budget = cell_budget(cell, self.limits.cell_timeout)
        stop = None
        for attempt in (0, 1):
            stop = await self._attempt(index, cell, learner, trusted, budget, attempt)
            if stop is None or not stop.machine or attempt == 1:
                break
            cell.outputs = []  # the busy machine's fault: once more, with twice the wall time
            self.run.replies.pop(index, None)
        if stop is None:
            return
        message = stop.message()
        self.run.replies[index] = {
            "status": "error",
            "ename": "CellTimeoutError",
            "evalue": message,
            "traceback": [],
        }
        cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
        cell.outputs.append(
            nbformat.v4.new_output(
                "error", ename="CellTimeoutError", evalue=message, traceback=[message]
            )
        )
        if stop.machine:
            where = grade_id(cell) or f"cell {cell.get('id', index)}"
            self.run.regrade.append(f"{where}: {stop.reading.describe()}")

    async def _attempt(self, index, cell, learner, trusted, budget: float, attempt: int):
        """Run `cell` once, stopped past its budget; the stop, or None when it finished."""
        examined = examiner.examined(cell)
        wall = self.limits.wall_factor * budget * (attempt + 1)
        for client in (learner, trusted):  # nbclient's own timeout: a backstop only
            client.timeout = int(wall + 30)
        roots = [pid for pid in (_pid(learner.km), _pid(trusted.km) if examined else None) if pid]
        watch = _Watch(CellClock.start(roots, time.monotonic()), budget, wall, examined)
        guard = asyncio.ensure_future(self._guard(watch, learner, trusted))
        try:
            if examined:
                await self._examine(index, cell, learner, trusted)
            else:
                await learner.async_execute_cell(cell, index)
        finally:
            watch.finished.set()
            guard.cancel()
        if not watch.stops or self.run.replies.get(index, {}).get("status") == "ok":
            return None
        return watch.stops[0]

    async def _guard(self, watch: _Watch, learner, trusted) -> None:
        """Stop the cell when it used its CPU budget or reached the wall-clock ceiling."""
        finished, examined = watch.finished, watch.examined
        while not finished.is_set():
            await asyncio.sleep(0.25)
            reading = watch.clock.reading(time.monotonic())
            if reading.cpu > watch.budget:
                kind = "cpu"
            elif reading.wall > watch.wall:
                kind = "wall"
            else:
                continue
            watch.stops.append(CellStop(kind, reading, watch.budget, watch.wall))
            # the learner's kernel first: a test cell's examiner is waiting for its answer
            with contextlib.suppress(Exception):
                await learner.km.interrupt_kernel()
            if examined:  # then the examiner, unless the learner's answer already ended it
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(finished.wait(), 0.5)
                if not finished.is_set():
                    with contextlib.suppress(Exception):
                        await trusted.km.interrupt_kernel()
            return

    async def _examine(self, index, cell, learner: BudgetedClient, trusted: BudgetedClient):
        token = uuid.uuid4().hex
        await self._examiner_call(trusted, examiner.begin_code(token))
        serve = examiner.serve_code(self.folders.socket, token, self.limits.message_bytes)
        serving = learner.kc.execute(serve, silent=True, store_history=False, allow_stdin=False)
        try:
            await trusted.async_execute_cell(cell, index)
        finally:
            await self._examiner_call(trusted, examiner.END_CODE)
            await self._release(learner, serving)

    async def _examiner_call(self, trusted: BudgetedClient, code: str, timeout=30.0) -> None:
        """Run grader code in the examiner; its failure is the grader's, not the learner's."""
        try:
            reply = await _silent(trusted, code, timeout)
        except TimeoutError:
            raise GradingFailure("the examiner kernel stopped answering") from None
        if reply.get("status") != "ok":
            raise GradingFailure(
                f"the examiner kernel failed: {reply.get('ename')}: {reply.get('evalue')}"
            )

    async def _release(self, learner: BudgetedClient, serving: str) -> None:
        """Wait until the learner's kernel stops answering; interrupt it if it does not."""
        for wait in (2.0, 10.0):  # at once when the test ended normally; else after a nudge
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                try:
                    await _reply(learner, serving, min(1.0, left))
                    await _drain(learner, serving, 5.0)
                    return
                except TimeoutError:
                    await learner._async_check_alive()  # DeadKernelError if it died
            if wait == 2.0:
                await learner.km.interrupt_kernel()
        raise _Stop("the kernel ignored the interrupt after a test cell")

    # -- limits the kernel cannot enforce alone ---------------------------------------------------

    async def _watch(self, km: GradingKernelManager, plan: KernelPlan) -> None:
        limits = self.limits
        while True:
            await asyncio.sleep(0.5)
            process = _process(km)
            if process is None or process.poll() is not None:
                continue
            written = folder_bytes(plan.connection_dir) + _size(plan.log)
            if self.sandbox.mode != "bwrap":  # without a sandbox its working folder is on disk
                written += folder_bytes(plan.work)
            reason = ""
            if written > limits.disk_mb * MB:
                reason = f"wrote more than {limits.disk_mb} MB to disk"
            else:  # checked even with a cgroup: some kernels account a limit but do not enforce it
                tree = process_tree(process.pid)
                if limits.memory_mb and resident_bytes(tree) > limits.memory_mb * MB:
                    reason = (
                        f"used more than {limits.memory_mb} MB of memory (the kernel and the "
                        "processes it started)"
                    )
                elif _tasks(tree) > limits.max_processes:
                    reason = f"ran more than {limits.max_processes} processes and threads"
            if reason:
                self._watch_reason = f"stopped: the notebook {reason}"
                self._kill(process.pid)
                return

    def _kill(self, pid: int) -> None:
        if self.cgroup is not None:
            self.cgroup.kill_all()
        for member in reversed(process_tree(pid)):
            with contextlib.suppress(OSError):
                os.kill(member, signal.SIGKILL)

    def _death(self, learner: GradingKernelManager, trusted: GradingKernelManager) -> str:
        for km, who in ((learner, "the kernel"), (trusted, "the examiner")):
            code = _exit_code(km)
            if code is None:
                continue
            if km is learner and self.cgroup is not None and self.cgroup.oom_killed():
                return (
                    f"the kernel ran out of memory: the notebook may use {self.limits.memory_mb} "
                    "MB (its processes and /tmp together)"
                )
            if code == -signal.SIGKILL:
                return (
                    f"{who} was killed (signal 9), most likely by the machine running out of memory"
                )
            log = "learner.log" if km is learner else "examiner.log"
            said = _last_words(self.folders.root / log)
            return f"{who} died or exited (exit code {code})" + (f": {said}" if said else "")
        return "the kernel died or exited"


async def _responsive(client: BudgetedClient, seconds: float) -> bool:
    if seconds <= 0:
        return False
    try:
        await _silent(client, "pass", seconds)
    except Exception:
        return False
    return True


def _process(km: GradingKernelManager):
    """The kernel's process (its launcher), or None before it started."""
    return getattr(km.provisioner, "process", None) if km.provisioner else None


def _pid(km: GradingKernelManager) -> int | None:
    return getattr(_process(km), "pid", None)


def _exit_code(km: GradingKernelManager) -> int | None:
    try:
        process = _process(km)
        return process.poll() if process is not None else None
    except Exception:
        return None


def _last_words(log: Path) -> str:
    """The last error line a dead kernel wrote to its stderr (often the reason it died)."""
    try:
        with log.open("rb") as fh:
            fh.seek(max(0, log.stat().st_size - 4096))
            lines = [x.strip() for x in fh.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    errors = [x for x in lines if any(w in x for w in ("Error", "Exception", "Killed", "fatal"))]
    return errors[-1][:300] if errors else ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tasks(pids: list[int]) -> int:
    count = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            count += len(os.listdir(f"/proc/{pid}/task"))
    return count


def execute_notebook(
    nb: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    *,
    limits: Limits,
    sandbox: Sandbox,
    threads: int,
    folders: JobFolders,
) -> Run:
    """Execute the merged notebook `nb` (in place: outputs are filled in) and return the run."""
    runner = NotebookRun(
        nb, source, limits=limits, sandbox=sandbox, threads=threads, folders=folders.make()
    )
    return asyncio.run(runner.execute())
