"""Self-assessment of written answers: the rubric (and a reference answer) once you have tried.

Written answers are graded by a person in a cohort. A self-study learner has no person, so after
they have written an answer ``mlsd check`` shows that question's rubric, and for prose its
reference answer, from the instructor's notebook. It shows nothing else of it: no autograded
solution, no test. A design written as code is checked by an autograded structure test, so only
its rubric is shown, never the reference design.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat

from curriculum.grading.merge import grade_id, nbgrader_meta

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class SelfAssessment:
    """A written answer's rubric, for the learner to score themselves.

    Attributes
    ----------
    grade_id : str
        The answer cell.
    points : float
        What the answer is worth.
    attempted : bool
        Whether the learner has written something in the cell.
    rubric : str
        The rubric (Markdown); empty until the answer is attempted.
    reference : str
        A reference answer for prose (Markdown); empty for designs written as code, and until
        the answer is attempted.
    """

    grade_id: str
    points: float
    attempted: bool
    rubric: str = ""
    reference: str = ""


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def rubric_of(cell: nbformat.NotebookNode) -> tuple[str, str]:
    """(reference, rubric) of an instructor's manually graded cell."""
    text = _text(cell)
    if cell.cell_type == "markdown":
        head, marker, tail = text.partition("**Rubric")
        reference = head.replace("**Reference answer.**", "").strip()
        return (reference, (marker + tail).strip()) if marker else ("", reference)
    inside = text.split(BEGIN, 1)[1].split(END, 1)[0] if BEGIN in text else text
    rubric, started = [], False
    for line in inside.splitlines():
        stripped = line.strip()
        if stripped.startswith("# Rubric"):
            started = True
        if started:
            if not stripped.startswith("#"):
                break
            rubric.append(stripped.lstrip("#").strip())
    return "", "\n".join(rubric)


def attempted(answer: str, released: str) -> bool:
    """Whether the learner wrote something of their own in place of the released stub."""
    mine = answer.strip()
    return bool(mine) and mine != released.strip()


def self_assessments(
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode,
    learner: nbformat.NotebookNode,
) -> list[SelfAssessment]:
    """One entry per manually graded answer, with its rubric if the learner has attempted it."""
    released = {grade_id(c): _text(c) for c in release.cells if grade_id(c)}
    answers = {grade_id(c): _text(c) for c in learner.cells if grade_id(c)}
    out = []
    for cell in source.cells:
        meta = nbgrader_meta(cell)
        if not (meta.get("grade") and meta.get("solution")):
            continue
        gid = grade_id(cell)
        tried = attempted(answers.get(gid, ""), released.get(gid, ""))
        points = float(meta.get("points", 0) or 0)
        if not tried:
            out.append(SelfAssessment(gid, points, False))
            continue
        reference, rubric = rubric_of(cell)
        out.append(SelfAssessment(gid, points, True, rubric, reference))
    return out
