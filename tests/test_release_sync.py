"""release/ is exactly what nbgrader generate_assignment makes from source/."""

from __future__ import annotations

import json
import shutil

import pytest

from curriculum.course import Course
from curriculum.release import release_differences, release_status
from curriculum.syllabus import SYLLABUS


@pytest.mark.parametrize("day", SYLLABUS, ids=[d.id for d in SYLLABUS])
def test_release_is_in_sync_with_source(course, day):
    problems = release_differences(course, day)
    assert not problems, "release/ is stale:\n" + "\n".join(problems)


def _course_copy(course, tmp_path) -> Course:
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(course.config_file, root)
    shutil.copytree(course.root / "source", root / "source")
    shutil.copytree(course.root / "release", root / "release")
    return Course(root)


def test_an_edited_release_notebook_is_reported_by_name(course, tmp_path):
    copy = _course_copy(course, tmp_path)
    day = SYLLABUS[0]
    spec = day.notebooks[0]
    path = copy.release_notebook(day, spec)
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = "edited by hand"
    path.write_text(json.dumps(nb))
    (copy.release_dir(day) / "stray.txt").write_text("not from source")
    problems = release_differences(copy, day)
    assert any(spec.filename in p and nb["cells"][0]["id"] in p for p in problems), problems
    assert any("stray.txt" in p for p in problems), problems
    assert release_status(copy, day).startswith("out of sync")


def test_missing_release_is_reported(course, tmp_path):
    copy = _course_copy(course, tmp_path)
    day = SYLLABUS[0]
    shutil.rmtree(copy.release_dir(day))
    assert release_status(copy, day) == "not released"
    assert "mlsd release" in release_differences(copy, day)[0]
