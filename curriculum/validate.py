"""nbgrader's Validate button, for a learner: a Jupyter server extension of the workspace.

nbgrader's Validate counts an unanswered written answer as a failed cell and says nothing about
the tests that pass. In a learner's workspace (``mlsd lab`` enables this extension there only),
Validate checks the **tests**: written answers are assessed with their rubric by ``mlsd check``,
and each failure says how many tests pass and which command gives points per question.
"""

from __future__ import annotations

import functools
from pathlib import Path


def _jupyter_server_extension_points():
    return [{"module": "curriculum.validate"}]


def learner_results(results: dict, passed: int, notebook: str) -> dict:
    """The validation `results` of nbgrader as a learner should read them."""
    failed = results.get("failed")
    if not failed:
        return results
    hint = (
        f"\n\n({passed} test cell(s) pass. Points per question, the rubrics of your written "
        f"answers and feedback: run  mlsd check {notebook}  in a terminal.)"
    )
    results = dict(results)
    results["failed"] = [dict(f, error=f.get("error", "") + hint) for f in failed]
    return results


def patch_validator() -> None:
    """Make nbgrader's Validator skip written answers and count passing tests (idempotent)."""
    from nbgrader import utils
    from nbgrader.validator import Validator

    if getattr(Validator, "_mlsd_learner", False):
        return
    original_failed, original_validate = Validator._get_failed_cells, Validator.validate

    @functools.wraps(original_failed)
    def failed_cells(self, nb):
        return [c for c in original_failed(self, nb) if not _written_answer(c, utils)]

    @functools.wraps(original_validate)
    def validate(self, filename):
        self._mlsd_passed = 0
        results = original_validate(self, filename)
        return learner_results(results, self._mlsd_passed, Path(filename).name)

    original_passed = Validator._get_passed_cells

    @functools.wraps(original_passed)
    def passed_cells(self, nb):
        passed = original_passed(self, nb)
        self._mlsd_passed = len(passed)
        return passed

    Validator._get_failed_cells = failed_cells
    Validator._get_passed_cells = passed_cells
    Validator.validate = validate
    Validator._mlsd_learner = True


def _written_answer(cell, utils) -> bool:
    """A manually graded answer (prose or a design): not a test."""
    return utils.is_solution(cell) and utils.is_grade(cell)


def _load_jupyter_server_extension(serverapp) -> None:
    patch_validator()
    serverapp.log.info("mlsd: Validate checks tests; written answers are self-assessed")
