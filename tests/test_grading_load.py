"""A grade must not depend on how busy the grading machine is.

Cells are budgeted in CPU seconds (what the work costs), with a wall-clock ceiling for cells that
wait on nothing; a cell the busy machine stopped is retried once and otherwise marked to regrade,
never silently scored 0. Proven here with small notebooks graded as one job each, some under a
synthetic load of CPU-burning processes (bounded in time) twice the number of cores.
"""

from __future__ import annotations

import os
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from curriculum.grading.clock import CellStop, ClockReading, cell_budget, cpu_seconds
from curriculum.grading.job import GradeJob, run_job
from curriculum.grading.limits import Limits
from curriculum.grading.sandbox import Sandbox
from curriculum.load import background_load


def _graded(code: str, grade_id: str, points: float = 1, *, test: bool, timeout=None):
    cell = new_code_cell(code)
    cell.metadata["nbgrader"] = {
        "grade": test,
        "grade_id": grade_id,
        "locked": test,
        "points": points if test else 0,
        "schema_version": 3,
        "solution": not test,
        "task": False,
    }
    if timeout:
        cell.metadata["mlsd"] = {"timeout": timeout}
    return cell


def _job(cells, limits: Limits) -> GradeJob:
    source = new_notebook(cells=cells)
    source.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    text = nbformat.writes(source)
    return GradeJob(
        "learner",
        "day0",
        "load.ipynb",
        text.encode(),
        text,
        text,
        limits=limits,
        sandbox=Sandbox("directory"),
    )


BURN = "import time\n_t = time.process_time()\nwhile time.process_time() - _t < {s}:\n    pass\n"


def load(factor: int = 2, seconds: float = 120):
    """`factor` × cores CPU-burning processes (each in a session of its own), bounded in time."""
    return background_load(factor, seconds)


def test_a_cell_may_declare_its_own_budget_and_a_learner_cannot():
    cell = new_code_cell("x = 1")
    assert cell_budget(cell, 60) == 60
    cell.metadata["mlsd"] = {"timeout": 240}
    assert cell_budget(cell, 60) == 240
    for bad in ("240", -1, True, None):
        cell.metadata["mlsd"] = {"timeout": bad}
        assert cell_budget(cell, 60) == 60


def test_a_stop_says_cpu_wall_and_load_and_whose_fault_it_was():
    cores = os.cpu_count() or 1
    quiet = ClockReading(cpu=1.0, wall=30.0, waited=0.5, load=0.2)
    busy = ClockReading(cpu=5.0, wall=30.0, waited=20.0, load=3.0 * cores)
    assert not quiet.busy and busy.busy
    sleeping = ClockReading(cpu=0.0, wall=30.0, waited=0.0, load=3.0 * cores)
    assert not sleeping.busy, "a cell that sleeps on a busy machine is not slowed by it"
    assert ClockReading(cpu=5.0, wall=30.0, waited=None, load=3.0 * cores).busy
    text = CellStop("cpu", ClockReading(61, 70, 1, 0.5), 60, 240).message()
    assert "61 s of CPU / 70 s wall (machine load 0.5)" in text and "60 s of CPU" in text
    assert "waited without computing" in CellStop("wall", quiet, 60, 240).message()
    assert not CellStop("wall", quiet, 60, 240).machine
    machine = CellStop("wall", busy, 60, 480)
    assert machine.machine and "marked to regrade" in machine.message()
    assert not CellStop("cpu", busy, 60, 240).machine, "using the whole budget is the cell's doing"


def test_cpu_seconds_count_the_work_of_a_process_tree():
    before = cpu_seconds([os.getpid()])
    _t = time.process_time()
    while time.process_time() - _t < 0.3:
        pass
    assert cpu_seconds([os.getpid()]) - before >= 0.25


def test_the_budget_is_cpu_time_and_a_waiting_cell_meets_the_wall_clock():
    cells = [
        _graded("answer = 1", "answer", test=False),
        _graded(BURN.format(s=4), "burns", test=True),  # 4 s of CPU > the 2 s budget
        _graded("import time\ntime.sleep(30)", "sleeps", test=True),  # no CPU, stopped at 8 s
        _graded("assert True", "after", test=True),
    ]
    grade = run_job(_job(cells, Limits(cell_timeout=2, wall_limit=120)))
    got = {q.grade_id: q for q in grade.questions}
    assert got["burns"].points == 0 and "s of CPU" in got["burns"].message
    assert "the cell may use 2 s of CPU" in got["burns"].message
    assert got["sleeps"].points == 0 and "waited without computing" in got["sleeps"].message
    assert got["after"].points == 1, "a later cell is graded on its own"
    assert not grade.regrade, "a quiet machine's stops are the cell's, not the machine's"


def test_a_cell_given_more_time_by_the_course_finishes():
    cells = [_graded(BURN.format(s=3), "long_model", test=True, timeout=20)]
    grade = run_job(_job(cells, Limits(cell_timeout=2, wall_limit=120)))
    assert grade.questions[0].points == 1, grade.questions[0].message


def test_honest_work_under_twice_the_cores_in_load_keeps_its_points():
    """About 1.5 s of CPU per cell: on a loaded machine the wall time grows, the grade does not."""
    cells = [
        _graded("import numpy as np\nanswer = 1", "answer", test=False),
        _graded(BURN.format(s=1.5) + "assert True", "one", test=True),
        _graded(BURN.format(s=1.5) + "assert True", "two", test=True),
    ]
    with load(2, seconds=150):
        started = time.monotonic()
        grade = run_job(_job(cells, Limits(cell_timeout=4, wall_limit=300)))
        wall = time.monotonic() - started
    assert [q.points for q in grade.questions] == [1, 1], (grade.questions, wall)


def test_a_wall_clock_too_short_for_a_busy_machine_marks_the_grade_to_regrade():
    """Honest work under load with a shortened wall clock (1 x its CPU budget): the cell that
    the busy machine could not finish is retried, then marked to regrade, never a silent 0."""
    cells = [
        _graded("answer = 1", "answer", test=False),
        _graded(BURN.format(s=1.2) + "assert True", "cpu_bound", test=True),
        _graded("assert True", "quick", test=True),
    ]
    with load(3, seconds=150):
        grade = run_job(_job(cells, Limits(cell_timeout=1.5, wall_factor=1.0, wall_limit=300)))
    got = {q.grade_id: q for q in grade.questions}
    assert got["quick"].points == 1
    # 1.2 s of CPU at ~2/7 of a core needs ~4 s of wall time: more than the 1.5 s ceiling and
    # the retry's 3 s, so the cell is stopped twice by the wall clock
    assert got["cpu_bound"].points == 0 and "cpu_bound" in grade.regrade, grade
    message = got["cpu_bound"].message
    assert "too busy" in message and "marked to regrade" in message, message
    assert "machine load" in message and "s of CPU" in message, message


@pytest.mark.parametrize("stop_in", ["examiner", "learner"])
def test_a_test_cell_stopped_mid_call_leaves_the_next_test_cells_graded(stop_in):
    """The examiner's conversation survives a stopped call: the following cells still pass."""
    slow = (
        "def slow():\n    import time\n    _t = time.process_time()\n"
        "    while time.process_time() - _t < 30:\n        pass\n    return 1\n"
    )
    waiting = BURN.format(s=30) if stop_in == "examiner" else ""
    cells = [
        _graded(slow + "value = 41", "answer", test=False),
        _graded(
            "from curriculum.exam import data_withheld, student\n"
            + waiting
            + "with data_withheld():\n    student.slow()\n",
            "stopped",
            test=True,
        ),
        _graded(
            "from curriculum.exam import student\nassert student.value == 41, 'in step'",
            "next",
            test=True,
        ),
    ]
    grade = run_job(_job(cells, Limits(cell_timeout=2, wall_limit=120)))
    got = {q.grade_id: q for q in grade.questions}
    assert got["stopped"].points == 0 and "s of CPU" in got["stopped"].message
    assert got["next"].points == 1, got["next"].message
    assert not grade.error, grade.error


def test_a_real_day_graded_under_twice_the_cores_in_load_keeps_every_point(course):
    """Day 0's reference solution (a model fit included), graded quiet and then under a load of
    2 x cores, as `mlsd bench --grading 1 --load 2` does: the same points, nothing to regrade."""
    from curriculum.bench import benchmark_grading
    from curriculum.syllabus import get_day

    quiet, busy = benchmark_grading(course, get_day("day0"), submissions=1, workers=(1,), load=2)
    assert busy.load == 2 and quiet.load == 0
    assert quiet.points > 0 and busy.points == quiet.points and busy.to_regrade == 0, (quiet, busy)
