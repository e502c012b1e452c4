"""With real nbgrader autograding: the released stub scores 0 on every autograded cell (generic
over the syllabus). That the reference solution scores full marks is proven twice elsewhere, on
every day: `mlsd run` grades it (tests/test_execution.py) and so does plain `nbgrader autograde`
(tests/test_plain_nbgrader.py); grading it a third time here only cost CI minutes."""

from __future__ import annotations

import pytest

from curriculum.notebooks import grade_cells, read_notebook
from curriculum.syllabus import SYLLABUS

from .conftest import grade_students, learner_notebook


@pytest.mark.parametrize("day", SYLLABUS, ids=[d.id for d in SYLLABUS])
def test_the_released_stub_fails_every_graded_cell(course, day, tmp_path):
    students = {
        "stub": {spec.filename: learner_notebook(course, day, spec) for spec in day.notebooks}
    }
    grades = grade_students(course, day, students, tmp_path)
    for spec in day.notebooks:
        expected = {
            c.grade_id: c for c in grade_cells(read_notebook(course.source_notebook(day, spec)))
        }
        stub = grades["stub"][spec.filename]
        assert not stub.error, stub.error
        assert {q.grade_id for q in stub.questions} == {
            g for g, c in expected.items() if c.grade
        }, "nbgrader graded other cells than the notebook's graded cells"
        for q in stub.questions:
            if q.autograded:
                assert q.points == 0, f"{spec.filename}: stub earns {q.points} on {q.grade_id}"
            else:
                assert not q.points, f"{spec.filename}: unanswered {q.grade_id} earns points"
