"""Every test cell follows the rules of curriculum.exam, so the examiner never trusts a value of
the learner's kernel (generic over the syllabus; static, no kernel)."""

from __future__ import annotations

import ast

import pytest

from curriculum.grading.examiner import (
    defined_names,
    examined,
    free_names,
    instructor_import_cells,
)
from curriculum.notebooks import read_notebook

from .conftest import NOTEBOOK_IDS, NOTEBOOKS


def _imported(cells) -> set[str]:
    names = set()
    for cell in cells:
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names |= {a.asname or a.name.split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_test_cells_read_the_learner_only_through_student(course, day, spec):
    nb = read_notebook(course.source_notebook(day, spec))
    known = _imported(instructor_import_cells(nb))
    tests = [c for c in nb.cells if examined(c)]
    assert tests, f"{spec.filename} has no test cells"
    for cell in tests:
        where = f"{day.id}/{spec.filename} cell {cell.id}"
        unknown = free_names(cell.source) - known
        others = unknown & {n for c in tests if c is not cell for n in defined_names(c.source)}
        assert not others, (
            f"{where} reads {sorted(others)}, defined by another test cell: each test cell stands "
            "alone (a cell that failed or timed out must not zero the next one with a NameError); "
            "share one result through curriculum.exam.computing / computed"
        )
        assert not unknown, (
            f"{where} reads {sorted(unknown)} from the learner's namespace: use student.NAME "
            "(or define the value in the test)"
        )
        defined = defined_names(cell.source)
        own = {n for n in defined if not n.startswith("_")} - _imported([cell])
        assert not own, f"{where} defines {sorted(own)}: test cells define only _names"


def test_the_rules_checker_can_fail():
    code = "assert total(1) == 2"
    assert free_names(code) == {"total"}
    assert defined_names("from curriculum.exam import student\n_x = 1\ny = 2") == {
        "student",
        "_x",
        "y",
    }
