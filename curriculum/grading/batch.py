"""The instructor's batch: find the submissions, grade them all, write one CSV.

Every student found gets rows, whatever their files are; a student's broken notebook is their
reason, never a stop for the others. Text in the CSV that a spreadsheet would run as a formula
(a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is neutralised.
"""

from __future__ import annotations

import csv
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from curriculum.course import Course
from curriculum.errors import CourseError
from curriculum.grading.results import NotebookGrade, clean_text
from curriculum.grading.session import GradingSession
from curriculum.syllabus import Day

GRADES_COLUMNS = ("student", "day", "notebook", "question", "points", "max_points", "kind", "note")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def find_submissions(submissions_dir: Path, day: Day) -> dict[str, dict[str, Path]]:
    """Collect ``DIR/<student>/<day>/*.ipynb`` as nbgrader lays out submissions.

    Student and day folders must be real folders (not links). A notebook path is listed even if
    it is not a regular file, so that the student gets a row saying why it was refused.

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
        p for p in submissions_dir.iterdir() if _is_real_folder(p) and not p.name.startswith(".")
    )
    if not students:
        raise CourseError(
            f"{submissions_dir}: no student folders (expected {submissions_dir}/<student>/"
            f"{day.id}/*.ipynb)"
        )
    found: dict[str, dict[str, Path]] = {}
    for student_dir in students:
        day_dir = student_dir / day.id
        notebooks = {}
        if _is_real_folder(day_dir):
            for spec in day.notebooks:
                path = day_dir / spec.filename
                if path.is_symlink() or path.exists():
                    notebooks[spec.filename] = path
        found[student_dir.name] = notebooks
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
    """Autograde every student in the course directory and write the grades CSV.

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
        Passed to :class:`~curriculum.grading.session.GradingSession` (``cell_timeout``,
        ``limits``, ``sandbox``, ``workers``, ``dask``, ``db_url``, ``force``).
    """
    submissions = find_submissions(submissions_dir, day)
    hide = [Path(submissions_dir), *session_options.pop("hide", ())]
    with GradingSession(course, course.root, hide=hide, **session_options) as session:
        grades = session.grade(day, submissions, on_done=on_done)
    write_grades_csv(grades, csv_path)
    return grades


def spreadsheet_safe(text: str) -> str:
    """`text` as a CSV cell no spreadsheet runs as a formula (prefixed with ``'`` if needed)."""
    text = clean_text(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_grades_csv(grades: Iterable[NotebookGrade], path: Path) -> None:
    """Write one row per student per question plus a TOTAL row per notebook."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = spreadsheet_safe
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(GRADES_COLUMNS)
        for g in grades:
            for q in g.questions:
                writer.writerow(
                    [
                        safe(g.student),
                        g.day,
                        safe(g.notebook),
                        q.grade_id,
                        "" if q.points is None else f"{q.points:g}",
                        f"{q.max_points:g}",
                        "auto" if q.autograded else "manual",
                        safe(q.message if q.points is not None else "awaiting manual grading"),
                    ]
                )
            writer.writerow(
                [
                    safe(g.student),
                    g.day,
                    safe(g.notebook),
                    "TOTAL",
                    f"{g.score:g}",
                    f"{g.max_score:g}",
                    "total",
                    safe("; ".join(filter(None, [_regrade(g), g.error, *g.notes]))),
                ]
            )


def _regrade(grade: NotebookGrade) -> str:
    return f"to regrade (busy machine): {grade.regrade}" if grade.regrade else ""
