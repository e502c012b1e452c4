"""Autograde one submitted notebook in isolation: the per-submission job of every grading path.

A :class:`GradeJob` carries everything the job needs (the submission's bytes, the instructor's
notebook with hidden tests, the limits, the sandbox), so it runs the same in this process, in a
worker process or on a Dask worker; :func:`run_job` returns a :class:`JobResult` and never
raises. The job

1. reads the submission (invalid JSON or an empty file is a reason, not a crash);
2. rebuilds the notebook to grade from the **instructor's copy**: every test and read-only cell is
   restored from ``source/`` (hidden tests included), a deleted one is put back, and only the
   student's answers and own cells are kept;
3. executes it in a throw-away directory, in a sandbox where bubblewrap is available, with a
   per-cell timeout, a wall-clock limit for the notebook, an address-space limit on the kernel
   and a cap on output size;
4. after each test cell runs an **integrity canary** — cells that must fail — so a submission
   that silences errors or monkeypatches assertion helpers is caught, and the tests it could
   have faked score 0;
5. scores the test cells from the kernel's replies in the grading process: a test passes only if
   its cell ran and replied ``ok`` with the canary intact. A kernel that hangs, dies or exits
   scores 0 on every test it did not pass, with the reason.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from curriculum.notebooks import grade_cells
from curriculum.sandbox import Sandbox

KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
CANARY_ID = "mlsd-integrity-canary"
TIMEOUT_MESSAGE = "CellTimeoutError: the cell did not finish in time (interrupted)"


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    Attributes
    ----------
    cell_timeout : float
        Seconds a cell may run before it is interrupted (and fails).
    wall_limit : float
        Seconds the whole notebook may run; the kernel is killed after that.
    memory_mb : int
        Address-space limit of the kernel in MiB (0: none).
    output_limit_mb : float
        Total output the notebook may produce; execution stops beyond it.
    """

    cell_timeout: float = 60.0
    wall_limit: float = 600.0
    memory_mb: int = 8192
    output_limit_mb: float = 10.0

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "wall_limit", "output_limit_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.memory_mb < 0:
            raise ValueError(f"memory_mb must be >= 0, got {self.memory_mb!r}")


@dataclass(frozen=True)
class GradeJob:
    """Everything needed to grade one notebook of one student (picklable)."""

    student: str
    day: str
    notebook: str
    submission: bytes
    source: str
    release: str
    limits: Limits = field(default_factory=Limits)
    sandbox: Sandbox = field(default_factory=lambda: Sandbox("directory"))

    @property
    def digest(self) -> str:
        """Hash of what decides the grade: submission, instructor's notebook, limits, sandbox."""
        h = hashlib.sha256(self.submission)
        h.update(self.source.encode())
        h.update(repr(self.limits).encode())
        h.update(self.sandbox.mode.encode())
        return h.hexdigest()


@dataclass
class QuestionScore:
    """Points for one graded cell of one submitted notebook.

    Attributes
    ----------
    grade_id : str
        The graded cell.
    points : float or None
        Points given; None while a manually graded answer waits for a person.
    max_points : float
        Points the cell is worth.
    autograded : bool
        True for test cells scored by running them, False for answers a person grades.
    message : str
        Why a test cell failed (first line of its error, or why it did not run), else empty.
    """

    grade_id: str
    points: float | None
    max_points: float
    autograded: bool
    message: str = ""


@dataclass
class JobResult:
    """What grading one notebook produced (plain data, so it crosses process boundaries)."""

    student: str
    day: str
    notebook: str
    cells: list[QuestionScore]
    error: str = ""
    notes: list[str] = field(default_factory=list)
    executed: str = ""
    sandbox: str = ""
    seconds: float = 0.0
    digest: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (without the executed notebook)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("cells", "executed")}
        out["cells"] = [c.__dict__ for c in self.cells]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], executed: str = "") -> JobResult:
        """Rebuild a result saved with :meth:`to_dict`."""
        data = dict(data)
        cells = [QuestionScore(**c) for c in data.pop("cells")]
        return cls(cells=cells, executed=executed, **data)


# -- rebuilding the notebook to grade ----------------------------------------------------------


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_test(cell) -> bool:
    """A cell the student may not change: a test cell or another read-only cell."""
    meta = _meta(cell)
    return bool(meta.get("grade_id")) and not meta.get("solution")


def merge_submission(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode, student: nbformat.NotebookNode
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to grade: the student's answers in the instructor's notebook.

    Test and read-only cells come from `source` (hidden tests included) whatever the student
    did to them; a graded cell the student deleted is put back (a deleted answer cell comes back
    as the released stub); answer cells keep the student's text but the instructor's grading
    metadata; the student's own cells stay where they are.

    Returns
    -------
    notebook, notes
        The notebook to execute, and one note per restored or re-added cell.
    """
    by_id = {_meta(c)["grade_id"]: c for c in source.cells if _meta(c).get("grade_id")}
    released = {_meta(c)["grade_id"]: c for c in release.cells if _meta(c).get("grade_id")}
    notes: list[str] = []
    cells, seen = [], set()
    for cell in student.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id not in by_id or grade_id in seen:
            if grade_id in seen:
                notes.append(f"{grade_id}: duplicated cell ignored")
                continue
            mine = copy.deepcopy(cell)
            if grade_id:  # a grade id the course does not know: treat as the student's own cell
                mine.metadata.pop("nbgrader", None)
            cells.append(mine)
            continue
        seen.add(grade_id)
        original = copy.deepcopy(by_id[grade_id])
        if _is_test(original):
            given = released.get(grade_id)
            if given is not None and cell.source.strip() != given.source.strip():
                notes.append(
                    f"{grade_id}: edited read-only cell restored from the instructor's copy"
                )
            cells.append(original)
        else:
            original.source = cell.source
            cells.append(original)
    # put back deleted graded cells, after the cell that precedes them in the source
    order = [_meta(c).get("grade_id") for c in source.cells]
    for index, cell in enumerate(source.cells):
        grade_id = _meta(cell).get("grade_id")
        if not grade_id or grade_id in seen:
            continue
        restored = copy.deepcopy(cell if _is_test(cell) else released.get(grade_id, cell))
        position = 0
        for previous in reversed(order[:index]):
            hits = [i for i, c in enumerate(cells) if _meta(c).get("grade_id") == previous]
            if previous and hits:
                position = hits[0] + 1
                break
        cells.insert(position, restored)
        seen.add(grade_id)
        notes.append(f"{grade_id}: missing cell re-added from the instructor's copy")
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.id = cell.get("id") or uuid.uuid4().hex[:8]
    _dedupe_ids(nb)
    return nb, notes


def _dedupe_ids(nb: nbformat.NotebookNode) -> None:
    used: set[str] = set()
    for cell in nb.cells:
        while cell.id in used:
            cell.id = uuid.uuid4().hex[:8]
        used.add(cell.id)


# -- the integrity canary -----------------------------------------------------------------------

# Each check must raise AssertionError in an honest kernel; the cell then raises the token. A
# kernel where errors are silenced, or an assertion helper was replaced, replies something else.
CANARY = """\
def _mlsd_canary():
    import math
    failed = []
    checks = [("assert", lambda: _mlsd_assert(False))]
    checks.append(("math.isclose", lambda: _mlsd_assert(math.isclose(0.0, 1.0))))
    import sys
    np = sys.modules.get("numpy")
    if np is not None:
        checks += [
            ("np.testing.assert_allclose", lambda: np.testing.assert_allclose(0.0, 1.0)),
            ("np.testing.assert_array_equal", lambda: np.testing.assert_array_equal([0], [1])),
            ("np.allclose", lambda: _mlsd_assert(np.allclose(0.0, 1.0))),
            ("np.array_equal", lambda: _mlsd_assert(np.array_equal([0], [1]))),
            ("np.isclose", lambda: _mlsd_assert(np.isclose(0.0, 1.0))),
        ]
    pd = sys.modules.get("pandas")
    if pd is not None:
        a, b = pd.DataFrame({"x": [0.0]}), pd.DataFrame({"x": [1.0]})
        checks += [
            ("pd.testing.assert_frame_equal", lambda: pd.testing.assert_frame_equal(a, b)),
            ("pd.testing.assert_series_equal", lambda: pd.testing.assert_series_equal(a.x, b.x)),
            ("DataFrame.equals", lambda: _mlsd_assert(a.equals(b))),
        ]
    for name, check in checks:
        try:
            check()
        except AssertionError:
            continue
        failed.append(name)
    return failed


def _mlsd_assert(value):
    if not value:
        raise AssertionError("canary")


_mlsd_failed = _mlsd_canary()
del _mlsd_canary, _mlsd_assert
assert _mlsd_failed, "TOKEN"
"""


def _canary_cell(token: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(CANARY.replace("TOKEN", token))
    cell.metadata["mlsd"] = {"canary": True}
    return cell


# -- execution -----------------------------------------------------------------------------------


class _Stop(Exception):
    """Execution must stop: the reason is the message."""


class _KernelManager(AsyncKernelManager):
    """Starts the kernel through the sandbox and the resource limits, over ``ipc``."""

    sandbox: Sandbox
    workdir: Path
    memory_mb: int = 0

    def format_kernel_cmd(self, extra_arguments=None):  # noqa: D102 (jupyter_client's hook)
        cmd = super().format_kernel_cmd(extra_arguments)
        # a signal would reach the sandbox, not the kernel: ask the kernel to interrupt itself
        self.kernel_spec.interrupt_mode = "message"
        return self.sandbox.command(cmd, self.workdir, self.memory_mb)


class _Client(NotebookClient):
    """nbclient with an output budget and a record of each cell's reply."""

    def __init__(self, *args, output_limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.replies: dict[int, dict] = {}
        self.output_bytes = 0
        self.output_limit = output_limit
        self.over_limit = False
        self.on_cell_executed = self._record

    def _record(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = (execute_reply or {}).get("content", {})

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 (nbclient's hook)
        size = len(str(msg.get("content", "")))
        self.output_bytes += size
        if self.output_bytes > self.output_limit:
            if not self.over_limit:
                self.over_limit = True
                note = nbformat.v4.new_output(
                    "stream", name="stderr", text="[output limit reached: output dropped]\n"
                )
                outs.append(note)
            return None
        return super().output(outs, msg, display_id, cell_index)


@dataclass
class _Run:
    replies: dict[int, dict]  # cell index -> the kernel's execute reply
    reason: str = ""  # why execution stopped early, if it did


async def _execute(nb: nbformat.NotebookNode, job: GradeJob, workdir: Path) -> _Run:
    limits = job.limits
    km = _KernelManager(kernel_name="python3", transport="ipc", ip=str(workdir / "kernel"))
    km.sandbox, km.workdir, km.memory_mb = job.sandbox, workdir, limits.memory_mb
    km.connection_file = str(workdir / "kernel.json")
    client = _Client(
        nb,
        km=km,
        timeout=int(max(1, limits.cell_timeout)),
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": TIMEOUT_MESSAGE, "traceback": []},
        allow_errors=True,
        startup_timeout=120,
        extra_arguments=KERNEL_ARGUMENTS,
        output_limit=int(limits.output_limit_mb * 1024 * 1024),
        resources={"metadata": {"path": str(workdir)}},
    )
    run = _Run(client.replies)
    deadline = time.monotonic() + limits.wall_limit
    over_time = f"the notebook ran longer than its {limits.wall_limit:g} s limit"
    log = (workdir / "kernel.log").open("wb")
    try:
        async with client.async_setup_kernel(stdout=log, stderr=log):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Stop(over_time)
                try:
                    await asyncio.wait_for(client.async_execute_cell(cell, index), left)
                except TimeoutError:
                    raise _Stop(over_time) from None
                if client.over_limit:
                    raise _Stop(f"output larger than {limits.output_limit_mb:g} MB")
                if client.replies.get(index, {}).get("ename") == "CellTimeoutError":
                    # interrupted: the kernel must answer again soon, or it is stuck
                    if not await _responsive(client, min(10.0, max(0.0, left))):
                        run.reason = "the kernel ignored the interrupt after a cell timed out"
                        break
    except _Stop as stop:
        run.reason = str(stop)
    except DeadKernelError:
        run.reason = _death(km)
    except Exception as exc:  # the kernel could not start, or the client broke
        run.reason = f"kernel failure: {type(exc).__name__}: {exc}"
        if limits.memory_mb and not run.replies:  # died before any cell: maybe the limit
            run.reason += f" (the kernel may need more than --memory-mb {limits.memory_mb})"
    finally:
        log.close()
        try:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
        except Exception:  # noqa: S110 (best effort: the kernel may be gone already)
            pass
    return run


async def _responsive(client: _Client, seconds: float) -> bool:
    if seconds <= 0:
        return False
    try:
        msg_id = client.kc.execute("pass", silent=True, store_history=False)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            msg = await client.kc.get_shell_msg(timeout=max(0.1, end - time.monotonic()))
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
    except Exception:
        return False
    return False


def _death(km: AsyncKernelManager) -> str:
    code = None
    try:
        code = km.provisioner.process.poll() if km.provisioner else None
    except Exception:  # noqa: S110
        pass
    return "the kernel died or exited" + (f" (exit code {code})" if code is not None else "")


# -- scoring ---------------------------------------------------------------------------------------


def _add_canaries(nb: nbformat.NotebookNode, token: str) -> None:
    """Put a canary cell after every autograded test cell (in place)."""
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        meta = _meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells.append(_canary_cell(token))
    nb.cells = cells


def _first_error(cell, reply: dict) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), str(output.get("evalue", ""))
            if ename == "CellTimeoutError" or ename == "KeyboardInterrupt":
                return TIMEOUT_MESSAGE
            first = evalue.strip().splitlines()[0] if evalue.strip() else ""
            return f"{ename}: {first}" if first else ename
    ename = reply.get("ename")
    if ename:
        return (
            TIMEOUT_MESSAGE
            if ename == "CellTimeoutError"
            else f"{ename}: {reply.get('evalue', '')}"
        )
    return "the cell failed"


def _score(nb: nbformat.NotebookNode, run: _Run, token: str) -> list[QuestionScore]:
    results = []
    tampered = ""
    for index, cell in enumerate(nb.cells):
        if _is_canary(cell):
            reply = run.replies.get(index)
            honest = (
                reply is not None
                and reply.get("status") == "error"
                and reply.get("ename") == "AssertionError"
                and token in str(reply.get("evalue", ""))
            )
            if reply is not None and not honest and not tampered:
                if reply.get("status") == "ok":
                    why = "errors were silenced or assertion helpers were replaced"
                else:
                    why = f"the check raised {reply.get('ename', 'an error')} instead of failing"
                tampered = f"integrity check failed ({why}): tests from here on cannot be trusted"
                # the test just before this canary ran in a tampered kernel too
                for r in reversed(results):
                    if r.autograded:
                        r.points, r.message = 0.0, tampered
                        break
            continue
        meta = _meta(cell)
        if not meta.get("grade"):
            continue
        points = float(meta.get("points", 0) or 0)
        if meta.get("solution"):
            results.append(QuestionScore(meta["grade_id"], None, points, False))
            continue
        reply = run.replies.get(index)
        if tampered:
            results.append(QuestionScore(meta["grade_id"], 0.0, points, True, tampered))
        elif reply is None:
            reason = run.reason or "the cell did not run"
            results.append(QuestionScore(meta["grade_id"], 0.0, points, True, f"not run: {reason}"))
        elif reply.get("status") == "ok":
            results.append(QuestionScore(meta["grade_id"], points, points, True))
        else:
            results.append(
                QuestionScore(meta["grade_id"], 0.0, points, True, _first_error(cell, reply))
            )
    return results


def _is_canary(cell) -> bool:
    return bool(cell.get("metadata", {}).get("mlsd", {}).get("canary"))


def _remove_canaries(nb: nbformat.NotebookNode) -> None:
    """Take the canary cells out again (in place) before the notebook is saved."""
    nb.cells = [c for c in nb.cells if not _is_canary(c)]


def zero_result(student: str, day: str, notebook: str, source: str, reason: str) -> JobResult:
    """Zero on every graded cell of the instructor's notebook `source`, with the reason."""
    cells = [
        QuestionScore(c.grade_id, 0.0, c.points, c.autograded, reason)
        for c in grade_cells(nbformat.reads(source, as_version=4))
        if c.grade
    ]
    return JobResult(student, day, notebook, cells, error=reason)


def read_submission(data: bytes) -> nbformat.NotebookNode:
    """Parse a submitted notebook, or raise ValueError saying what is wrong with it."""
    if not data.strip():
        raise ValueError("empty file")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise ValueError("not a text file (not UTF-8)") from None
    except Exception as exc:  # nbformat raises several kinds for broken JSON
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"invalid notebook JSON: {first}") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("invalid notebook: no list of cells")
    return nb


def run_job(job: GradeJob) -> JobResult:
    """Grade one notebook of one student in isolation; never raises."""
    start = time.monotonic()
    try:
        result = _run(job)
    except Exception as exc:  # a bug or an unexpected failure: still a row for the student
        reason = f"grading failed: {type(exc).__name__}: {exc}"
        result = zero_result(job.student, job.day, job.notebook, job.source, reason)
    result.seconds = round(time.monotonic() - start, 3)
    result.sandbox = job.sandbox.mode
    result.digest = job.digest
    return result


def _run(job: GradeJob) -> JobResult:
    try:
        submitted = read_submission(job.submission)
    except ValueError as exc:
        return zero_result(job.student, job.day, job.notebook, job.source, str(exc))
    source = nbformat.reads(job.source, as_version=4)
    release = nbformat.reads(job.release, as_version=4)
    nb, notes = merge_submission(source, release, submitted)
    token = f"mlsd-canary-{uuid.uuid4().hex}"
    _add_canaries(nb, token)
    workdir = Path(tempfile.mkdtemp(prefix="mlsd-job-"))
    try:
        run = asyncio.run(_execute(nb, job, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cells = _score(nb, run, token)
    _remove_canaries(nb)
    return JobResult(
        job.student,
        job.day,
        job.notebook,
        cells,
        error=run.reason,
        notes=notes,
        executed=nbformat.writes(nb),
    )
