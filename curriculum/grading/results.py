"""What grading produces: points per question of one notebook of one student.

One result type travels through every step: a job returns a :class:`NotebookGrade` (plain data,
so it crosses process and machine boundaries), the ledger saves it, the session adds the manual
scores a person already gave, and the CSV, the tables and ``mlsd check`` read it. Everywhere,
``day`` is the assignment id (``"day0"``) and ``notebook`` the file name (``"orientation.ipynb"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import nbformat

from curriculum.notebooks import grade_cells


def clean_text(text: str) -> str:
    """`text` made safe to write anywhere as UTF-8: lone surrogates become U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


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
class NotebookGrade:
    """The grade of one notebook of one student, or the reason it could not be graded.

    Attributes
    ----------
    student, day, notebook : str
        Who, which assignment (``day0``) and which notebook file (``orientation.ipynb``).
    questions : list of QuestionScore
        One per graded cell of the instructor's notebook, in order.
    error : str
        Why grading stopped early or could not start (empty when it ran to the end).
    notes : list of str
        What the grader changed in the submission (restored or re-added cells...).
    sandbox : str
        How the kernel was isolated (``bwrap`` or ``directory``).
    seconds : float
        Time the job took.
    digest : str
        Hash of what decided the grade (for resuming a batch).
    regrade : str
        Non-empty when the grade may be lower than the work deserves through no fault of the
        learner's (a cell stopped by the wall clock on a busy machine, the grader failing):
        what happened. Grade it again on a quieter machine.
    executed : str
        The executed notebook as JSON text (not kept in the ledger).
    """

    student: str
    day: str
    notebook: str
    questions: list[QuestionScore] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""
    seconds: float = 0.0
    digest: str = ""
    regrade: str = ""
    executed: str = ""

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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy without the executed notebook."""
        out = asdict(self)
        out.pop("executed")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotebookGrade:
        """Rebuild a grade saved with :meth:`to_dict`."""
        data = dict(data)
        questions = [QuestionScore(**q) for q in data.pop("questions")]
        return cls(questions=questions, **data)

    @classmethod
    def zeros(cls, student: str, day: str, notebook: str, source: str, reason: str):
        """Zero on every graded cell of the instructor's notebook `source`, with the reason."""
        reason = clean_text(reason)
        questions = [
            QuestionScore(c.grade_id, 0.0, c.points, c.autograded, reason)
            for c in grade_cells(nbformat.reads(source, as_version=4))
            if c.grade
        ]
        return cls(student, day, notebook, questions, error=reason)
