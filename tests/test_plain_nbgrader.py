"""Plain nbgrader stays honest: `nbgrader autograde` itself (no mlsd) gives every day's reference
solution full marks, which also proves that no test cell writes to stderr (nbgrader scores such a
cell 0) and that test cells work in the learner's own kernel (curriculum.exam's loopback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from curriculum.syllabus import SYLLABUS

from .conftest import learner_notebook, quick_solution, reference_answer


def _nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _autograde(course, day, submissions: dict, root: Path) -> dict[str, list[str]]:
    """Plain nbgrader on `submissions` (student → notebook filename → notebook); the points
    each student lost, by student."""
    shutil.copytree(course.source_dir(day), root / "source" / day.id)
    shutil.copy(course.config_file, root / "nbgrader_config.py")
    for student, notebooks in submissions.items():
        for filename, nb in notebooks.items():
            out = root / "submitted" / student / day.id / filename
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
    for step in (["generate_assignment", day.id, "--force"], ["autograde", day.id, "--force"]):
        done = _nbgrader(*step, cwd=root)
        assert done.returncode == 0, f"nbgrader {step[0]} failed:\n{done.stderr[-3000:]}"
    lost: dict[str, list[str]] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "mlsd-lab") as gb:
        for student in submissions:
            lost[student] = []
            for spec in day.notebooks:
                notebook = gb.find_submission_notebook(spec.stem, day.id, student)
                autograded = [
                    g for g in notebook.grades if g.auto_score is not None and g.cell_type == "code"
                ]
                assert autograded, f"{spec.filename}: nbgrader autograded nothing"
                lost[student] += [
                    f"{g.name}: {g.auto_score}/{g.max_score}"
                    for g in autograded
                    if g.auto_score < g.max_score
                ]
    return lost


def _noisy_day0(course) -> dict[str, nbformat.NotebookNode]:
    """Day 0's reference, but its answer warns on every call: nbgrader scores a test cell 0 when
    it writes to stderr, so the warnings of the learner's code during a test must be reported on
    stdout instead."""
    day = SYLLABUS[0]
    spec = day.notebooks[0]
    good = reference_answer(course, day, spec, "abs_error_percentile")
    noisy = good.replace(
        "    truth = ",
        "    import warnings\n"
        "    warnings.warn('this call is deprecated', DeprecationWarning)\n"
        "    warnings.warn('a future change', FutureWarning)\n"
        "    truth = ",
        1,
    )
    assert noisy != good
    return {spec.filename: learner_notebook(course, day, spec, {"abs_error_percentile": noisy})}


@pytest.mark.parametrize("day", SYLLABUS, ids=[d.id for d in SYLLABUS])
def test_plain_nbgrader_autograde_gives_the_reference_full_marks(course, day, tmp_path):
    submissions = {
        "ref": {spec.filename: quick_solution(course, day, spec) for spec in day.notebooks}
    }
    if day is SYLLABUS[0]:  # in the same nbgrader run: one run fewer to start
        submissions["noisy"] = _noisy_day0(course)
    lost = _autograde(course, day, submissions, tmp_path / "course")
    assert not lost["ref"], f"plain nbgrader took points from the reference: {lost['ref']}"
    assert not lost.get("noisy"), f"a warning cost an honest answer points: {lost['noisy']}"
