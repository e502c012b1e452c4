"""Grading kernels: how each is started, talked to and measured.

A kernel starts through :mod:`curriculum.grading.launch` (control group, per-process limits, a
fixed environment with capped BLAS/OpenMP threads) and, for the learner, inside the sandbox. The
grader's client refuses any single message larger than :attr:`Limits.message_bytes` before
reading it (ZeroMQ's ``MAXMSGSIZE``), and :class:`BudgetedClient` counts every output message —
streams, displays, display updates, comm messages — against the output budget, truncating what
is kept instead of failing the learner.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from curriculum.grading.limits import Cgroup, Limits, thread_environment
from curriculum.grading.sandbox import Sandbox

TIMEOUT_MESSAGE = "CellTimeoutError: the cell did not finish in time (interrupted)"


@dataclass
class KernelPlan:
    """How to start one grading kernel.

    Attributes
    ----------
    limits : Limits
        The submission's budget.
    threads : int
        BLAS/OpenMP threads.
    connection_dir : Path
        Connection file and ``ipc`` sockets (the only host folder a sandboxed kernel writes).
    work : Path
        Host working folder (the examiner's, or the learner's without a sandbox).
    log : Path
        The kernel process's stderr (kept outside any sandbox).
    sandbox : Sandbox or None
        None for the examiner, which is trusted and not sandboxed.
    cgroup : Cgroup or None
        The control group to start in.
    environment : dict
        Extra environment variables.
    """

    limits: Limits
    threads: int
    connection_dir: Path
    work: Path
    log: Path
    sandbox: Sandbox | None = None
    cgroup: Cgroup | None = None
    environment: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """The kernel's whole environment."""
        bindir = str(Path(sys.executable).parent)
        env = {
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONNOUSERSITE": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            **thread_environment(self.threads),
        }
        if self.sandbox is not None:
            env |= self.sandbox.environment(self.connection_dir, self.work)
        else:
            home = self.work / "home"
            home.mkdir(parents=True, exist_ok=True)
            env |= {"HOME": str(home), "TMPDIR": str(self.work), "MPLCONFIGDIR": str(home)}
        env["IPYTHONDIR"] = f"{env['HOME']}/.ipython"
        return env | self.environment

    def wrap(self, kernel_cmd: list[str]) -> list[str]:
        """The full command: the launcher, then (for the learner) the sandbox, then the kernel."""
        limits = self.limits
        launcher = [sys.executable, "-m", "curriculum.grading.launch"]
        if limits.memory_mb:
            launcher += ["--memory-mb", str(limits.memory_mb)]
        launcher += ["--file-mb", str(limits.disk_mb), "--processes", str(limits.max_processes)]
        for procs in self.cgroup.procs_files() if self.cgroup else []:
            launcher += ["--cgroup", procs]
        for name, value in self.env().items():
            launcher += ["--env", f"{name}={value}"]
        inner = kernel_cmd
        if self.sandbox is not None:
            inner = self.sandbox.command(kernel_cmd, self.connection_dir, limits.disk_mb)
        return [*launcher, "--", *inner]

    def cwd(self) -> str:
        """Where the kernel process starts (the sandbox changes into its own folder)."""
        return str(self.work)


class GradingKernelManager(AsyncKernelManager):
    """Starts a kernel from a :class:`KernelPlan`, over ``ipc``, interrupted by message."""

    plan: KernelPlan

    def format_kernel_cmd(self, extra_arguments=None):  # noqa: D102 (jupyter_client's hook)
        cmd = super().format_kernel_cmd(extra_arguments)
        # a signal would reach the launcher or the sandbox, not the kernel: ask it by message
        self.kernel_spec.interrupt_mode = "message"
        return self.plan.wrap(cmd)

    def client(self, **kwargs):  # noqa: D102 (jupyter_client's hook)
        kwargs.setdefault("context", self.client_context)
        return super().client(**kwargs)

    @property
    def client_context(self) -> zmq.asyncio.Context:
        """A ZeroMQ context whose sockets drop messages above the size cap before reading."""
        if getattr(self, "_client_context", None) is None:
            context = zmq.asyncio.Context()
            context.setsockopt(zmq.MAXMSGSIZE, self.plan.limits.message_bytes)
            self._client_context = context
        return self._client_context

    def close_context(self) -> None:
        """Release the client's ZeroMQ context."""
        context = getattr(self, "_client_context", None)
        if context is not None:
            context.destroy(linger=0)
            self._client_context = None


def kernel_manager(plan: KernelPlan) -> GradingKernelManager:
    """A manager for one grading kernel (not started)."""
    plan.connection_dir.mkdir(parents=True, exist_ok=True)
    km = GradingKernelManager(
        kernel_name="python3", transport="ipc", ip=str(plan.connection_dir / "k")
    )
    km.plan = plan
    km.connection_file = str(plan.connection_dir / "kernel.json")
    return km


class OutputBudget:
    """Output bytes a notebook may keep; shared by the learner's and the examiner's cells."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used, self.dropped = limit, 0, 0

    @property
    def left(self) -> int:
        """Bytes still allowed."""
        return max(0, self.limit - self.used)

    def spend(self, size: int) -> bool:
        """Count `size` bytes; False (and counted as dropped) when they do not fit."""
        if size <= self.left:
            self.used += size
            return True
        self.dropped += size
        return False


def message_size(msg: dict) -> int:
    """Approximate bytes of a kernel message's content and binary buffers."""

    def size(value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, dict):
            return sum(len(str(k)) + size(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return sum(size(v) for v in value)
        if isinstance(value, bytes | bytearray | memoryview):
            return len(value)
        return 8

    return size(msg.get("content", {})) + sum(len(b) for b in msg.get("buffers") or [])


TRUNCATED = "\n[output truncated: this notebook printed more than the {mb:g} MB kept]\n"


class BudgetedClient(NotebookClient):
    """nbclient that spends an :class:`OutputBudget` and records each cell's execute reply."""

    def __init__(self, *args: Any, budget: OutputBudget, replies: dict, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget, self.replies = budget, replies
        self.store_widget_state = False
        self.on_cell_executed = self._record
        self.lost_outputs = 0  # cells whose output stream broke (a message above the size cap)
        self._idle = False

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):  # noqa: D102
        self._idle = False
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            reply = self.replies.get(cell_index) or {}
            stopped = reply.get("ename") in ("CellTimeoutError", "KeyboardInterrupt")
            if not self._idle and self.kc is not None and reply and not stopped:
                # the cell's end never came on IOPub: ZeroMQ dropped a message above the size
                # cap and, with it, the subscription; a fresh one brings the outputs back
                self.lost_outputs += 1
                await self.restore_outputs()

    async def restore_outputs(self) -> None:
        """Re-subscribe to the kernel's output stream and wait until it flows again."""
        import asyncio
        import time
        from queue import Empty

        self.kc.iopub_channel.stop()
        self.kc._iopub_channel = None
        self.kc.iopub_channel.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = self.kc.execute("", silent=True, store_history=False)
            try:
                while True:
                    msg = await self.kc.get_iopub_msg(timeout=0.5)
                    if msg.get("parent_header", {}).get("msg_id") == probe:
                        return
            except Empty:
                await asyncio.sleep(0.1)

    def _record(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = (execute_reply or {}).get("content", {})

    def process_message(self, msg, cell, cell_index):  # noqa: D102 (nbclient's hook)
        kind = msg.get("msg_type", "")
        if kind == "status" and msg.get("content", {}).get("execution_state") == "idle":
            self._idle = True
        if kind in ("status", "execute_input", "clear_output"):
            return super().process_message(msg, cell, cell_index)
        size = message_size(msg)
        if self.budget.spend(size):
            return super().process_message(msg, cell, cell_index)
        if kind == "stream" and self.budget.left > 0:  # keep the head of a long print
            content = dict(msg["content"])
            content["text"] = str(content.get("text", ""))[: self.budget.left]
            self.budget.spend(len(content["text"]))
            super().process_message({**msg, "content": content}, cell, cell_index)
        self._note_truncation(cell)
        return None

    def _note_truncation(self, cell) -> None:
        marker = TRUNCATED.format(mb=self.budget.limit / 2**20)
        if any(o.get("text") == marker for o in cell.get("outputs", [])):
            return
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=marker))
