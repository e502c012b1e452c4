"""A grading session: an nbgrader course directory in which a day's submissions are graded.

:class:`GradingSession` is the coordinator shared by ``mlsd check``, ``mlsd grade`` and the
autograding step of ``mlsd run``. It registers the day with nbgrader (without touching
``release/``), turns each student's notebook into a :class:`~curriculum.grading.job.GradeJob`,
runs the jobs (:mod:`~curriculum.grading.executors`) and alone writes what they produce: the
executed notebooks in ``autograded/`` (hidden test code replaced by what it checks, so nbgrader's
own feedback never shows it), the resume ledger beside them and the gradebook.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import nbformat

import curriculum
from curriculum.course import Course
from curriculum.errors import CourseError
from curriculum.grading import gradebook
from curriculum.grading.course_config import course_cell_timeout, nbgrader_api
from curriculum.grading.executors import run_jobs
from curriculum.grading.feedback import redact
from curriculum.grading.job import GradeJob
from curriculum.grading.ledger import read_ledger, write_ledger
from curriculum.grading.limits import Limits, threads_per_kernel
from curriculum.grading.results import NotebookGrade, QuestionScore
from curriculum.grading.sandbox import choose_sandbox
from curriculum.grading.submission import SubmissionError, read_submission_file
from curriculum.syllabus import Day


class GradingSession:
    """An nbgrader course directory in which a day's submissions are autograded in isolation.

    Parameters
    ----------
    course : Course
        The course whose ``source/`` and ``nbgrader_config.py`` define the assignments.
    workdir : Path
        The nbgrader root for this session: ``autograded/``, ``feedback/`` and (unless `db_url`
        is given) ``gradebook.db`` are written here.
    db_url : str, optional
        Gradebook URL (any SQLAlchemy URL nbgrader supports); default
        ``sqlite:///<workdir>/gradebook.db``.
    cell_timeout : float, optional
        Seconds a cell may run; default from ``nbgrader_config.py`` (``Execute.timeout``).
    limits : Limits, optional
        The budget per notebook; default :class:`Limits` with the course's cell timeout.
        `cell_timeout` overrides its cell timeout.
    sandbox : {"auto", "bwrap", "directory"}
        How learner kernels are isolated (see :mod:`curriculum.grading.sandbox`).
    hide : iterable of Path
        More folders that must never be exposed to student code (the submissions).
    workers : int
        Notebooks graded at once on this machine (1: one after the other).
    dask : str, optional
        Address of a Dask scheduler: jobs run on its workers instead (``distributed`` needed).
    force : bool
        Regrade notebooks whose result is already recorded for the same submission.
    """

    def __init__(
        self,
        course: Course,
        workdir: Path,
        *,
        db_url: str | None = None,
        cell_timeout: float | None = None,
        limits: Limits | None = None,
        sandbox: str = "auto",
        hide: Iterable[Path] = (),
        workers: int = 1,
        dask: str | None = None,
        force: bool = False,
    ) -> None:
        if cell_timeout is not None and not cell_timeout > 0:
            raise CourseError(
                f"cell timeout must be a positive number of seconds, got {cell_timeout}"
            )
        if workers < 1:
            raise CourseError(f"workers must be at least 1, got {workers}")
        self.course = course
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # every job's folders live under this private parent, invisible to every kernel
        self._scratch = Path(tempfile.mkdtemp(prefix="mlsd-grading-"))
        self.api = nbgrader_api(
            course,
            self.workdir,
            # nbgrader writes a release while registering a day: keep it away from release/
            release_directory=str(self._scratch / "release"),
            submitted_directory=str(self._scratch / "submitted"),
            db_url=db_url or f"sqlite:///{self.workdir / 'gradebook.db'}",
        )
        if limits is None:
            limits = Limits(cell_timeout=course_cell_timeout(course))
        if cell_timeout is not None:
            limits = dataclasses.replace(limits, cell_timeout=float(cell_timeout))
        self.limits = limits
        try:
            self.sandbox = choose_sandbox(
                sandbox,
                expose=[Path(curriculum.__file__).parent, course.root / "datasets"],
                deny=[course.root, self.workdir, self._scratch, *hide, *_database_folder(db_url)],
            )
        except ValueError as exc:
            raise CourseError(str(exc)) from None
        self.workers, self.dask, self.force = workers, dask, force
        self.threads = threads_per_kernel(limits, 1 if dask else workers)
        self.course_id = self.api.coursedir.course_id
        self.db_url = self.api.coursedir.db_url
        self._registered: set[str] = set()
        self._texts: dict[tuple[str, str], tuple[str, str]] = {}

    def close(self) -> None:
        """Remove the session's scratch files (the throw-away release, job folders)."""
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> GradingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register(self, day: Day) -> None:
        """Put `day` and its grade cells in the gradebook (once per session)."""
        if day.id not in self._registered:
            gradebook.register_day(self.api, day.id)
            self._registered.add(day.id)

    def grade(
        self,
        day: Day,
        submissions: Mapping[str, Mapping[str, Path]],
        *,
        on_done: Callable[[str, list[NotebookGrade]], None] | None = None,
    ) -> list[NotebookGrade]:
        """Autograde every student's notebooks for `day`.

        Parameters
        ----------
        day : Day
            The assignment.
        submissions : mapping
            Student id → (notebook filename → path of the student's file). Files are read,
            never modified.
        on_done : callable, optional
            Called with the student id and their grades once all their notebooks are graded.

        Returns
        -------
        list of NotebookGrade
            One per student per notebook of the day, in the order of `submissions`; a student
            whose notebook could not be read or run gets zeros and the reason.
        """
        self.register(day)
        ready: list[NotebookGrade] = []
        jobs: list[GradeJob] = []
        for student, notebooks in submissions.items():
            for spec in day.notebooks:
                job = self._job(day, student, spec.filename, notebooks.get(spec.filename))
                (ready if isinstance(job, NotebookGrade) else jobs).append(job)
        pending = {student: {s.filename for s in day.notebooks} for student in submissions}
        grades: dict[tuple[str, str], NotebookGrade] = {}

        def finish(result: NotebookGrade) -> None:
            grades[(result.student, result.notebook)] = self._record(day, result)
            left = pending[result.student]
            left.discard(result.notebook)
            if not left and on_done is not None:
                on_done(
                    result.student, [grades[(result.student, s.filename)] for s in day.notebooks]
                )

        for result in ready:
            finish(result)
        for result in run_jobs(jobs, workers=self.workers, dask=self.dask):
            finish(result)
        return [
            grades[(student, spec.filename)] for student in submissions for spec in day.notebooks
        ]

    def _job(
        self, day: Day, student: str, filename: str, path: Path | None
    ) -> GradeJob | NotebookGrade:
        source, release = self._notebook_texts(day, filename)
        if path is None:
            reason = f"missing: no {filename} in the submission"
            return NotebookGrade.zeros(student, day.id, filename, source, reason)
        try:
            data = read_submission_file(path)
        except SubmissionError as exc:
            return NotebookGrade.zeros(student, day.id, filename, source, str(exc))
        job = GradeJob(
            student,
            day.id,
            filename,
            data,
            source,
            release,
            self.limits,
            self.sandbox,
            self.threads,
            str(self._scratch),
        )
        if not self.force:
            done = read_ledger(self.autograded_notebook(day, student, filename), job.digest)
            if done is not None:
                return done
        return job

    def _notebook_texts(self, day: Day, filename: str) -> tuple[str, str]:
        """The instructor's and the released text of a notebook, read once per session."""
        key = (day.id, filename)
        if key not in self._texts:
            spec = day.notebook(filename)
            source = self.course.source_notebook(day, spec)
            released = self._scratch / "release" / day.id / spec.filename
            release = released if released.exists() else self.course.release_notebook(day, spec)
            self._texts[key] = (
                source.read_text(encoding="utf-8"),
                release.read_text(encoding="utf-8"),
            )
        return self._texts[key]

    def autograded_notebook(self, day: Day, student: str, filename: str) -> Path:
        """Where the executed copy of a student's notebook is written."""
        return self.workdir / "autograded" / student / day.id / filename

    def _record(self, day: Day, result: NotebookGrade) -> NotebookGrade:
        """Write a result to autograded/, the ledger and the gradebook; return the grade."""
        out = self.autograded_notebook(day, result.student, result.notebook)
        out.parent.mkdir(parents=True, exist_ok=True)
        if result.executed:  # hidden test code never reaches autograded/ (nor feedback)
            executed = redact(nbformat.reads(result.executed, as_version=4))
            out.write_text(nbformat.writes(executed), encoding="utf-8")
        manual = gradebook.record(self.db_url, self.course_id, result)
        write_ledger(out, result)
        questions = [
            QuestionScore(
                q.grade_id, manual.get(q.grade_id, q.points), q.max_points, q.autograded, q.message
            )
            for q in result.questions
        ]
        return dataclasses.replace(result, questions=questions, executed="")


def _database_folder(db_url: str | None) -> list[Path]:
    """The folder of a SQLite gradebook given by URL (never exposed to student code)."""
    if db_url and db_url.startswith("sqlite:///"):
        return [Path(db_url.removeprefix("sqlite:///")).resolve().parent]
    return []
