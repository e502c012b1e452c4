"""Unit tests of the small library pieces: syllabus, notebooks, parameters, headlines."""

from __future__ import annotations

import json
import math

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from curriculum.errors import CourseError, NotebookError
from curriculum.notebooks import (
    check_parameters,
    notebook_parameters,
    parse_parameter,
    parse_parameters,
    read_notebook,
)
from curriculum.report import HEADLINE_MIME, Headline, read_headlines
from curriculum.syllabus import SYLLABUS, get_day, select_days


def test_get_day_names_the_days_that_exist():
    assert get_day("day0").id == "day0"
    with pytest.raises(CourseError, match="unknown day 'day99'.*day0"):
        get_day("day99")


def test_select_days_keeps_order_and_drops_duplicates():
    assert select_days([]) == list(SYLLABUS)
    assert [d.id for d in select_days(["day0", "day0"])] == ["day0"]


def test_day_notebook_lookup():
    day = get_day("day0")
    assert day.notebook("orientation").filename == "orientation.ipynb"
    with pytest.raises(CourseError, match="no notebook 'nope.ipynb'"):
        day.notebook("nope.ipynb")


def test_quick_parameters_are_read_only():
    spec = get_day("day0").notebooks[0]
    with pytest.raises(TypeError):
        spec.quick["seed"] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ('{"a": 1}', "not a Jupyter notebook"),
        ('{"cells": "x", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid"),
    ],
)
def test_read_notebook_rejects_bad_files_with_one_line(tmp_path, content, message):
    path = tmp_path / "nb.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError, match=message) as info:
        read_notebook(path)
    assert "\n" not in str(info.value)


def test_read_notebook_rejects_missing_folder_and_other_suffix(tmp_path):
    with pytest.raises(NotebookError, match="no such file"):
        read_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(NotebookError, match="folder"):
        read_notebook(tmp_path)
    (tmp_path / "x.py").write_text("print(1)")
    with pytest.raises(NotebookError, match="expected a .ipynb"):
        read_notebook(tmp_path / "x.py")


def _nb_with_parameters(source: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return new_notebook(cells=[cell])


def test_notebook_parameters_reads_literals():
    nb = _nb_with_parameters("seed = 0\nn_rows: int = 1_000\nrate = 0.5\nname = 'x'\n")
    assert notebook_parameters(nb) == {"seed": 0, "n_rows": 1000, "rate": 0.5, "name": "x"}
    assert notebook_parameters(new_notebook(cells=[new_code_cell("x = 1")])) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed=1", ("seed", 1)),
        ("rate = 0.25", ("rate", 0.25)),
        ("flag=True", ("flag", True)),
        ("name=abc", ("name", "abc")),
        ("name='a b'", ("name", "a b")),
    ],
)
def test_parse_parameter(text, expected):
    assert parse_parameter(text) == expected


@pytest.mark.parametrize("text", ["seed", "1x=3", "class=1", "=4"])
def test_parse_parameter_rejects_malformed(text):
    with pytest.raises(CourseError, match="bad -p value"):
        parse_parameter(text)


def test_parse_parameters_later_wins():
    assert parse_parameters(["seed=1", "seed=2"]) == {"seed": 2}


def test_check_parameters_names_unknown_and_mistyped():
    defaults = {"seed": 0, "rate": 0.5, "flag": False}
    check_parameters({"seed": 3, "rate": 1, "flag": True}, defaults, "nb")
    with pytest.raises(CourseError, match="no parameter 'sed'.*flag, rate, seed"):
        check_parameters({"sed": 1}, defaults, "nb")
    with pytest.raises(CourseError, match="seed='x'.*int"):
        check_parameters({"seed": "x"}, defaults, "nb")
    with pytest.raises(CourseError, match="flag=1.*bool"):
        check_parameters({"flag": 1}, defaults, "nb")


def test_headline_gap_closed_and_format():
    h = Headline("MAE", baseline=10.0, model=4.0, oracle=2.0)
    assert h.gap_closed == pytest.approx(0.75)
    assert h.format() == "MAE: 10 → 4 → 2 (75% of gap)"
    up = Headline("recall", baseline=0.2, model=0.5, oracle=0.6, lower_is_better=False)
    assert up.gap_closed == pytest.approx(0.75)
    assert math.isnan(Headline("x", 1.0, 1.0, 1.0).gap_closed)
    assert "gap" not in Headline("x", 1.0, 1.0, 1.0).format()


def test_read_headlines_from_outputs():
    cell = new_code_cell("")
    data = {"metric": "MAE", "baseline": 3.0, "model": 2.0, "oracle": 1.0, "lower_is_better": True}
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={HEADLINE_MIME: data, "text/plain": "x"}),
        nbformat.v4.new_output("stream", text="noise"),
    ]
    nb = json.loads(nbformat.writes(new_notebook(cells=[cell, new_code_cell("")])))
    assert read_headlines(nb) == [Headline(**data)]
