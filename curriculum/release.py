"""The student versions in ``release/``: generated with nbgrader, checked to be in sync.

``release/<day>/`` is always exactly what ``nbgrader generate_assignment`` makes from
``source/<day>/``. Generation runs in a throw-away nbgrader course so it never touches the
instructor's gradebook.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from curriculum.course import Course
from curriculum.errors import GradingError
from curriculum.grading.course_config import nbgrader_api
from curriculum.syllabus import Day

IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def build_release(course: Course, day: Day, dest: Path) -> Path:
    """Generate the student version of `day` into ``<dest>/<day id>/`` and return that folder.

    Raises
    ------
    GradingError
        If nbgrader refuses the source notebooks (e.g. duplicate grade ids, bad metadata).
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlsd-release-") as tmp:
        api = nbgrader_api(
            course,
            Path(tmp),
            release_directory=str(dest),
            db_url=f"sqlite:///{Path(tmp) / 'gradebook.db'}",
        )
        result = api.generate_assignment(day.id, force=True, create=True)
    if not result.get("success"):
        log = (result.get("error") or result.get("log") or "").strip().splitlines()
        reason = next((line for line in reversed(log) if "Error" in line), log[-1] if log else "")
        raise GradingError(f"nbgrader could not generate {day.id}: {reason.strip()}")
    return dest / day.id


def release_days(course: Course, days: list[Day]) -> list[Path]:
    """Regenerate ``release/<day>/`` for each day (the ``mlsd release`` command)."""
    written = []
    for day in days:
        with tempfile.TemporaryDirectory(prefix="mlsd-release-") as tmp:
            built = build_release(course, day, Path(tmp))
            target = course.release_dir(day)
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(built, target, ignore=shutil.ignore_patterns(*IGNORED_NAMES))
        written.append(target)
    return written


def _files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not IGNORED_NAMES.intersection(p.relative_to(folder).parts)
    }


def _notebook_difference(expected: Path, actual: Path) -> str:
    want = json.loads(expected.read_text(encoding="utf-8"))
    try:
        got = json.loads(actual.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return "not valid JSON"
    if want.get("metadata") != got.get("metadata"):
        return "notebook metadata differs"
    want_cells, got_cells = want.get("cells", []), got.get("cells", [])
    for i, (w, g) in enumerate(zip(want_cells, got_cells, strict=False)):
        if w != g:
            label = w.get("id") or f"#{i}"
            fields = sorted(k for k in set(w) | set(g) if w.get(k) != g.get(k))
            return f"cell {label} differs ({', '.join(fields)})"
    if len(want_cells) != len(got_cells):
        return f"{len(got_cells)} cells, expected {len(want_cells)}"
    if want != got:
        return "notebook format fields differ"
    return ""


def release_differences(course: Course, day: Day) -> list[str]:
    """Compare ``release/<day>/`` with a fresh nbgrader generation; return the differences.

    Each difference names the file (and the cell for notebooks). An empty list means in sync.
    """
    target = course.release_dir(day)
    if not target.is_dir():
        return [f"release/{day.id}/ does not exist (run: mlsd release {day.id})"]
    with tempfile.TemporaryDirectory(prefix="mlsd-sync-") as tmp:
        built = build_release(course, day, Path(tmp))
        expected, actual = _files(built), _files(target)
        problems = [f"release/{day.id}/{name}: missing" for name in sorted(expected - actual)]
        problems += [
            f"release/{day.id}/{name}: not generated from source/"
            for name in sorted(actual - expected)
        ]
        for name in sorted(expected & actual):
            if name.endswith(".ipynb"):
                diff = _notebook_difference(built / name, target / name)
            else:
                same = (built / name).read_bytes() == (target / name).read_bytes()
                diff = "" if same else "content differs"
            if diff:
                problems.append(f"release/{day.id}/{name}: {diff} (run: mlsd release {day.id})")
    return problems


def release_status(course: Course, day: Day) -> str:
    """``"in sync"``, ``"not released"`` or ``"out of sync: <first difference>"`` for a day."""
    if not course.release_dir(day).is_dir():
        return "not released"
    problems = release_differences(course, day)
    if not problems:
        return "in sync"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"out of sync: {problems[0]}{more}"
