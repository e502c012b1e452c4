"""The mlsd command: clear errors for bad input, check never touches the learner's file, and a
grading batch survives broken submissions."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from curriculum.cli import build_parser, main
from curriculum.syllabus import get_day

from .conftest import learner_notebook, quick_solution

DAY = get_day("day0")
SPEC = DAY.notebooks[0]


def test_console_script_and_help_for_every_command():
    exe = Path(sys.executable).parent / "mlsd"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    commands = ["list", "run", "release", "check", "grade", "lab", "bench", "datasets"]
    for command in commands:
        assert command in out
    parser = build_parser()
    for command in commands:
        with pytest.raises(SystemExit) as info:
            parser.parse_args([command, "--help"])
        assert info.value.code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "day42"], "unknown day 'day42'"),
        (["list", "nope"], "unknown day 'nope'"),
        (["release", "day42"], "unknown day 'day42'"),
        (["grade", "day42", "--submissions", "."], "unknown day 'day42'"),
        (["run", "day0", "-p", "seed"], "bad -p value 'seed'"),
        (["run", "day0", "-p", "n_sample=3"], "has no parameter 'n_sample'"),
        (["run", "day0", "-p", "seed=abc"], "should be int"),
        (["check", "missing.ipynb"], "no such notebook"),
        (["check", "{tmp}/bad.ipynb"], "not valid JSON"),
        (["check", "{tmp}/empty.ipynb"], "empty"),
        (["check", "{tmp}/notes.txt"], "not a notebook"),
        (["check", "{tmp}/other.ipynb"], "not a notebook of this course"),
        (["check", "{tmp}/bad.ipynb", "--day", "day42"], "not valid JSON"),
        (["grade", "day0", "--submissions", "{tmp}/nowhere"], "no such folder"),
        (["grade", "day0", "--submissions", "{tmp}/emptydir"], "no student folders"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "bad.ipynb").write_text("{oops")
    (tmp_path / "empty.ipynb").write_text("")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "emptydir").mkdir()
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), tmp_path / "other.ipynb"
    )
    code = main([arg.format(tmp=tmp_path) for arg in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["grade", "day0"])  # --submissions missing
    assert info.value.code == 2
    assert "--submissions" in capsys.readouterr().err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_check_grades_a_copy_and_leaves_the_learner_file_identical(course, tmp_path, capsys):
    learner = tmp_path / "my work" / "orientation-Copy1.ipynb"  # renamed: found by its cells
    learner.parent.mkdir()
    nbformat.write(quick_solution(course, DAY, SPEC), learner)
    before, mtime = _digest(learner), learner.stat().st_mtime_ns
    assert main(["check", str(learner)]) == 0
    out = capsys.readouterr().out
    assert _digest(learner) == before and learner.stat().st_mtime_ns == mtime
    assert "abs_error_percentile_contract" in out and "Autograded 3/3" in out
    assert "self-assessed" in out and "Rubric (2 points)" in out  # the answer was written
    feedback = learner.with_name("orientation-Copy1.feedback.html")
    assert feedback.exists() and "abs_error_percentile" in feedback.read_text()
    page = feedback.read_text()
    assert "<title>day0/orientation.ipynb: feedback</title>" in page
    assert not re.search(r'src="https?://', page), "the feedback page fetches nothing"


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_grade_batch_survives_broken_submissions(course, tmp_path, monkeypatch, capsys):
    # grade in a copy of the course so the repository's autograded/ and gradebook stay clean
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(course.config_file, root)
    shutil.copytree(course.root / "source", root / "source")
    shutil.copytree(course.root / "release", root / "release")
    monkeypatch.setenv("MLSD_COURSE_ROOT", str(root))
    subs = tmp_path / "submissions"
    _write(quick_solution(course, DAY, SPEC), subs / "ada" / "day0" / SPEC.filename)
    (subs / "bob" / "day0").mkdir(parents=True)
    (subs / "bob" / "day0" / SPEC.filename).write_text('{"cells": [')
    forever = "while True:\n    pass"
    _write(
        learner_notebook(course, DAY, SPEC, {"abs_error_percentile": forever}),
        subs / "cyd" / "day0" / SPEC.filename,
    )
    (subs / "dee").mkdir()  # submitted nothing for day0
    csv_path = tmp_path / "grades.csv"
    code = main(
        [
            "grade",
            "day0",
            "--submissions",
            str(subs),
            "--csv",
            str(csv_path),
            "--cell-timeout",
            "20",
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(csv_path.open()))
    totals = {r["student"]: r for r in rows if r["question"] == "TOTAL"}
    assert set(totals) == {"ada", "bob", "cyd", "dee"}
    assert float(totals["ada"]["points"]) == 3 and totals["ada"]["max_points"] == "5"
    assert float(totals["bob"]["points"]) == 0 and "JSON" in totals["bob"]["note"]
    assert float(totals["dee"]["points"]) == 0 and "missing" in totals["dee"]["note"]
    assert float(totals["cyd"]["points"]) == 0
    cyd = {r["question"]: r for r in rows if r["student"] == "cyd"}
    assert cyd["abs_error_percentile_examples"]["points"] == "0"
    assert "NameError" in cyd["abs_error_percentile_examples"]["note"]
    assert (root / "autograded" / "ada" / "day0" / SPEC.filename).exists()
    assert (root / "gradebook.db").exists()
    out = capsys.readouterr().out
    assert "graded bob: 0/5" in out
