"""Each grading step on its own, without a kernel: submission, merge, examiner set-up, sandbox,
limits, scoring, ledger, CSV and feedback."""

from __future__ import annotations

import copy
import csv
import os
import stat
from pathlib import Path

import nbformat
import pytest

from curriculum.grading import examiner
from curriculum.grading.batch import find_submissions, spreadsheet_safe, write_grades_csv
from curriculum.grading.feedback import check_messages, redact, redact_source
from curriculum.grading.kernel import BudgetedClient, OutputBudget, message_size
from curriculum.grading.ledger import read_ledger, write_ledger
from curriculum.grading.limits import (
    Cgroup,
    Limits,
    folder_bytes,
    thread_environment,
    threads_per_kernel,
)
from curriculum.grading.merge import merge_submission
from curriculum.grading.results import NotebookGrade, QuestionScore, clean_text
from curriculum.grading.sandbox import Sandbox
from curriculum.grading.scoring import score
from curriculum.grading.submission import SubmissionError, parse_submission, read_submission_file
from curriculum.notebooks import read_notebook
from curriculum.syllabus import get_day

DAY = get_day("day0")
SPEC = DAY.notebook("orientation.ipynb")


@pytest.fixture(scope="module")
def source(course):
    return read_notebook(course.source_notebook(DAY, SPEC))


@pytest.fixture(scope="module")
def release(course):
    return read_notebook(course.release_notebook(DAY, SPEC))


# -- submission ---------------------------------------------------------------------------------


def test_only_regular_files_are_read(tmp_path, course):
    real = tmp_path / "real.ipynb"
    real.write_text("{}")
    link = tmp_path / "link.ipynb"
    link.symlink_to(course.source_notebook(DAY, SPEC))
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    assert read_submission_file(real) == b"{}"
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_submission_file(link)
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_submission_file(fifo)  # would block forever if it were opened for reading
    with pytest.raises(SubmissionError, match="larger than"):
        real.write_bytes(b"x" * 2000)
        read_submission_file(real, max_bytes=1000)


@pytest.mark.parametrize(
    "data, reason",
    [(b"", "empty"), (b"\xff\xfe", "UTF-8"), (b'{"cells": [', "JSON"), (b"[" * 100_000, "JSON")],
)
def test_broken_submissions_get_a_reason(data, reason):
    with pytest.raises(SubmissionError, match=reason):
        parse_submission(data)


def test_find_submissions_lists_links_so_they_get_a_row(tmp_path, course):
    (tmp_path / "ada" / "day0").mkdir(parents=True)
    (tmp_path / "ada" / "day0" / SPEC.filename).symlink_to(course.source_notebook(DAY, SPEC))
    (tmp_path / "linked_student").symlink_to(tmp_path / "ada")
    found = find_submissions(tmp_path, DAY)
    assert set(found) == {"ada"}, "a student folder that is a link is not a student"
    with pytest.raises(SubmissionError):
        read_submission_file(found["ada"][SPEC.filename])


# -- merge ----------------------------------------------------------------------------------------


def _student(release, *extra_cells):
    nb = nbformat.reads(nbformat.writes(release), as_version=4)
    nb.cells = [*nb.cells, *extra_cells]
    return nb


@pytest.mark.parametrize("bad_id", ["", None, "bonus_points", 7])
def test_cells_the_course_does_not_know_are_never_graded(source, release, bad_id):
    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": bad_id,
        "points": 100,
        "solution": False,
    }
    cell.metadata["mlsd"] = {"canary": True}
    merged, _ = merge_submission(source, release, _student(release, cell))
    own = merged.cells[-1]
    assert "nbgrader" not in own.metadata and "mlsd" not in own.metadata
    points = sum(q.max_points for q in score(merged, {}, source))
    assert points == 5, "only the instructor's notebook says what is graded"


def test_the_course_may_give_its_own_long_cell_more_time_and_a_learner_cannot():
    long_cell = nbformat.v4.new_code_cell("model = fit(everything)")
    long_cell.id = "long-fit"
    long_cell.metadata["mlsd"] = {"timeout": 240}
    source = nbformat.v4.new_notebook(cells=[long_cell])
    release = nbformat.v4.new_notebook(cells=[copy.deepcopy(long_cell)])
    as_released = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(long_cell.source)])
    as_released.cells[0].id = "long-fit"
    merged, _ = merge_submission(source, release, as_released)
    assert merged.cells[0].metadata["mlsd"] == {"timeout": 240}, "the course's own cell, untouched"
    for text, cell_id in [("while True: pass", "long-fit"), (long_cell.source, "other-id")]:
        edited = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
        edited.cells[0].id = cell_id
        edited.cells[0].metadata["mlsd"] = {"timeout": 10_000}
        merged, _ = merge_submission(source, release, edited)
        assert "mlsd" not in merged.cells[0].metadata, "a learner's cell gets the course's default"


def test_tests_come_back_from_source_and_deleted_ones_are_re_added(source, release):
    student = _student(release)
    for cell in student.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "abs_error_percentile_examples":
            cell.source = "print('all good')"
    student.cells = [
        c
        for c in student.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") != "abs_error_percentile_contract"
    ]
    merged, notes = merge_submission(source, release, student)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in merged.cells}
    assert "BEGIN HIDDEN TESTS" in by_id["abs_error_percentile_contract"].source
    assert "print('all good')" not in by_id["abs_error_percentile_examples"].source
    assert any("restored" in n for n in notes) and any("re-added" in n for n in notes)


def test_attachments_are_kept_within_the_budget(source, release):
    cell = nbformat.v4.new_markdown_cell("![x](attachment:x.png)")
    cell["attachments"] = {"x.png": {"image/png": "A" * 5000}}
    kept, _ = merge_submission(source, release, _student(release, cell), attachment_budget=10_000)
    assert kept.cells[-1].get("attachments")
    dropped, notes = merge_submission(
        source, release, _student(release, cell), attachment_budget=1000
    )
    assert not dropped.cells[-1].get("attachments") and any("attachments" in n for n in notes)


# -- the examiner's set-up --------------------------------------------------------------------


def test_free_names_are_what_a_cell_reads_without_defining():
    code = (
        "import math\n_x = f(1)\ndef _g(y):\n    return y + z + _x\n"
        "_h = [w for w in range(3)]\nprint(len(q))"
    )
    assert examiner.free_names(code) == {"f", "z", "q"}


def test_the_examiner_starts_with_the_instructors_imports_that_tests_use(source):
    imports = examiner.trusted_imports(source)
    assert "import numpy as np" in imports and "import math" in imports
    assert "matplotlib" not in imports, "imports no test uses are not needed"
    learner_import = nbformat.v4.new_code_cell("import numpy as np")
    learner_import.metadata["nbgrader"] = {"solution": True, "grade_id": "x"}
    assert examiner.trusted_imports(nbformat.v4.new_notebook(cells=[learner_import]), {"np"}) == ""


# -- sandbox, limits ------------------------------------------------------------------------------


def test_the_sandbox_binds_by_allow_list(tmp_path):
    course = tmp_path / "course"
    (course / "curriculum").mkdir(parents=True)
    sandbox = Sandbox(
        "bwrap", expose=(str(course / "curriculum"), str(tmp_path)), deny=(str(course),)
    )
    cmd = sandbox.command(["python"], tmp_path / "conn", 64)
    binds = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--ro-bind", "--bind")]
    assert "/" not in binds and "/tmp" not in binds
    assert str(course / "curriculum") in binds, "a package inside the course may be exposed"
    assert str(tmp_path) not in binds, "a folder holding the course is never exposed"
    assert str(tmp_path / "conn") in binds
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-user", "--disable-userns"):
        assert flag in cmd
    assert cmd[cmd.index("--uid") + 1] == "65534"
    assert cmd[cmd.index("--size") + 1] == str(64 * 1024 * 1024)


def test_limits_validate_and_cap_threads():
    with pytest.raises(ValueError, match="cell_timeout"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="disk_mb"):
        Limits(disk_mb=0)
    assert Limits(output_limit_mb=100).message_bytes >= 200 * 1024 * 1024
    assert thread_environment(2)["OMP_NUM_THREADS"] == "2"
    assert thread_environment(1)["OMP_WAIT_POLICY"] == "PASSIVE"  # no spinning on a busy machine


def test_one_thread_per_kernel_unless_the_instructor_asks_for_more():
    assert threads_per_kernel(Limits(), 1) == 1
    assert threads_per_kernel(Limits(), 2) == 1
    cores = os.cpu_count() or 1
    assert threads_per_kernel(Limits(threads=64), 1) == cores
    assert threads_per_kernel(Limits(threads=64), 10 * cores) == 1


def test_a_cgroup_holds_its_limits_where_the_machine_allows_one():
    group = Cgroup.create(256, 32)
    if group is None:
        pytest.skip("no writable cgroup hierarchy here (the watchdog measures instead)")
    try:
        memory = group.dirs[0]
        limit_file = "memory.max" if group.version == 2 else "memory.limit_in_bytes"
        assert int((memory / limit_file).read_text()) == 256 * 1024 * 1024
        assert not group.oom_killed() and group.pids() == []
    finally:
        group.remove()
    assert not any(d.exists() for d in group.dirs)


def test_folder_bytes_counts_without_following_links(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * 50)
    (tmp_path / "link").symlink_to("/usr")
    assert folder_bytes(tmp_path) == 150


# -- output budget ------------------------------------------------------------------------------


def _client(limit):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    client = BudgetedClient(nb, budget=OutputBudget(limit), replies={})
    client.clear_before_next_output = False  # set by nbclient when a cell starts
    return client, nb.cells[0]


def _msg(kind, **content):
    return {"msg_type": kind, "content": content, "header": {"msg_type": kind}, "parent_header": {}}


def test_every_kind_of_output_spends_the_budget_and_long_prints_are_truncated():
    client, cell = _client(1000)
    client.process_message(_msg("stream", name="stdout", text="x" * 600), cell, 0)
    client.process_message(_msg("stream", name="stdout", text="y" * 600), cell, 0)
    client.process_message(
        _msg("display_data", data={"text/plain": "z" * 500}, metadata={}, transient={}), cell, 0
    )
    client.process_message(_msg("comm_msg", comm_id="c", data={"state": "w" * 5000}), cell, 0)
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert text.count("x") == 600 and 0 < text.count("y") <= 400
    assert "output truncated" in text and not any("z" * 500 in str(o) for o in cell.outputs)
    assert client.budget.used <= 1000 and client.budget.dropped >= 5000
    assert message_size(_msg("stream", text="abc")) == 3 + len("text")


# -- scoring, results, ledger, CSV ------------------------------------------------------------


def test_points_come_from_the_instructors_notebook(source, release):
    merged, _ = merge_submission(source, release, _student(release))
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(merged.cells)}
    replies = {index["abs_error_percentile_examples"]: {"status": "ok"}}
    got = {q.grade_id: q for q in score(merged, replies, source, "stopped")}
    assert got["abs_error_percentile_examples"].points == 1
    assert got["abs_error_percentile_contract"].points == 0
    assert "not run: stopped" in got["abs_error_percentile_contract"].message
    assert got["baseline_oracle_reflection"].points is None


def test_text_from_a_learner_is_made_safe_everywhere(tmp_path):
    bad = "bad \ud800 [/] [bold red]x"
    assert "\ud800" not in clean_text(bad)
    grade = NotebookGrade(
        "=cmd|' /C calc'!A0",
        "day0",
        "orientation.ipynb",
        [QuestionScore("q", 0.0, 1.0, True, "+SUM(A1:A9)")],
        error=bad,
        digest="d",
    )
    out = tmp_path / "grades.csv"
    write_grades_csv([grade], out)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert spreadsheet_safe("@x") == "'@x" and spreadsheet_safe("ok") == "ok"
    executed = tmp_path / "nb.ipynb"
    executed.write_text("{}")
    write_ledger(executed, grade)
    again = read_ledger(executed, "d")
    assert again is not None and again.points() == grade.points()
    assert read_ledger(executed, "other digest") is None


# -- feedback -------------------------------------------------------------------------------------


def test_feedback_shows_what_hidden_tests_check_not_their_code(source):
    cell = next(
        c
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "abs_error_percentile_contract"
    )
    redacted = redact_source(cell.source)
    assert "20240601" not in redacted and "BEGIN HIDDEN" not in redacted
    assert "Series are matched by position" in redacted
    assert "Hidden checks" in redacted
    cell = nbformat.from_dict(dict(cell))
    cell.outputs = [
        nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="why", traceback=["line with _rng = secret"]
        )
    ]
    nb = redact(nbformat.v4.new_notebook(cells=[cell]))
    assert nb.cells[0].outputs[0]["traceback"] == ["AssertionError: why"]
    assert check_messages("assert x, f'got {x}: fix it'\nraise AssertionError('no')") == [
        "got …: fix it",
        "no",
    ]


def test_error_classes_carry_exit_codes():
    from curriculum.errors import CourseError, GradingError, NotebookError

    assert CourseError.exit_code == 2 and NotebookError.exit_code == 2
    assert GradingError.exit_code == 1


def test_job_folders_are_private(tmp_path):
    from curriculum.grading.execution import JobFolders

    folders = JobFolders(tmp_path / "job").make()
    for folder in (folders.root, folders.connection, folders.examiner):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert Path(folders.socket).parent == folders.connection
