"""mlsd run: a failing notebook is reported with its cell and error, the others still run, and a
broken reference solution is caught."""

from __future__ import annotations

import csv
import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from curriculum.course import Course
from curriculum.grading.limits import Limits
from curriculum.runner import run_curriculum
from curriculum.syllabus import Day, NotebookSpec

SOLUTION = {
    "grade": False,
    "grade_id": "double_it",
    "locked": False,
    "schema_version": 3,
    "solution": True,
    "task": False,
}
TEST = {
    "grade": True,
    "grade_id": "double_it_test",
    "locked": True,
    "points": 1,
    "schema_version": 3,
    "solution": False,
    "task": False,
}


def _notebook(answer: str, extra: str = "", test_extra: str = "") -> nbformat.NotebookNode:
    params = new_code_cell("seed = 0\nn_rows = 10")
    params.metadata["tags"] = ["parameters"]
    sol = new_code_cell(
        f"def double(x):\n    ### BEGIN SOLUTION\n    {answer}\n    ### END SOLUTION"
    )
    sol.metadata["nbgrader"] = SOLUTION
    test = new_code_cell(
        "from curriculum.exam import student\n"
        + test_extra
        + "assert student.double(3) == 6, 'double(3) should be 6'"
    )
    test.metadata["nbgrader"] = TEST
    cells = [params, sol, test] + ([new_code_cell(extra)] if extra else [])
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    return nb


def test_failures_are_reported_and_the_rest_still_runs(course, tmp_path):
    root = tmp_path / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(course.config_file, root)
    days = {
        "day90": _notebook("return 2 * x"),
        "day91": _notebook("return 2 * x", extra="raise RuntimeError('the data is gone')"),
        "day92": _notebook("return x + 2"),  # a broken reference solution
    }
    for day_id, nb in days.items():
        (root / "source" / day_id).mkdir()
        nbformat.write(nb, root / "source" / day_id / "lab.ipynb")
    syllabus = [Day(d, d, "test", (NotebookSpec("lab.ipynb", quick={"n_rows": 2}),)) for d in days]
    seen = []
    results = run_curriculum(
        Course(root),
        syllabus,
        quick=True,
        output_dir=tmp_path / "out",
        on_step=lambda message, result: seen.append(message),
    )
    by_day = {r.day: r for r in results}
    assert by_day["day90"].status == "ok" and by_day["day90"].auto_score == 1
    assert by_day["day90"].parameters == {"n_rows": 2}
    assert by_day["day91"].status == "failed"
    assert (
        "c3" in by_day["day91"].error and "RuntimeError: the data is gone" in by_day["day91"].error
    )
    assert by_day["day92"].status == "failed"
    assert "double(3) should be 6" in by_day["day92"].error
    assert any("executing day91" in m for m in seen)
    rows = list(csv.DictReader((tmp_path / "out" / "results.csv").open()))
    assert [r["status"] for r in rows] == ["ok", "failed", "failed"]


def test_a_reference_that_lost_points_to_a_busy_machine_is_a_timing_problem(course, tmp_path):
    """mlsd run under load with a shortened wall clock: 'timing' and the command to rerun, not
    'graded-low' (which says the course is broken)."""
    from .test_grading_load import BURN, load

    root = tmp_path / "course"
    (root / "source" / "day93").mkdir(parents=True)
    shutil.copy(course.config_file, root)
    nbformat.write(
        _notebook("return 2 * x", test_extra=BURN.format(s=1.2)),
        root / "source" / "day93" / "lab.ipynb",
    )
    syllabus = [Day("day93", "day93", "test", (NotebookSpec("lab.ipynb"),))]
    with load(3, seconds=150):
        (result,) = run_curriculum(
            Course(root),
            syllabus,
            output_dir=tmp_path / "out",
            limits=Limits(cell_timeout=1.5, wall_factor=1.0),
        )
    assert result.status == "timing", (result.status, result.error)
    assert "too busy" in result.error and "mlsd run day93" in result.error
