"""Shared fixtures: the course, its notebooks, and helpers that build learner submissions."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nbformat
import pytest

from curriculum.course import Course
from curriculum.grading.results import NotebookGrade
from curriculum.grading.session import GradingSession
from curriculum.notebooks import inject_parameters, read_notebook
from curriculum.syllabus import SYLLABUS, Day, NotebookSpec

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [(day, spec) for day in SYLLABUS for spec in day.notebooks]
NOTEBOOK_IDS = [f"{day.id}/{spec.filename}" for day, spec in NOTEBOOKS]

warnings.filterwarnings("ignore", category=DeprecationWarning)
# pytest-xdist runs one worker per core and each worker's notebook kernels inherit this: one
# OpenMP thread per kernel keeps two workers from oversubscribing (and spin-waiting on) the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_worker():
    """pytest-xdist already runs one worker per core: stop each worker's numeric libraries from
    starting a thread per core too (kernels started by tests are not affected)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


def learner_notebook(
    course: Course,
    day: Day,
    spec: NotebookSpec,
    answers: dict[str, str] | None = None,
    *,
    quick: bool = True,
) -> nbformat.NotebookNode:
    """The released notebook as a learner would submit it: `answers` maps a solution cell's
    grade_id to the code the learner wrote there; quick parameters keep grading fast."""
    nb = read_notebook(course.release_notebook(day, spec))
    answers = dict(answers or {})
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    assert not answers, f"no solution cells named {sorted(answers)} in {spec.filename}"
    if quick and spec.quick:
        nb = inject_parameters(nb, spec.quick)
    return nb


def quick_solution(course: Course, day: Day, spec: NotebookSpec) -> nbformat.NotebookNode:
    """The source (reference solution) notebook with its quick parameters injected."""
    nb = read_notebook(course.source_notebook(day, spec))
    return inject_parameters(nb, spec.quick) if spec.quick else nb


def grade_students(
    course: Course,
    day: Day,
    students: dict[str, dict[str, nbformat.NotebookNode]],
    tmp_path: Path,
    **session_options,
) -> dict[str, dict[str, NotebookGrade]]:
    """Autograde several learners in one nbgrader run; student → notebook → grade."""
    submissions = {}
    for student, notebooks in students.items():
        submissions[student] = {}
        for filename, nb in notebooks.items():
            path = tmp_path / "in" / student / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            submissions[student][filename] = path
    with GradingSession(course, tmp_path / "course", **session_options) as session:
        grades = session.grade(day, submissions)
    out: dict[str, dict[str, NotebookGrade]] = {}
    for g in grades:
        out.setdefault(g.student, {})[g.notebook] = g
    return out


def reference_answer(course: Course, day: Day, spec: NotebookSpec, grade_id: str) -> str:
    """The reference answer of a solution cell, without nbgrader's markers."""
    nb = read_notebook(course.source_notebook(day, spec))
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    return "\n".join(line for line in cell.source.splitlines() if line.strip() not in markers)


def answer_variant(
    course: Course, day: Day, spec: NotebookSpec, grade_id: str, *changes: tuple[str, str]
) -> str:
    """The reference answer with plausible changes: each (old, new) replaces `old` once."""
    code = reference_answer(course, day, spec, grade_id)
    for old, new in changes:
        assert old in code, f"{old!r} is not in the reference answer of {grade_id}"
        code = code.replace(old, new, 1)
    return code


def case_code(course: Course, day: Day, spec: NotebookSpec, question: str, change: tuple) -> str:
    """A case's answer: the code itself, or the reference with (old, new) replacements."""
    if len(change) == 1 and isinstance(change[0], str):
        return change[0]
    return answer_variant(course, day, spec, question, *change)


def grade_cases(
    course: Course,
    day: Day,
    spec: NotebookSpec,
    groups: dict[str, dict[str, tuple]],
    wrong_groups: dict[str, dict[str, tuple]],
    tmp_path: Path,
) -> None:
    """Grade `groups` (student -> {case: (question, cells, *change)}) in one run.

    A case is wrong when it is named in `wrong_groups`; see :func:`grade_learners`.
    """
    learners = {
        student: {
            name: (question, cells, case_code(course, day, spec, question, change))
            for name, (question, cells, *change) in cases.items()
        }
        for student, cases in groups.items()
    }
    wrong = {name for cases in wrong_groups.values() for name in cases}
    grade_learners(course, day, spec, learners, wrong, tmp_path)


def reference_learner_with(
    course: Course, day: Day, spec: NotebookSpec, changes: dict[str, str]
) -> dict[str, nbformat.NotebookNode]:
    """A submission with every code answer as in the reference except those in `changes`
    (grade_id → code)."""
    from curriculum.notebooks import grade_cells

    source = read_notebook(course.source_notebook(day, spec))
    answers = {
        c.grade_id: reference_answer(course, day, spec, c.grade_id)
        for c in grade_cells(source)
        if c.solution and c.cell_type == "code"
    }
    answers.update(changes)
    return {spec.filename: learner_notebook(course, day, spec, answers)}


def assert_cases_graded(
    grade: NotebookGrade, student: str, cases: dict, kind: str, exempt: tuple[str, ...] = ()
) -> None:
    """Check one learner's grade against their cases: ``name -> (question, cells, ...)``.

    ``kind == "wrong"``: every named cell scores 0 with a hint, and every other autograded cell
    (but those in `exempt`) keeps full marks, so the lost points come from the mistakes.
    ``kind == "honest"``: every named cell keeps full marks.
    """
    assert not grade.error, f"{student}: {grade.error}"
    points = {q.grade_id: q for q in grade.questions}
    for name, (_, cells, *_) in cases.items():
        for cell in cells:
            q = points[cell]
            if kind == "wrong":
                assert q.points == 0, f"'{name}' still earns points on {cell}"
                assert q.message.split(":", 1)[-1].strip(), f"'{name}' fails {cell} without a hint"
            else:
                assert q.points == q.max_points, f"honest '{name}' loses {cell}: {q.message}"
    if kind == "wrong":
        touched = {c for _, cells, *_ in cases.values() for c in cells} | set(exempt)
        for q in grade.questions:
            if q.autograded and q.grade_id not in touched:
                assert q.points == q.max_points, f"{student}: {q.grade_id} lost: {q.message}"


def grade_learners(
    course: Course,
    day: Day,
    spec: NotebookSpec,
    learners: dict[str, dict[str, tuple]],
    wrong: set[str],
    tmp_path: Path,
    exempt: tuple[str, ...] = (),
) -> None:
    """Grade learners in one nbgrader run and check each one's cases.

    `learners` maps a label to the learner's cases, ``name -> (question, cells, code)``: the
    learner answers like the reference except for those questions (one case per question, chosen
    not to interact), so that one run proves several mistakes at once. A learner's cases are all
    wrong or all honest (``name in wrong``): a wrong learner scores 0 with a hint on exactly the
    named cells and keeps every other autograded point (but those in `exempt`); an honest learner
    keeps every point.
    """
    students = {}
    for i, cases in enumerate(learners.values()):
        questions = [question for question, _, _ in cases.values()]
        assert len(set(questions)) == len(questions), f"two cases answer one question: {cases}"
        students[f"s{i}"] = reference_learner_with(
            course, day, spec, {question: code for question, _, code in cases.values()}
        )
    grades = grade_students(course, day, students, tmp_path)
    if os.environ.get("MLSD_SHOW_GRADES"):  # while measuring a change: every learner's losses
        with open(os.environ["MLSD_SHOW_GRADES"], "a", encoding="utf-8") as log:
            for i, label in enumerate(learners):
                grade = grades[f"s{i}"][spec.filename]
                lost = {
                    q.grade_id: q.message[:200]
                    for q in grade.questions
                    if q.autograded and q.points < q.max_points
                }
                log.write(f"{label}: error={grade.error!r} lost={lost}\n")
    for i, (label, cases) in enumerate(learners.items()):
        grade = grades[f"s{i}"][spec.filename]
        kinds = {name in wrong for name in cases}
        assert len(kinds) == 1, f"{label} mixes wrong and honest cases: {list(cases)}"
        kind = "wrong" if kinds.pop() else "honest"
        assert_cases_graded(grade, label, cases, kind, exempt)
        if kind == "honest":  # an honest alternative keeps every point, not only its own
            lost = [q.grade_id for q in grade.questions if q.autograded and q.points < q.max_points]
            assert not lost, f"honest {label} loses {lost}"
