"""Day 0: plausible wrong answers lose points under real autograding; honest alternatives don't."""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import grade_students, learner_notebook, reference_answer

DAY = get_day("day0")
SPEC = DAY.notebook("orientation.ipynb")
SIGNATURE = "def abs_error_percentile(y_true, y_pred, q=95.0):\n"
CHECKS = """\
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if t.shape != p.shape or t.size == 0 or not 0 <= q <= 100:
        raise ValueError("bad input")
    if np.isnan(t).any() or np.isnan(p).any():
        raise ValueError("NaN")
"""

# name -> (code of the answer cell, grade ids that must score 0)
WRONG_ANSWERS = {
    "signed error, no absolute value": (
        SIGNATURE + CHECKS + "    return float(np.percentile(t - p, q))\n",
        ["abs_error_percentile_examples", "abs_error_percentile_contract"],
    ),
    "mean absolute error instead of a percentile": (
        SIGNATURE + CHECKS + "    return float(np.mean(np.abs(t - p)))\n",
        ["abs_error_percentile_examples", "abs_error_percentile_contract"],
    ),
    "q passed to np.quantile as if it were a fraction": (
        SIGNATURE + CHECKS + "    return float(np.quantile(np.abs(t - p), q))\n",
        ["abs_error_percentile_examples", "abs_error_percentile_contract"],
    ),
    "pandas aligns on index labels instead of position": (
        SIGNATURE
        + "    t, p = pd.Series(y_true, dtype=float), pd.Series(y_pred, dtype=float)\n"
        + "    if len(t) != len(p) or len(t) == 0 or not 0 <= q <= 100:\n"
        + "        raise ValueError('bad input')\n"
        + "    return float(np.percentile((t - p).abs().dropna(), q))\n",
        ["abs_error_percentile_contract"],
    ),
    "q rounded to a whole percent": (
        SIGNATURE + CHECKS + "    return float(np.percentile(np.abs(t - p), round(q)))\n",
        ["abs_error_percentile_contract"],
    ),
    "right number, no input validation": (
        SIGNATURE
        + "    err = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))\n"
        + "    return float(np.percentile(err, q))\n",
        ["abs_error_percentile_contract"],
    ),
}

HONEST_ALTERNATIVES = {
    "pandas by position with Series.quantile": (
        SIGNATURE
        + CHECKS
        + "    err = (pd.Series(t) - pd.Series(p)).abs()\n"
        + "    return float(err.quantile(q / 100))\n"
    ),
    "np.quantile with q as a fraction": (
        SIGNATURE + CHECKS + "    return float(np.quantile(np.abs(t - p), q / 100.0))\n"
    ),
}


def _students(answers: dict[str, str], course) -> dict:
    return {
        f"s{i}": {
            SPEC.filename: learner_notebook(course, DAY, SPEC, {"abs_error_percentile": code})
        }
        for i, code in enumerate(answers.values())
    }


def test_wrong_answers_lose_points(course, tmp_path):
    students = _students({name: code for name, (code, _) in WRONG_ANSWERS.items()}, course)
    grades = grade_students(course, DAY, students, tmp_path)
    for i, (name, (_, losing)) in enumerate(WRONG_ANSWERS.items()):
        grade = grades[f"s{i}"][SPEC.filename]
        assert not grade.error, f"{name}: {grade.error}"
        points = grade.points()
        for grade_id in losing:
            assert points[grade_id] == 0, f"wrong answer '{name}' still earns points on {grade_id}"
        for q in grade.questions:
            if q.autograded and q.points == 0:
                assert q.message and q.message != "AssertionError", (
                    f"'{name}' fails {q.grade_id} without a message the learner can act on"
                )


def test_honest_alternatives_get_full_marks(course, tmp_path):
    grades = grade_students(course, DAY, _students(HONEST_ALTERNATIVES, course), tmp_path)
    for i, name in enumerate(HONEST_ALTERNATIVES):
        grade = grades[f"s{i}"][SPEC.filename]
        assert grade.auto_score == grade.auto_max_score, (
            f"honest alternative '{name}' loses points: "
            + "; ".join(f"{q.grade_id}: {q.message}" for q in grade.questions if q.message)
        )


@pytest.mark.parametrize("q", [0, 50, 95, 100])
def test_reference_solution_matches_numpy(course, q):
    """The reference answer itself, imported from the source notebook, on fresh inputs."""
    import numpy as np

    namespace = {"np": np}
    exec(reference_answer(course, DAY, SPEC, "abs_error_percentile"), namespace)  # noqa: S102
    rng = np.random.default_rng(q)
    t, p = rng.normal(size=101), rng.normal(size=101)
    assert namespace["abs_error_percentile"](t, p, q=q) == pytest.approx(
        np.percentile(np.abs(t - p), q)
    )
