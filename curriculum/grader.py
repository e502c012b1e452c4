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
import functools
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import nbgrader.api
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from curriculum.course import Course
from curriculum.errors import CourseError, NotebookError
from curriculum.notebooks import grade_cells, read_notebook
from curriculum.syllabus import Day

TIMEOUT_ERRORS = {"CellTimeoutError", "KeyboardInterrupt", "TimeoutError"}


@dataclass(frozen=True)
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
        First line of the failure for a failed test cell, else empty.
    """

    grade_id: str
    points: float | None
    max_points: float
    autograded: bool
    message: str = ""


@dataclass
class NotebookGrade:
    """The grade of one notebook of one student, or the reason it could not be graded."""

    student: str
    day: str
    notebook: str
    questions: list[QuestionScore] = field(default_factory=list)
    error: str = ""

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
    """An nbgrader course directory in which a day's submissions are autograded.

    Parameters
    ----------
    course : Course
        The course whose ``source/`` and ``nbgrader_config.py`` define the assignments.
    workdir : Path
        The nbgrader root for this session: ``autograded/``, ``feedback/`` and (unless `db_url`
        is given) ``gradebook.db`` are written here.
    db_url : str, optional
        Gradebook URL; default ``sqlite:///<workdir>/gradebook.db``.
    cell_timeout : int, optional
        Seconds a cell may run before it is interrupted and fails; default from
        ``nbgrader_config.py`` (``Execute.timeout``).
    """

    def __init__(
        self,
        course: Course,
        workdir: Path,
        *,
        db_url: str | None = None,
        cell_timeout: int | None = None,
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
        if cell_timeout is not None:
            if cell_timeout <= 0:
                raise CourseError(
                    f"cell timeout must be a positive number of seconds, got {cell_timeout}"
                )
            self.api.config.Execute.timeout = int(cell_timeout)
        self.course_id = self.api.coursedir.course_id
        self.db_url = self.api.coursedir.db_url
        self._registered: set[str] = set()

    def close(self) -> None:
        """Remove the session's scratch files (staged submissions, throw-away release)."""
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

    # -- submissions ----------------------------------------------------------------------------

    def stage(self, day: Day, student: str, notebooks: Mapping[str, Path]) -> dict[str, str]:
        """Copy a student's notebooks where nbgrader expects them, checking each one first.

        Parameters
        ----------
        day : Day
            The assignment.
        student : str
            The student id.
        notebooks : mapping of str to Path
            Notebook filename (as in the syllabus) → the student's file. Files are copied, never
            modified.

        Returns
        -------
        dict of str to str
            Notebook filename → why it cannot be graded, for each missing or unreadable file.
        """
        target = self._scratch / "submitted" / student / day.id
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        problems = {}
        for spec in day.notebooks:
            path = notebooks.get(spec.filename)
            if path is None:
                problems[spec.filename] = f"missing: no {spec.filename} in the submission"
                continue
            try:
                read_notebook(path)
            except NotebookError as exc:
                problems[spec.filename] = _strip_path(str(exc), path)
                continue
            shutil.copyfile(path, target / spec.filename)
        return problems

    def autograde(self, day: Day, student: str) -> str:
        """Autograde one staged student; return an empty string or why nbgrader failed."""
        try:
            result = self.api.autograde(day.id, student, force=True, create=True)
        except Exception as exc:  # nbgrader and the kernel can fail in many ways
            return f"autograding failed: {type(exc).__name__}: {exc}"
        if result.get("success"):
            return ""
        return "autograding failed: " + _last_line(result.get("error") or result.get("log"))

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
            Student id → (notebook filename → path of the student's file).
        on_done : callable, optional
            Called with the student id and their grades after each student (progress).

        Returns
        -------
        list of NotebookGrade
            One per student per notebook of the day, in the order of `submissions`.
        """
        self.register(day)
        grades: list[NotebookGrade] = []
        for student, notebooks in submissions.items():
            try:
                student_grades = self._grade_student(day, student, notebooks)
            except Exception as exc:  # never let one student stop the batch
                reason = f"grading failed: {type(exc).__name__}: {exc}"
                student_grades = [
                    self._zero(day, student, spec.filename, reason) for spec in day.notebooks
                ]
            grades.extend(student_grades)
            if on_done is not None:
                on_done(student, student_grades)
        return grades

    def _grade_student(
        self, day: Day, student: str, notebooks: Mapping[str, Path]
    ) -> list[NotebookGrade]:
        problems = self.stage(day, student, notebooks)
        if len(problems) == len(day.notebooks):
            return [self._zero(day, student, name, why) for name, why in problems.items()]
        failure = self.autograde(day, student)
        results = []
        for spec in day.notebooks:
            if spec.filename in problems:
                results.append(self._zero(day, student, spec.filename, problems[spec.filename]))
            elif failure:
                results.append(self._zero(day, student, spec.filename, failure))
            else:
                results.append(self._read_grade(day, student, spec.filename))
        return results

    # -- results --------------------------------------------------------------------------------

    def autograded_notebook(self, day: Day, student: str, filename: str) -> Path:
        """Where nbgrader wrote the executed copy of a student's notebook."""
        return self.workdir / "autograded" / student / day.id / filename

    def _zero(self, day: Day, student: str, filename: str, reason: str) -> NotebookGrade:
        source = read_notebook(self.course.source_notebook(day, day.notebook(filename)))
        questions = [
            QuestionScore(cell.grade_id, 0.0, cell.points, cell.autograded, reason)
            for cell in grade_cells(source)
            if cell.grade
        ]
        return NotebookGrade(student, day.id, filename, questions, error=reason)

    def _read_grade(self, day: Day, student: str, filename: str) -> NotebookGrade:
        stem = filename.removesuffix(".ipynb")
        messages = failure_messages(self.autograded_notebook(day, student, filename))
        questions = []
        with Gradebook(self.db_url, self.course_id) as gb:
            try:
                submitted = gb.find_submission_notebook(stem, day.id, student)
            except MissingEntry:
                return self._zero(day, student, filename, "nbgrader recorded no grades")
            source = read_notebook(self.course.source_notebook(day, day.notebook(filename)))
            cells = {cell.grade_id: cell for cell in grade_cells(source)}
            order = {name: i for i, name in enumerate(cells)}
            for g in sorted(submitted.grades, key=lambda g: order.get(g.name, len(order))):
                info = g.to_dict()
                cell = cells.get(info["name"])
                autograded = cell.autograded if cell else info["cell_type"] == "code"
                if info["manual_score"] is not None:
                    points = info["manual_score"]
                elif info["auto_score"] is not None:
                    points = info["auto_score"]
                else:
                    points = None
                questions.append(
                    QuestionScore(
                        grade_id=info["name"],
                        points=points,
                        max_points=float(info["max_score"] or 0.0),
                        autograded=autograded,
                        message=messages.get(info["name"], "") if autograded else "",
                    )
                )
        return NotebookGrade(student, day.id, filename, questions)

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


def failure_messages(path: Path) -> dict[str, str]:
    """First line of the error of each failing graded cell of an executed notebook."""
    if not Path(path).exists():
        return {}
    nb = nbformat.read(path, as_version=4)
    messages = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not grade_id or cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            ename, evalue = output.get("ename", "Error"), str(output.get("evalue", ""))
            if ename in TIMEOUT_ERRORS:
                messages[grade_id] = f"{ename}: the cell did not finish in time (interrupted)"
            else:
                first = evalue.strip().splitlines()[0] if evalue.strip() else ""
                messages[grade_id] = f"{ename}: {first}" if first else ename
            break
    return messages


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _strip_path(message: str, path: Path) -> str:
    return message.replace(f"{path}: ", "", 1)


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
    cell_timeout: int | None = None,
    on_done: Callable[[str, list[NotebookGrade]], None] | None = None,
) -> list[NotebookGrade]:
    """The instructor's batch: autograde every student in the course directory, write a CSV.

    Autograded notebooks go to the course's ``autograded/`` and scores to its ``gradebook.db``,
    as with ``nbgrader autograde``; `csv_path` gets one row per student per question and a
    ``TOTAL`` row per student and notebook.
    """
    submissions = find_submissions(submissions_dir, day)
    with GradingSession(course, course.root, cell_timeout=cell_timeout) as session:
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
                    g.error,
                ]
            )
