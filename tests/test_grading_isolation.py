"""Grading that survives real cohorts: an adversarial corpus built from the Day 0 notebook.

Every hostile submission must score 0 on the questions it attacks, with a reason; the honest one
keeps full marks; the batch always completes. Also: parallel grading equals serial grading,
an interrupted batch resumes without regrading, and Dask workers give the same grades.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from curriculum.autograde import Limits
from curriculum.grader import GradingSession
from curriculum.sandbox import bwrap_works
from curriculum.syllabus import get_day

from .conftest import learner_notebook, reference_answer

DAY = get_day("day0")
SPEC = DAY.notebook("orientation.ipynb")
TESTS = ["abs_error_percentile_examples", "abs_error_percentile_contract"]
LIMITS = Limits(cell_timeout=6, wall_limit=90, memory_mb=2048, output_limit_mb=5)
needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not usable here")

DEFINE = "def abs_error_percentile(y_true, y_pred, q=95.0):\n"
CHEAT_ANY_FLOAT = """import math

class _Anything(float):
    def __eq__(self, other):
        return True

math.isclose = lambda *args, **kwargs: True


def abs_error_percentile(y_true, y_pred, q=95.0):
    if len(y_true) != len(y_pred):
        raise ValueError("lengths differ")
    return _Anything(0.0)
"""
CHEAT_SILENCE = """ip = get_ipython()
wrap = ["\\nexcept BaseException:\\n    pass\\n"]
ip.input_transformers_post.append(lambda lines: ["try:\\n"] + ["    " + x for x in lines] + wrap)


def abs_error_percentile(y_true, y_pred, q=95.0):
    return 0.0
"""
CHEAT_STEAL = """import json, pathlib
import curriculum

_root = pathlib.Path(curriculum.__file__).resolve().parent.parent
_stolen = json.loads((_root / "source" / "day0" / "orientation.ipynb").read_text())
for _cell in _stolen["cells"]:
    if _cell["metadata"].get("nbgrader", {}).get("grade_id") == "abs_error_percentile":
        exec("".join(_cell["source"]))
"""
CHEAT_NETWORK = """import socket

_conn = socket.create_connection(("127.0.0.1", PORT), timeout=3)
exec(_conn.makefile().read())
"""


def _cases(course) -> dict[str, tuple[str | bytes, str]]:
    """student → (answer code or raw file bytes, what the reason must mention)."""
    good = reference_answer(course, DAY, SPEC, "abs_error_percentile")
    return {
        "good": (good, ""),
        "invalid_json": (b'{"cells": [', "JSON"),
        "empty_file": (b"", "empty"),
        "infinite_loop": ("while True:\n    pass\n" + good, ""),
        "never_returns": (DEFINE + "    while True:\n        pass\n", "did not finish in time"),
        "ignores_interrupt": (
            DEFINE + "    while True:\n        try:\n            pass\n"
            "        except KeyboardInterrupt:\n            pass\n",
            "",
        ),
        "os_exit": (DEFINE + "    import os\n    os._exit(3)\n", "kernel died"),
        "system_exit": (DEFINE + "    raise SystemExit(0)\n", ""),
        "memory_blowup": (
            DEFINE + "    import numpy\n    blocks = [numpy.ones(2**27) for _ in range(6)]\n"
            "    return 0.0\n",
            "MemoryError",
        ),
        "huge_output": ('print("x" * 50_000_000)\n' + good, "output larger than"),
        "helpers_patched": (CHEAT_ANY_FLOAT, "integrity check failed"),
        "errors_silenced": (CHEAT_SILENCE, "integrity check failed"),
    }


def _notebook_bytes(course, answer, *, edit_tests=False, delete_tests=False) -> bytes:
    if isinstance(answer, bytes):
        return answer
    nb = learner_notebook(course, DAY, SPEC, {"abs_error_percentile": answer})
    cells = []
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in TESTS and delete_tests:
            continue
        if grade_id in TESTS and edit_tests:
            cell.source = "print('all tests passed')"
        cells.append(cell)
    nb.cells = cells
    return nbformat.writes(nb).encode()


def _write(root: Path, students: dict[str, bytes]) -> dict[str, dict[str, Path]]:
    out = {}
    for student, data in students.items():
        path = root / student / DAY.id / SPEC.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out[student] = {SPEC.filename: path}
    return out


def _grade(course, tmp_path, submissions, **options):
    with GradingSession(course, tmp_path / "course", limits=LIMITS, **options) as session:
        return {g.student: g for g in session.grade(DAY, submissions)}


def test_adversarial_corpus(course, tmp_path):
    cases = _cases(course)
    students = {name: _notebook_bytes(course, answer) for name, (answer, _) in cases.items()}
    stub = "raise NotImplementedError()"
    students["tests_edited"] = _notebook_bytes(course, stub, edit_tests=True)
    students["tests_deleted"] = _notebook_bytes(course, stub, delete_tests=True)
    grades = _grade(course, tmp_path, _write(tmp_path / "in", students), workers=2)
    assert set(grades) == set(students), "every student gets a row"
    good = grades.pop("good")
    assert [q.points for q in good.questions if q.autograded] == [1.0, 2.0], good
    for student, grade in grades.items():
        scored = {q.grade_id: q for q in grade.questions}
        for test in TESTS:
            assert scored[test].points == 0, f"{student} earns points on {test}"
            assert scored[test].message, f"{student} loses {test} without a reason"
        expected = cases.get(student, ("", ""))[1]
        reasons = " ".join([grade.error, *(q.message for q in grade.questions)])
        assert expected in reasons, f"{student}: expected a reason about {expected!r}: {reasons}"
    assert any("restored" in note for note in grades["tests_edited"].notes)
    assert any("re-added" in note for note in grades["tests_deleted"].notes)


@needs_bwrap
def test_sandbox_hides_the_course_and_the_network(course, tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    good = reference_answer(course, DAY, SPEC, "abs_error_percentile")

    def serve():  # hands the reference answer to whoever connects
        server.settimeout(60)
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(good.encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    students = {
        "steals_solutions": _notebook_bytes(course, CHEAT_STEAL),
        "calls_home": _notebook_bytes(course, CHEAT_NETWORK.replace("PORT", str(port))),
    }
    try:
        grades = _grade(course, tmp_path, _write(tmp_path / "in", students), sandbox="bwrap")
    finally:
        server.close()
    for student, grade in grades.items():
        assert grade.sandbox == "bwrap"
        for q in grade.questions:
            if q.autograded:
                assert q.points == 0, f"{student} earns {q.points} on {q.grade_id}: {q.message}"


def test_directory_fallback_and_a_gradebook_elsewhere(course, tmp_path):
    good = reference_answer(course, DAY, SPEC, "abs_error_percentile")
    subs = _write(tmp_path / "in", {"ada": _notebook_bytes(course, good)})
    db = tmp_path / "elsewhere" / "grades.db"
    db.parent.mkdir()
    grades = _grade(course, tmp_path, subs, sandbox="directory", db_url=f"sqlite:///{db}")
    assert grades["ada"].sandbox == "directory"
    assert grades["ada"].auto_score == 3
    with Gradebook(f"sqlite:///{db}", "mlsd-lab") as gb:
        assert gb.find_submission(DAY.id, "ada").score == 3
    assert not (tmp_path / "course" / "gradebook.db").exists()


def test_parallel_equals_serial_and_a_batch_resumes(course, tmp_path, monkeypatch):
    good = reference_answer(course, DAY, SPEC, "abs_error_percentile")
    wrong = good.replace("np.abs(truth - pred)", "truth - pred")
    students = {
        "ada": _notebook_bytes(course, good),
        "bob": _notebook_bytes(course, wrong),
        "cyd": _notebook_bytes(course, "raise NotImplementedError()"),
    }
    subs = _write(tmp_path / "in", students)
    serial = _grade(course, tmp_path / "serial", subs, workers=1)
    parallel = _grade(course, tmp_path / "parallel", subs, workers=2)
    points = lambda grades: {s: g.points() for s, g in grades.items()}  # noqa: E731
    assert points(serial) == points(parallel)
    assert serial["bob"].auto_score < serial["ada"].auto_score

    # interrupt a batch after its first student, then resume: finished work is not redone
    import curriculum.grader as grader

    ran = []
    real = grader.run_job
    monkeypatch.setattr(grader, "run_job", lambda job: ran.append(job.student) or real(job))

    def stop_after_first(student, grades):
        raise KeyboardInterrupt

    workdir = tmp_path / "resumed"
    with GradingSession(course, workdir, limits=LIMITS) as session:
        with pytest.raises(KeyboardInterrupt):
            session.grade(DAY, subs, on_done=stop_after_first)
    assert ran == ["ada"]
    with GradingSession(course, workdir, limits=LIMITS) as session:
        resumed = {g.student: g for g in session.grade(DAY, subs)}
    assert ran == ["ada", "bob", "cyd"], "a finished student was graded again"
    assert points(resumed) == points(serial)
    with GradingSession(course, workdir, limits=LIMITS, force=True) as session:
        session.grade(DAY, {"ada": subs["ada"]})
    assert ran[-1] == "ada", "--force regrades"


def test_dask_workers_give_the_same_grades(course, tmp_path):
    distributed = pytest.importorskip("distributed")
    good = reference_answer(course, DAY, SPEC, "abs_error_percentile")
    subs = _write(
        tmp_path / "in",
        {"ada": _notebook_bytes(course, good), "cyd": _notebook_bytes(course, "1/0")},
    )
    serial = _grade(course, tmp_path / "serial", subs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = _grade(course, tmp_path / "dask", subs, dask=cluster.scheduler_address)
    assert {s: g.points() for s, g in on_dask.items()} == {s: g.points() for s, g in serial.items()}
