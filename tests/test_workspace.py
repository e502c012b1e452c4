"""The learner's path without a browser: the workspace, `mlsd lab`'s environment and config,
`mlsd check` by bare name, self-assessment of written answers, `mlsd progress`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from curriculum import lab
from curriculum.cli import main
from curriculum.notebooks import read_notebook
from curriculum.progress import next_step, progress, progress_html, record_check
from curriculum.rubrics import self_assessments
from curriculum.validate import learner_results
from curriculum.workspace import (
    find_workspace,
    locate_notebook,
    prepare_workspace,
    terminal_command,
    write_jupyter_config,
)

from .conftest import NOTEBOOK_IDS, NOTEBOOKS


def test_prepare_workspace_copies_then_never_overwrites(course, tmp_path):
    workspace = tmp_path / "ws"
    first = prepare_workspace(course, workspace)
    released = sorted(
        p.relative_to(course.root / "release") for p in (course.root / "release").rglob("*.ipynb")
    )
    assert sorted(p.relative_to(workspace) for p in first.copied) == released
    edited = first.copied[0]
    edited.write_text("my work in progress")
    (edited.parent / "notes.txt").write_text("mine")
    second = prepare_workspace(course, workspace)
    assert second.copied == []
    assert edited in second.kept
    assert edited.read_text() == "my work in progress"
    assert (edited.parent / "notes.txt").read_text() == "mine"


def test_lab_passes_arguments_through_and_can_set_up_only(course, tmp_path, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(lab, "start_lab", lambda ws, extra, **k: started.append(list(extra)) or 0)
    workspace = tmp_path / "ws"
    assert main(["lab", "--workspace", str(workspace), "--setup-only"]) == 0
    assert not started and any(workspace.rglob("*.ipynb"))
    assert main(["lab", "--workspace", str(workspace), "--no-browser", "--", "--port", "8890"]) == 0
    assert started == [["--port", "8890"]]
    out = capsys.readouterr().out
    assert "existing files kept" in out
    assert "Next: Open day0/orientation.ipynb" in out, "say which notebook to open first"


def test_workspace_that_is_a_file_is_refused(course, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["lab", "--workspace", str(target), "--setup-only"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_lab_runs_with_this_environment_first_and_the_workspace_config(tmp_path, monkeypatch):
    bindir = str(Path(sys.executable).parent)
    env = lab.lab_environment(tmp_path, {"PATH": "/usr/bin:/bin", "JUPYTER_CONFIG_PATH": "/x"})
    assert env["PATH"].split(":")[0] == bindir
    assert env["JUPYTER_CONFIG_PATH"].split(":") == [str(tmp_path / ".jupyter"), "/x"]
    assert env["JUPYTERLAB_SETTINGS_DIR"].startswith(str(tmp_path))


@pytest.mark.parametrize("uid", [0, 1000])
def test_root_gets_allow_root_with_a_note(monkeypatch, uid):
    monkeypatch.setattr(lab.os, "getuid", lambda: uid)
    command, note = lab.lab_command(["--port", "1"], no_browser=True)
    assert command[-3:-1] == ["1", "--no-browser"] or "--no-browser" in command
    assert ("--allow-root" in command) == (uid == 0) and bool(note) == (uid == 0)


def test_a_failing_jupyterlab_is_explained(tmp_path, monkeypatch):
    said = []

    class Failing:
        def __init__(self, *args, **kwargs):
            pass

        def wait(self, timeout=None):
            return 1

    monkeypatch.setattr(lab.subprocess, "Popen", Failing)
    assert lab.start_lab(tmp_path, echo=said.append) == 1
    assert any("exit code 1" in s and "--port" in s for s in said)


def test_sigterm_to_mlsd_lab_stops_jupyterlab_too(tmp_path):
    """A stopped `mlsd lab` must not leave its JupyterLab (and its terminals) running."""
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "child-got-sigterm"
    child = (
        "import pathlib, signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (pathlib.Path({str(marker)!r}).touch(), "
        "sys.exit(0)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = (
        "import sys\n"
        "from curriculum import lab\n"
        "lab.lab_command = lambda extra, no_browser=False: "
        f"([sys.executable, '-c', {child!r}], '')\n"
        f"sys.exit(lab.start_lab(__import__('pathlib').Path({str(tmp_path)!r})))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "JupyterLab (the child) never got the SIGTERM"


def test_the_workspace_config_shows_a_learner_only_their_tools(tmp_path, monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/bash")
    config = write_jupyter_config(tmp_path)
    server = json.loads((config / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.validate_assignment"] is True
    assert extensions["curriculum.validate"] is True
    assert not extensions["nbgrader.server_extensions.formgrader"]
    assert server["LabApp"]["news_url"] is None
    page = json.loads((config / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:create-assignment"] is True
    assert "@jupyter/nbgrader:validate-assignment" not in page["disabledExtensions"]
    shell = server["ServerApp"]["terminado_settings"]["shell_command"]
    assert "-l" not in shell and "--login" not in shell, "a login shell resets PATH"
    rc = Path(shell[shell.index("--rcfile") + 1]).read_text()
    assert f'export PATH="{Path(sys.executable).parent}:$PATH"' in rc
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news = settings / "notification.jupyterlab-settings"
    assert json.loads(news.read_text())["fetchNews"] == "false"
    news.write_text('{"fetchNews": "true"}')  # the learner's choice survives the next start
    write_jupyter_config(tmp_path)
    assert json.loads(news.read_text())["fetchNews"] == "true"
    monkeypatch.setenv("SHELL", "/bin/zsh")
    assert terminal_command(config) == ["/bin/zsh", "-i"]


def test_validate_gives_a_cell_the_graders_wall_clock_and_a_readable_timeout(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    config = write_jupyter_config(tmp_path, cell_timeout=60)
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(config)).load_config()
    assert loaded.Execute.timeout == 240, "nbgrader's default is 30 s; the grader allows 4 x 60 s"
    assert loaded.Execute.raise_on_iopub_timeout is False, "slow output on a busy laptop"
    (line,) = loaded.Execute.error_on_timeout["traceback"]
    assert "240 s" in line and "busy" in line and "Timeout waiting" not in line


def test_check_finds_a_bare_name_anywhere_in_the_workspace(course, tmp_path):
    workspace = tmp_path / "ws"
    prepare_workspace(course, workspace)
    day1 = workspace / "day1"
    assert find_workspace(day1) == workspace.resolve()
    want = (workspace / "day0" / "orientation.ipynb").resolve()
    for name, start in [
        ("orientation.ipynb", workspace),
        ("orientation", day1),
        ("day0/orientation.ipynb", day1),
        (str(want), tmp_path),
    ]:
        assert locate_notebook(name, start) == want
    with pytest.raises(Exception, match="try: mlsd check day0/orientation.ipynb"):
        locate_notebook("orientation.ipynb", tmp_path)
    (day1 / "orientation.ipynb").write_text("{}")
    with pytest.raises(Exception, match="several notebooks"):
        locate_notebook("orientation.ipynb", workspace)


def test_validate_counts_tests_and_names_the_command():
    results = {"failed": [{"source": "x", "error": "AssertionError"}]}
    out = learner_results(results, 2, "orientation.ipynb")
    assert "2 test cell(s) pass" in out["failed"][0]["error"]
    assert "mlsd check orientation.ipynb" in out["failed"][0]["error"]
    assert learner_results({}, 3, "x.ipynb") == {}


def _all_answered(course, day, spec):
    """The released notebook with every written answer filled in by the learner."""
    nb = read_notebook(course.release_notebook(day, spec))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade"):
            cell.source = "My own answer: " + cell.source
    return nb


def _solution_lines(source):
    """Lines of autograded solutions and hidden tests: what must never reach a learner."""
    secret = set()
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        text = cell.source
        if cell.cell_type == "code" and meta.get("solution") and "### BEGIN SOLUTION" in text:
            inside = text.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            secret |= {line.strip() for line in inside.splitlines()}
        if "### BEGIN HIDDEN TESTS" in text:
            inside = text.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS")[0]
            secret |= {line.strip() for line in inside.splitlines()}
    return {line for line in secret if len(line) > 12 and not line.startswith("#")}


@pytest.mark.parametrize(("day", "spec"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_rubrics_appear_after_an_attempt_and_give_no_autograded_answer_away(course, day, spec):
    source = read_notebook(course.source_notebook(day, spec))
    release = read_notebook(course.release_notebook(day, spec))
    before = self_assessments(source, release, release)
    if not before:
        pytest.skip(f"{spec.filename} has no written answers")
    assert not any(a.attempted or a.rubric or a.reference for a in before)
    after = self_assessments(source, release, _all_answered(course, day, spec))
    secret = _solution_lines(source)
    for answer in after:
        assert answer.attempted and "Rubric" in answer.rubric, answer
        shown = answer.rubric + "\n" + answer.reference
        leaked = [line for line in secret if line in shown]
        assert not leaked, f"{answer.grade_id} shows solution or hidden-test code: {leaked[:2]}"
        code_cell = next(
            c
            for c in source.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") == answer.grade_id
        )
        if code_cell.cell_type == "code":
            assert not answer.reference, "a design checked by tests never shows its reference"


def test_progress_follows_checks_and_changes(course, tmp_path):
    from curriculum.check import CheckResult
    from curriculum.grading.results import NotebookGrade, QuestionScore
    from curriculum.rubrics import SelfAssessment
    from curriculum.syllabus import get_day

    workspace = tmp_path / "ws"
    prepare_workspace(course, workspace)
    items = progress(course, workspace)
    assert {i.state for i in items} == {"not started"}
    assert next_step(items).startswith("Open day0/orientation.ipynb")
    mine = workspace / "day0" / "orientation.ipynb"
    nb = nbformat.read(mine, as_version=4)
    assert nb.metadata["language_info"]["version"] == sys.version.split()[0], (
        "the copy holds the kernel's language_info, so opening it does not modify it"
    )
    # JupyterLab saved it untouched: other metadata, an output, its own formatting
    nb.metadata["widgets"] = {}
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    first_code.outputs = [nbformat.v4.new_output("stream", text="ran it\n")]
    mine.write_text(nbformat.writes(nb, version=4).replace("\n ", "\n  "), encoding="utf-8")
    assert progress(course, workspace)[0].state == "not started", "nothing answered yet"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[0].source += " "
    nbformat.write(nb, mine)
    assert progress(course, workspace)[0].state == "not checked"
    day = get_day("day0")
    grade = NotebookGrade(
        "you",
        "day0",
        "orientation.ipynb",
        [QuestionScore("a", 1.0, 1.0, True), QuestionScore("b", 0.0, 2.0, True, "wrong q")],
    )
    result = CheckResult(day, day.notebooks[0], grade, None, [SelfAssessment("c", 2.0, False)])
    record_check(workspace, mine, result)
    first = progress(course, workspace)[0]
    assert first.state == "checked" and (first.auto_score, first.auto_max) == (1, 3)
    assert "b: wrong q" in next_step(progress(course, workspace))
    mine.write_text(mine.read_text() + " ")
    assert progress(course, workspace)[0].state == "changed since checked"
    html = progress_html(progress(course, workspace))
    assert 'class="bar"' in html and "day0/orientation.ipynb" in html
    assert main(["progress", "--workspace", str(workspace)]) == 0
    assert (workspace / "progress.html").exists()
