"""Grading with nbgrader, shared by ``mlsd check``, ``mlsd grade`` and ``mlsd run``.

The learner's check, the instructor's batch and the autograding step of the main job all go
through :class:`GradingSession`.

A session is an nbgrader course directory (the real one for an instructor, a temporary one for a
learner) configured from the course's own ``nbgrader_config.py``. It registers a day in the
gradebook without touching ``release/``, stages submissions after checking each one is a readable
notebook, autogrades every student on its own (one broken submission never stops the others) and
reads the points per question back from the gradebook.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbgrader.api
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

import curriculum
from curriculum.autograde import (
    GradeJob,
    JobResult,
    Limits,
    QuestionScore,
    run_job,
    zero_result,
)
from curriculum.course import Course
from curriculum.errors import CourseError
from curriculum.sandbox import choose_sandbox
from curriculum.syllabus import Day


@dataclass
class NotebookGrade:
    """The grade of one notebook of one student, or the reason it could not be graded."""

    student: str
    day: str
    notebook: str
    questions: list[QuestionScore] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""

    @property
    def score(self) -> float:
        """Points given so far (manual answers not yet graded count as 0)."""
        return sum(q.points or 0.0 for q in self.questions)

    @property
    def max_score(self) -> float:
        """Points available in the notebook."""
        return sum(q.max_points for q in self.questions)

    @property
    def auto_score(self) -> float:
        """Points given by autograded cells."""
        return sum(q.points or 0.0 for q in self.questions if q.autograded)

    @property
    def auto_max_score(self) -> float:
        """Points available in autograded cells."""
        return sum(q.max_points for q in self.questions if q.autograded)

    def points(self) -> dict[str, float | None]:
        """Points by grade id."""
        return {q.grade_id: q.points for q in self.questions}


def _put_environment_on_path() -> None:
    """Put this Python's ``bin/`` on PATH.

    nbgrader runs the ``alembic`` command of its environment by name; it must be found even when
    ``mlsd`` was started as ``.venv/bin/mlsd`` without activating the environment.
    """
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in path:
        os.environ["PATH"] = os.pathsep.join([bindir, *path])


@functools.cache
def _alembic_head() -> str:
    """The gradebook schema revision, computed in-process.

    nbgrader asks for it by running the ``alembic`` command in a subprocess each time it creates
    a gradebook, which costs about 4 s per temporary course (most of ``mlsd check``'s overhead).
    The answer only depends on the installed nbgrader, so read it once from its migration scripts.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    head = ScriptDirectory.from_config(config).get_current_head()
    if not head:
        raise RuntimeError("nbgrader's gradebook migrations have no head revision")
    return head


def _speed_up_gradebook_creation() -> None:
    try:
        _alembic_head()
    except Exception:  # keep nbgrader's own (slow) way if alembic's layout ever changes
        return
    nbgrader.api.get_alembic_version = _alembic_head


def load_course_config(course: Course) -> Config:
    """Load the course's ``nbgrader_config.py`` as a traitlets :class:`Config`."""
    loader = PyFileConfigLoader(course.config_file.name, path=str(course.root))
    return loader.load_config()


def course_cell_timeout(course: Course) -> float:
    """The course's cell timeout in seconds (``Execute.timeout`` in ``nbgrader_config.py``)."""
    return float(load_course_config(course).Execute.get("timeout", 60) or 60)


def nbgrader_api(course: Course, root: Path, **coursedir: str) -> NbGraderAPI:
    """An nbgrader API for a course directory rooted at `root`, configured from the course.

    Parameters
    ----------
    course : Course
        Its ``nbgrader_config.py`` gives every setting; its ``source/`` is the source directory.
    root : Path
        nbgrader's root: relative directories (``autograded``, ``feedback``) are under it.
    **coursedir : str
        Other ``CourseDirectory`` settings, e.g. ``release_directory=...`` or ``db_url=...``.
    """
    _put_environment_on_path()
    _speed_up_gradebook_creation()
    # nbgrader 0.9 triggers harmless SQLAlchemy autoflush warnings on every autograde
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    config = load_course_config(course)
    settings = {"root": str(root), "source_directory": str(course.root / "source"), **coursedir}
    config.merge(
        Config(
            {
                "CourseDirectory": settings,
                "NbGraderAPI": {"log_level": logging.ERROR},
                # nbgrader's exchange (release/collect service) is unused here; it only needs an
                # existing writable folder to list, or it logs a critical error
                "Exchange": {"root": tempfile.gettempdir()},
            }
        )
    )
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


class GradingSession:
    """An nbgrader course directory in which a day's submissions are autograded in isolation.

    Each notebook of each student is a :class:`~curriculum.autograde.GradeJob` executed in its
    own throw-away directory (sandboxed where bubblewrap works), serially, on a local process
    pool or on a Dask cluster. Only this object (the coordinator) writes the gradebook, the
    ``autograded/`` notebooks and the resume ledger beside them.

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
        Seconds a cell may run before it is interrupted and fails; default from
        ``nbgrader_config.py`` (``Execute.timeout``).
    limits : Limits, optional
        Cell timeout, wall-clock, memory and output limits; default :class:`Limits` with the
        cell timeout of ``nbgrader_config.py``. `cell_timeout` overrides its cell timeout.
    sandbox : {"auto", "bwrap", "directory"}
        How kernels are isolated (see :mod:`curriculum.sandbox`).
    hide : iterable of Path
        More folders student code must not see (e.g. the folder of all submissions).
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
        self.course = course
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix="mlsd-grading-"))
        self.api = nbgrader_api(
            course,
            self.workdir,
            # nbgrader writes a release while registering a day: keep it away from release/
            release_directory=str(self._scratch / "release"),
            submitted_directory=str(self._scratch / "submitted"),
            db_url=db_url or f"sqlite:///{self.workdir / 'gradebook.db'}",
        )
        if cell_timeout is not None and not cell_timeout > 0:
            raise CourseError(
                f"cell timeout must be a positive number of seconds, got {cell_timeout}"
            )
        if workers < 1:
            raise CourseError(f"workers must be at least 1, got {workers}")
        if limits is None:  # the course's nbgrader_config.py sets the default cell timeout
            limits = Limits(cell_timeout=course_cell_timeout(course))
        if cell_timeout is not None:
            limits = dataclasses.replace(limits, cell_timeout=float(cell_timeout))
        self.limits = limits
        try:
            self.sandbox = choose_sandbox(
                sandbox,
                hide=[course.root, self.workdir, self._scratch, *hide, *_database_folder(db_url)],
                expose=[
                    Path(curriculum.__file__).parent,
                    course.root / "datasets",
                    sys.prefix,
                    sys.base_prefix,
                ],
            )
        except ValueError as exc:
            raise CourseError(str(exc)) from None
        self.workers, self.dask, self.force = workers, dask, force
        self.course_id = self.api.coursedir.course_id
        self.db_url = self.api.coursedir.db_url
        self._registered: set[str] = set()
        self._texts: dict[tuple[str, str], tuple[str, str]] = {}

    def close(self) -> None:
        """Remove the session's scratch files (the throw-away release)."""
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> GradingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the assignment -------------------------------------------------------------------------

    def register(self, day: Day) -> None:
        """Put `day` and its grade cells in the gradebook (nbgrader ``generate_assignment``)."""
        if day.id in self._registered:
            return
        result = self.api.generate_assignment(day.id, force=True, create=True)
        if not result.get("success"):
            reason = _last_line(result.get("error") or result.get("log"))
            raise CourseError(f"nbgrader could not register {day.id}: {reason}")
        self._registered.add(day.id)

    # -- grading --------------------------------------------------------------------------------

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
        results: dict[tuple[str, str], JobResult] = {}
        jobs: list[GradeJob] = []
        for student, notebooks in submissions.items():
            for spec in day.notebooks:
                job_or_result = self._job(day, student, spec.filename, notebooks.get(spec.filename))
                if isinstance(job_or_result, JobResult):
                    results[(student, spec.filename)] = job_or_result
                else:
                    jobs.append(job_or_result)
        pending = {student: {s.filename for s in day.notebooks} for student in submissions}
        grades: dict[tuple[str, str], NotebookGrade] = {}

        def finish(result: JobResult) -> None:
            grades[(result.student, result.notebook)] = self._record(day, result)
            left = pending[result.student]
            left.discard(result.notebook)
            if not left and on_done is not None:
                on_done(
                    result.student, [grades[(result.student, s.filename)] for s in day.notebooks]
                )

        for result in results.values():
            finish(result)
        for result in self._run(jobs):
            finish(result)
        return [
            grades[(student, spec.filename)] for student in submissions for spec in day.notebooks
        ]

    def _job(
        self, day: Day, student: str, filename: str, path: Path | None
    ) -> GradeJob | JobResult:
        source, release = self._notebook_texts(day, filename)
        if path is None:
            reason = f"missing: no {filename} in the submission"
            return zero_result(student, day.id, filename, source, reason)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            reason = f"unreadable: {exc.strerror or exc}"
            return zero_result(student, day.id, filename, source, reason)
        job = GradeJob(student, day.id, filename, data, source, release, self.limits, self.sandbox)
        if not self.force:
            done = self._ledger(day, student, filename, job.digest)
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

    def _run(self, jobs: list[GradeJob]) -> Iterator[JobResult]:
        if not jobs:
            return
        if self.dask:
            yield from _run_on_dask(self.dask, jobs)
        elif self.workers == 1 or len(jobs) == 1:
            for job in jobs:
                yield run_job(job)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=context) as pool:
                futures = {pool.submit(run_job, job): job for job in jobs}
                for future in as_completed(futures):
                    try:
                        yield future.result()
                    except Exception as exc:  # a worker process died: still a row
                        yield _failed(futures[future], exc, "grading failed")

    # -- results --------------------------------------------------------------------------------

    def autograded_notebook(self, day: Day, student: str, filename: str) -> Path:
        """Where the executed copy of a student's notebook is written."""
        return self.workdir / "autograded" / student / day.id / filename

    def _ledger_path(self, day: Day, student: str, filename: str) -> Path:
        path = self.autograded_notebook(day, student, filename)
        return path.with_name(path.name.removesuffix(".ipynb") + ".mlsd.json")

    def _ledger(self, day: Day, student: str, filename: str, digest: str) -> JobResult | None:
        path = self._ledger_path(day, student, filename)
        if not self.autograded_notebook(day, student, filename).exists():
            return None  # the executed notebook is gone (feedback needs it): grade again
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("digest") != digest:
                return None
            return JobResult.from_dict(saved)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def _record(self, day: Day, result: JobResult) -> NotebookGrade:
        """Write a result to autograded/, the ledger and the gradebook; return the grade."""
        out = self.autograded_notebook(day, result.student, result.notebook)
        out.parent.mkdir(parents=True, exist_ok=True)
        if result.executed:
            out.write_text(result.executed, encoding="utf-8")
        manual = self._write_gradebook(day, result)
        ledger = self._ledger_path(day, result.student, result.notebook)
        ledger.write_text(json.dumps(result.to_dict(), indent=1), encoding="utf-8")
        questions = [
            QuestionScore(
                c.grade_id,
                manual.get(c.grade_id, c.points),
                c.max_points,
                c.autograded,
                c.message,
            )
            for c in result.cells
        ]
        return NotebookGrade(
            result.student,
            day.id,
            result.notebook,
            questions,
            error=result.error,
            notes=list(result.notes),
            sandbox=result.sandbox,
        )

    def _write_gradebook(self, day: Day, result: JobResult) -> dict[str, float]:
        """Record autograded scores; return the manual scores a person already gave."""
        stem = result.notebook.removesuffix(".ipynb")
        manual: dict[str, float] = {}
        with Gradebook(self.db_url, self.course_id) as gb:
            gb.update_or_create_student(result.student)
            gb.update_or_create_submission(day.id, result.student)
            for cell in result.cells:
                try:
                    grade = gb.find_grade(cell.grade_id, stem, day.id, result.student)
                except MissingEntry:
                    continue
                if cell.autograded:
                    grade.auto_score = cell.points
                    grade.needs_manual_grade = grade.manual_score is not None
                else:
                    grade.auto_score = None
                    grade.needs_manual_grade = grade.manual_score is None
                if grade.manual_score is not None:
                    manual[cell.grade_id] = float(grade.manual_score)
            gb.db.commit()
        return manual

    def feedback(self, day: Day, student: str) -> dict[str, Path]:
        """Generate nbgrader's HTML feedback for a graded student; filename → HTML path."""
        result = self.api.generate_feedback(day.id, student, force=True)
        if not result.get("success"):
            raise CourseError(
                "nbgrader could not write feedback: "
                + _last_line(result.get("error") or result.get("log"))
            )
        out = {}
        for spec in day.notebooks:
            html = self.workdir / "feedback" / student / day.id / f"{spec.stem}.html"
            if html.exists():
                out[spec.filename] = html
        return out


def _database_folder(db_url: str | None) -> list[Path]:
    """The folder of a SQLite gradebook given by URL (to hide it from student code)."""
    if db_url and db_url.startswith("sqlite:///"):
        return [Path(db_url.removeprefix("sqlite:///")).resolve().parent]
    return []


def _failed(job: GradeJob, exc: Exception, what: str) -> JobResult:
    """Zeros for a job whose worker failed, with the reason."""
    reason = f"{what}: {type(exc).__name__}: {exc}"
    return zero_result(job.student, job.day, job.notebook, job.source, reason)


def _run_on_dask(address: str, jobs: list[GradeJob]) -> Iterator[JobResult]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise CourseError(
            "--dask needs the distributed package: pip install 'ml-system-design-lab[dask]'"
        ) from None
    try:
        client = Client(address, timeout="30s")
    except Exception as exc:
        raise CourseError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        futures = client.map(run_job, jobs, pure=False)
        index = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # a worker died or the job could not be shipped
                yield _failed(index[future.key], exc, "grading failed on the Dask cluster")


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def find_submissions(submissions_dir: Path, day: Day) -> dict[str, dict[str, Path]]:
    """Collect ``DIR/<student>/<day>/*.ipynb`` as nbgrader lays out submissions.

    Returns
    -------
    dict
        Student id (sorted) → notebook filename → path. A student folder without the day's
        folder is listed with no notebooks, so it gets a row saying so.

    Raises
    ------
    CourseError
        If `submissions_dir` does not exist or holds no student folders.
    """
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise CourseError(f"{submissions_dir}: no such folder of submissions")
    students = sorted(
        p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not students:
        raise CourseError(
            f"{submissions_dir}: no student folders (expected {submissions_dir}/<student>/"
            f"{day.id}/*.ipynb)"
        )
    found: dict[str, dict[str, Path]] = {}
    for student_dir in students:
        day_dir = student_dir / day.id
        found[student_dir.name] = {
            spec.filename: day_dir / spec.filename
            for spec in day.notebooks
            if (day_dir / spec.filename).exists()
        }
    return found


def grade_batch(
    course: Course,
    day: Day,
    submissions_dir: Path,
    *,
    csv_path: Path,
    on_done: Callable[[str, list[NotebookGrade]], None] | None = None,
    **session_options,
) -> list[NotebookGrade]:
    """The instructor's batch: autograde every student in the course directory, write a CSV.

    Autograded notebooks go to the course's ``autograded/`` and scores to its gradebook (as with
    ``nbgrader autograde``); `csv_path` gets one row per student per question and a ``TOTAL`` row
    per student and notebook. Student code never sees `submissions_dir` (other students' work).

    Parameters
    ----------
    course, day, submissions_dir
        What to grade: ``submissions_dir/<student>/<day>/*.ipynb``.
    csv_path : Path
        The grades CSV to write.
    on_done : callable, optional
        Progress: called with each student's grades when they are done.
    **session_options
        Passed to :class:`GradingSession` (``cell_timeout``, ``limits``, ``sandbox``,
        ``workers``, ``dask``, ``db_url``, ``force``).
    """
    submissions = find_submissions(submissions_dir, day)
    hide = [Path(submissions_dir), *session_options.pop("hide", ())]
    with GradingSession(course, course.root, hide=hide, **session_options) as session:
        grades = session.grade(day, submissions, on_done=on_done)
    write_grades_csv(grades, csv_path)
    return grades


GRADES_COLUMNS = ("student", "day", "notebook", "question", "points", "max_points", "kind", "note")


def write_grades_csv(grades: Iterable[NotebookGrade], path: Path) -> None:
    """Write one row per student per question plus a TOTAL row per notebook."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(GRADES_COLUMNS)
        for g in grades:
            for q in g.questions:
                writer.writerow(
                    [
                        g.student,
                        g.day,
                        g.notebook,
                        q.grade_id,
                        "" if q.points is None else f"{q.points:g}",
                        f"{q.max_points:g}",
                        "auto" if q.autograded else "manual",
                        q.message if q.points is not None else "awaiting manual grading",
                    ]
                )
            writer.writerow(
                [
                    g.student,
                    g.day,
                    g.notebook,
                    "TOTAL",
                    f"{g.score:g}",
                    f"{g.max_score:g}",
                    "total",
                    "; ".join(filter(None, [g.error, *g.notes])),
                ]
            )
