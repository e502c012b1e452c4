"""The self-study learner's instant feedback: ``mlsd check NOTEBOOK``.

The learner's notebook is copied into a temporary nbgrader course and autograded there exactly as
an instructor's autograder would (hidden tests included). Their file is only read.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from curriculum.course import Course
from curriculum.errors import CourseError
from curriculum.grading.feedback import write_feedback
from curriculum.grading.results import NotebookGrade
from curriculum.grading.session import GradingSession
from curriculum.notebooks import grade_cells, read_notebook
from curriculum.syllabus import SYLLABUS, Day, NotebookSpec, get_day

LEARNER = "you"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one notebook.

    Attributes
    ----------
    day : Day
        The day the notebook belongs to.
    notebook : NotebookSpec
        Which of the day's notebooks it is.
    grade : NotebookGrade
        Points per question.
    feedback : Path or None
        nbgrader's HTML feedback written beside the learner's notebook.
    """

    day: Day
    notebook: NotebookSpec
    grade: NotebookGrade
    feedback: Path | None


def identify_notebook(
    course: Course, path: Path, day_id: str | None = None
) -> tuple[Day, NotebookSpec]:
    """Find which syllabus notebook a learner's file is.

    By file name first; a renamed copy (``orientation-Copy1.ipynb``) is recognised by its grade
    cells. `day_id` restricts the search to one day.

    Raises
    ------
    NotebookError, CourseError
        If the file is not a readable notebook or matches no notebook of the course.
    """
    nb = read_notebook(path)
    days = [get_day(day_id)] if day_id else list(SYLLABUS)
    for day in days:
        for spec in day.notebooks:
            if spec.filename == path.name:
                return day, spec
    ids = {cell.grade_id for cell in grade_cells(nb)}
    best, best_overlap = None, 0
    for day in days:
        for spec in day.notebooks:
            source = course.source_notebook(day, spec)
            if not source.exists():
                continue
            overlap = len(ids & {cell.grade_id for cell in grade_cells(read_notebook(source))})
            if overlap > best_overlap:
                best, best_overlap = (day, spec), overlap
    if best is None:
        names = ", ".join(f"{d.id}/{s.filename}" for d in days for s in d.notebooks)
        raise CourseError(
            f"{path}: not a notebook of this course (no graded cells match; course notebooks: "
            f"{names})"
        )
    return best


def feedback_path(path: Path) -> Path:
    """Where ``mlsd check`` writes the feedback: ``<name>.feedback.html`` beside the notebook."""
    return path.with_name(f"{path.stem}.feedback.html")


def check_notebook(
    course: Course, path: Path, *, day_id: str | None = None, feedback: bool = True
) -> CheckResult:
    """Grade a copy of the learner's notebook and write feedback beside it.

    Parameters
    ----------
    course : Course
        The course (for the instructor versions with hidden tests).
    path : Path
        The learner's notebook; it is read, never written.
    day_id : str, optional
        The day, when the notebook cannot be recognised by its file name.
    feedback : bool
        Write ``<name>.feedback.html`` beside the notebook.

    Returns
    -------
    CheckResult
        Points per question and where the feedback went.
    """
    path = Path(path).resolve()
    day, spec = identify_notebook(course, path, day_id)
    with tempfile.TemporaryDirectory(prefix="mlsd-check-") as tmp:
        with GradingSession(course, Path(tmp)) as session:
            # grade the learner's file under the syllabus name nbgrader knows
            (grade,) = [
                g
                for g in session.grade(day, {LEARNER: {spec.filename: path}})
                if g.notebook == spec.filename
            ]
            written = None
            if feedback and not grade.error:
                html = write_feedback(session, day, LEARNER).get(spec.filename)
                if html is not None:
                    written = feedback_path(path)
                    shutil.copyfile(html, written)
    return CheckResult(day, spec, grade, written)
