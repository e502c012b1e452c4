"""Every notebook in source/ and release/ follows the course's conventions (generic over days)."""

from __future__ import annotations

import json
import re

import pytest

from curriculum.notebooks import grade_cells, notebook_parameters, parameters_cell, read_notebook
from curriculum.syllabus import SYLLABUS

from .conftest import NOTEBOOK_IDS, NOTEBOOKS

GRADE_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")  # descriptive words, not cell-3f2a
SIZE_KNOB = re.compile(r"^(n_\w+|size|scale|days)$")


def both_versions(course, day, spec):
    return {
        "source": read_notebook(course.source_notebook(day, spec)),
        "release": read_notebook(course.release_notebook(day, spec)),
    }


def test_syllabus_days_are_unique_and_have_notebooks(course):
    ids = [day.id for day in SYLLABUS]
    assert len(ids) == len(set(ids)), f"duplicate day ids: {ids}"
    for day in SYLLABUS:
        assert re.fullmatch(r"day\d+", day.id), f"{day.id}: ids are day0, day1, ..."
        assert day.notebooks, f"{day.id} has no notebooks"
        for spec in day.notebooks:
            assert course.source_notebook(day, spec).is_file(), f"missing source for {day.id}"


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_stored_without_outputs_and_with_stable_ids(course, day, spec):
    for version, nb in both_versions(course, day, spec).items():
        ids = [cell.get("id") for cell in nb.cells]
        assert all(ids), f"{version}/{day.id}/{spec.filename}: a cell has no id"
        assert len(ids) == len(set(ids)), f"{version}/{day.id}/{spec.filename}: duplicate ids"
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            where = f"{version}/{day.id}/{spec.filename} cell {cell.id}"
            assert cell.outputs == [], f"{where} is stored with outputs"
            assert cell.execution_count is None, f"{where} is stored with an execution count"


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_parameters_cell_comes_first_with_seed_and_size(course, day, spec):
    nb = read_notebook(course.source_notebook(day, spec))
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first_code is parameters_cell(nb), (
        f"{day.id}/{spec.filename}: the first code cell must be tagged 'parameters'"
    )
    params = notebook_parameters(nb)
    assert "seed" in params, f"{day.id}/{spec.filename}: parameters need a seed"
    assert any(SIZE_KNOB.match(name) for name in params), (
        f"{day.id}/{spec.filename}: parameters need a size knob (n_..., size, scale, days)"
    )
    unknown = set(spec.quick) - set(params)
    assert not unknown, f"syllabus quick parameters {unknown} are not in {spec.filename}"


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_graded_cells_have_unique_descriptive_ids(course, day, spec):
    cells = grade_cells(read_notebook(course.source_notebook(day, spec)))
    assert any(c.autograded for c in cells), f"{spec.filename} has no autograded question"
    ids = [c.grade_id for c in cells]
    assert len(ids) == len(set(ids)), f"{spec.filename}: duplicate grade ids {ids}"
    for grade_id in ids:
        assert GRADE_ID.match(grade_id), (
            f"{spec.filename}: grade_id {grade_id!r} is not descriptive (use words_like_this)"
        )
    for cell in cells:
        if cell.grade:
            assert cell.points > 0, f"{spec.filename}: graded cell {cell.grade_id} has no points"


def test_grade_ids_are_unique_across_the_course(course):
    seen = {}
    for day, spec in NOTEBOOKS:
        for cell in grade_cells(read_notebook(course.source_notebook(day, spec))):
            where = f"{day.id}/{spec.filename}"
            assert cell.grade_id not in seen, (
                f"{cell.grade_id} in {where} and {seen.get(cell.grade_id)}"
            )
            seen[cell.grade_id] = where


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_manually_graded_answers_carry_a_rubric(course, day, spec):
    nb = read_notebook(course.source_notebook(day, spec))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("solution"):
            assert "rubric" in cell.source.lower(), (
                f"{spec.filename}: manually graded {meta['grade_id']} has no rubric in source/"
            )


def _split_cell(cell) -> tuple[list[str], list[str]]:
    """(lines shown outside, lines inside) the solution and hidden-test regions of a cell."""
    meta = cell.metadata.get("nbgrader", {})
    if cell.cell_type == "markdown" and meta.get("solution"):
        return [], cell.source.splitlines()  # the whole answer cell is replaced in release
    public, secret, inside = [], [], False
    for line in cell.source.splitlines():
        marker = line.strip()
        if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            inside = True
        elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
            inside = False
        else:
            (secret if inside else public).append(line)
    return public, secret


def _hidden_lines(source_nb) -> list[str]:
    """Substantive solution and hidden-test lines that the source shows nowhere else."""
    public, secret = [], []
    for cell in source_nb.cells:
        shown, hidden = _split_cell(cell)
        public += shown
        secret += hidden
    text = "\n".join(public)
    # short lines ("pass", "continue", ")") and scaffolding shown outside the regions are public
    return [line.strip() for line in secret if len(line.strip()) >= 25 and line.strip() not in text]


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_release_holds_no_solution_or_hidden_test_text(course, day, spec):
    secret = _hidden_lines(read_notebook(course.source_notebook(day, spec)))
    assert secret, f"{spec.filename}: expected solution code to check for"
    for path in course.release_dir(day).rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Rubric"):
            assert marker not in text, f"release/{day.id}/{path.name} contains {marker!r}"
        try:
            cells = json.loads(text).get("cells", [])
            content = "\n".join("".join(c.get("source", "")) for c in cells)
        except json.JSONDecodeError:
            content = text
        leaked = [line for line in secret if line in content]
        assert not leaked, f"release/{day.id}/{path.name} leaks: {leaked[:3]}"


def test_the_leak_check_can_fail():
    from nbformat.v4 import new_code_cell, new_notebook

    cell = new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return sorted(secret_values_of_the_answer)\n"
        "    ### END SOLUTION"
    )
    cell.metadata["nbgrader"] = {"solution": True, "grade_id": "f_answer"}
    secret = _hidden_lines(new_notebook(cells=[cell]))
    assert secret == ["return sorted(secret_values_of_the_answer)"]
    public = new_code_cell("# hint: return sorted(secret_values_of_the_answer)")
    assert _hidden_lines(new_notebook(cells=[cell, public])) == [], "public text is not secret"
