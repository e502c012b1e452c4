"""nbgrader's gradebook: register a day's graded cells, record autograded scores.

Only the coordinating process writes the gradebook, after each job; manual scores a person gave
in formgrader are read back so a regrade never loses them.
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry

from curriculum.errors import GradingError
from curriculum.grading.results import NotebookGrade


def last_line(text: str | None) -> str:
    """The last non-empty line of a log (nbgrader's error), or 'unknown error'."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def register_day(api, day_id: str) -> None:
    """Put a day and its grade cells in the gradebook (nbgrader ``generate_assignment``)."""
    result = api.generate_assignment(day_id, force=True, create=True)
    if not result.get("success"):
        reason = last_line(result.get("error") or result.get("log"))
        raise GradingError(f"nbgrader could not register {day_id}: {reason}")


def record(db_url: str, course_id: str, grade: NotebookGrade) -> dict[str, float]:
    """Record autograded scores of `grade`; return the manual scores a person already gave."""
    stem = grade.notebook.removesuffix(".ipynb")
    manual: dict[str, float] = {}
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_student(grade.student)
        gb.update_or_create_submission(grade.day, grade.student)
        for question in grade.questions:
            try:
                cell = gb.find_grade(question.grade_id, stem, grade.day, grade.student)
            except MissingEntry:
                continue
            if question.autograded:
                cell.auto_score = question.points
                cell.needs_manual_grade = cell.manual_score is not None
            else:
                cell.auto_score = None
                cell.needs_manual_grade = cell.manual_score is None
            if cell.manual_score is not None:
                manual[question.grade_id] = float(cell.manual_score)
        gb.db.commit()
    return manual
