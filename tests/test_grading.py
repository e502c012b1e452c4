"""With real nbgrader autograding: the released stub scores 0 on every autograded cell and the
reference solution scores full marks (generic over the syllabus)."""

from __future__ import annotations

import pytest

from curriculum.notebooks import grade_cells, read_notebook
from curriculum.syllabus import SYLLABUS

from .conftest import grade_students, learner_notebook, quick_solution


@pytest.mark.parametrize("day", SYLLABUS, ids=[d.id for d in SYLLABUS])
def test_stub_fails_and_solution_passes_every_graded_cell(course, day, tmp_path):
    students = {
        "stub": {spec.filename: learner_notebook(course, day, spec) for spec in day.notebooks},
        "solution": {spec.filename: quick_solution(course, day, spec) for spec in day.notebooks},
    }
    grades = grade_students(course, day, students, tmp_path)
    for spec in day.notebooks:
        expected = {
            c.grade_id: c for c in grade_cells(read_notebook(course.source_notebook(day, spec)))
        }
        stub, solution = grades["stub"][spec.filename], grades["solution"][spec.filename]
        assert not stub.error and not solution.error, (stub.error, solution.error)
        assert {q.grade_id for q in solution.questions} == {
            g for g, c in expected.items() if c.grade
        }, "nbgrader graded other cells than the notebook's graded cells"
        for q in stub.questions:
            if q.autograded:
                assert q.points == 0, f"{spec.filename}: stub earns {q.points} on {q.grade_id}"
            else:
                assert not q.points, f"{spec.filename}: unanswered {q.grade_id} earns points"
        for q in solution.questions:
            if q.autograded:
                assert q.points == q.max_points, (
                    f"{spec.filename}: solution gets {q.points}/{q.max_points} on {q.grade_id}: "
                    f"{q.message}"
                )
            else:
                assert q.points is None, f"{q.grade_id} should wait for manual grading"
