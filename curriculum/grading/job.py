"""Grade one notebook of one student in isolation: the per-submission job of every grading path.

A :class:`GradeJob` carries everything the job needs (the submission's bytes, the instructor's
and the released notebook, the limits, the sandbox), so it runs the same in this process, in a
worker process or on a Dask worker. :func:`run_job` returns a
:class:`~curriculum.grading.results.NotebookGrade` and never raises. The steps, in order:

1. parse the submission (:mod:`~curriculum.grading.submission`);
2. rebuild the notebook to grade from the instructor's copy (:mod:`~curriculum.grading.merge`);
3. execute it: the learner's cells in their sandboxed kernel, the tests in the examiner
   (:mod:`~curriculum.grading.execution`);
4. score the graded cells from the replies (:mod:`~curriculum.grading.scoring`).

For debugging the grader: ``MLSD_GRADING_TRACE=1`` prints each job's steps with their seconds,
``MLSD_GRADING_KEEP=1`` keeps each job's folder (kernel logs included) instead of removing it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from curriculum.grading.execution import GradingFailure, JobFolders, execute_notebook
from curriculum.grading.limits import Limits
from curriculum.grading.merge import merge_submission
from curriculum.grading.results import NotebookGrade, clean_text
from curriculum.grading.sandbox import Sandbox
from curriculum.grading.scoring import score
from curriculum.grading.submission import SubmissionError, parse_submission


@dataclass(frozen=True)
class GradeJob:
    """Everything needed to grade one notebook of one student (picklable).

    Attributes
    ----------
    student, day, notebook : str
        Who, which assignment and which notebook file.
    submission : bytes
        The file the learner handed in.
    source, release : str
        The instructor's notebook (solutions, hidden tests) and the released one, as JSON text.
    limits : Limits
        The budget.
    sandbox : Sandbox
        How the learner's kernel is isolated.
    threads : int
        BLAS/OpenMP threads per kernel.
    scratch : str
        A private folder for the job's folders ('' or missing on this machine: a new one).
    """

    student: str
    day: str
    notebook: str
    submission: bytes
    source: str
    release: str
    limits: Limits = field(default_factory=Limits)
    sandbox: Sandbox = field(default_factory=lambda: Sandbox("directory"))
    threads: int = 1
    scratch: str = ""

    @property
    def digest(self) -> str:
        """Hash of what decides the grade: submission, instructor's notebook, limits, sandbox."""
        h = hashlib.sha256(self.submission)
        h.update(self.source.encode())
        h.update(repr(self.limits).encode())
        h.update(self.sandbox.mode.encode())
        return h.hexdigest()

    def zeros(self, reason: str) -> NotebookGrade:
        """Zero on every graded cell, with the reason."""
        return NotebookGrade.zeros(self.student, self.day, self.notebook, self.source, reason)


def run_job(job: GradeJob) -> NotebookGrade:
    """Grade one notebook of one student in isolation; never raises."""
    start = time.monotonic()
    try:
        result = _run(job)
    except GradingFailure as exc:
        result = job.zeros(f"grading failed: {exc}")
    except Exception as exc:  # a bug or an unexpected failure: still a row for the student
        result = job.zeros(f"grading failed: {type(exc).__name__}: {exc}")
    result.seconds = round(time.monotonic() - start, 3)
    result.sandbox = job.sandbox.mode
    result.digest = job.digest
    return result


def _run(job: GradeJob) -> NotebookGrade:
    try:
        submitted = parse_submission(job.submission)
    except SubmissionError as exc:
        return job.zeros(str(exc))
    source = nbformat.reads(job.source, as_version=4)
    release = nbformat.reads(job.release, as_version=4)
    nb, notes = merge_submission(
        source, release, submitted, attachment_budget=job.limits.output_bytes
    )
    parent = job.scratch if job.scratch and Path(job.scratch).is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="job-", dir=parent))
    try:
        run = execute_notebook(
            nb,
            source,
            limits=job.limits,
            sandbox=job.sandbox,
            threads=job.threads,
            folders=JobFolders(root),
        )
    finally:
        if not os.environ.get("MLSD_GRADING_KEEP"):
            shutil.rmtree(root, ignore_errors=True)
    if os.environ.get("MLSD_GRADING_TRACE"):
        steps = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in run.timings)
        print(f"[mlsd] {job.student} {job.day}/{job.notebook}: {steps}", file=sys.stderr)
    if run.lost_outputs:
        notes.append(
            f"outputs dropped: {run.lost_outputs} cell(s) sent a message larger than "
            f"{job.limits.message_bytes / 2**20:.0f} MB"
        )
    if run.memory_kills and "memory" not in run.reason:
        notes.append(
            f"memory limit hit: {run.memory_kills} process(es) the notebook started were stopped "
            f"for using more than {job.limits.memory_mb} MB (the kernel and its processes together)"
        )
    if run.truncated_mb:
        notes.append(
            f"outputs truncated: {run.truncated_mb:.1f} MB more than the "
            f"{job.limits.output_limit_mb:g} MB kept"
        )
    return NotebookGrade(
        job.student,
        job.day,
        job.notebook,
        score(nb, run.replies, source, run.reason),
        error=clean_text(run.reason),
        notes=[clean_text(n) for n in notes],
        regrade=clean_text("; ".join(run.regrade)),
        executed=clean_text(nbformat.writes(nb)),
    )
