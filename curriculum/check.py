"""The self-study learner's instant feedback: ``mlsd check NOTEBOOK``.

The learner's notebook is autograded in a temporary nbgrader course exactly as an instructor's
``mlsd grade`` would (hidden tests in the examiner, the sandbox, the limits). Their file is only
read. Beside it goes a feedback page (:mod:`curriculum.feedback_page`) with the rubric of every
written answer they have attempted; in a workspace, the result is recorded for ``mlsd progress``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from curriculum.course import Course
from curriculum.errors import CourseError
from curriculum.feedback_page import feedback_page
from curriculum.grading.results import NotebookGrade
from curriculum.grading.session import GradingSession
from curriculum.notebooks import grade_cells, read_notebook
from curriculum.progress import record_check
from curriculum.report import Headline, read_headlines
from curriculum.rubrics import SelfAssessment, self_assessments
from curriculum.syllabus import SYLLABUS, Day, NotebookSpec, get_day
from curriculum.workspace import find_workspace

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
        The feedback page written beside the learner's notebook.
    self_assessment : list of SelfAssessment
        Each written answer: attempted or not, and then its rubric (and reference answer).
    headlines : list of Headline
        The lab's *baseline → you → oracle* numbers from the graded run.
    """

    day: Day
    notebook: NotebookSpec
    grade: NotebookGrade
    feedback: Path | None
    self_assessment: list[SelfAssessment] = field(default_factory=list)
    headlines: list[Headline] = field(default_factory=list)


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
    course: Course,
    path: Path,
    *,
    day_id: str | None = None,
    feedback: bool = True,
    sandbox: str = "auto",
) -> CheckResult:
    """Grade a copy of the learner's notebook and write feedback beside it.

    Parameters
    ----------
    course : Course
        The course (for the instructor versions with hidden tests and rubrics).
    path : Path
        The learner's notebook; it is read, never written.
    day_id : str, optional
        The day, when the notebook cannot be recognised by its file name.
    feedback : bool
        Write ``<name>.feedback.html`` beside the notebook.
    sandbox : {"auto", "bwrap", "directory"}
        How the learner's kernel is isolated while grading.

    Returns
    -------
    CheckResult
        Points per question, the self-assessment of written answers, where the feedback went.
    """
    path = Path(path).resolve()
    day, spec = identify_notebook(course, path, day_id)
    learner = read_notebook(path)
    source = read_notebook(course.source_notebook(day, spec))
    release = read_notebook(course.release_notebook(day, spec))
    assessments = self_assessments(source, release, learner)
    with tempfile.TemporaryDirectory(prefix="mlsd-check-") as tmp:
        with GradingSession(course, Path(tmp), sandbox=sandbox) as session:
            # grade the learner's file under the syllabus name nbgrader knows
            (grade,) = [
                g
                for g in session.grade(day, {LEARNER: {spec.filename: path}})
                if g.notebook == spec.filename
            ]
            graded_path = session.autograded_notebook(day, LEARNER, spec.filename)
            graded = nbformat.read(graded_path, as_version=4) if graded_path.exists() else None
    headlines = read_headlines(graded) if graded is not None else []
    written = None
    if feedback and graded is not None:
        written = feedback_path(path)
        page = feedback_page(grade, graded, headlines, assessments)
        written.write_text(page, encoding="utf-8")
    result = CheckResult(day, spec, grade, written, assessments, headlines)
    workspace = find_workspace(path.parent)
    if workspace is not None:
        record_check(workspace, path, result)
    return result
