"""Scoring: points per graded cell, decided from the kernels' replies in the grading process.

Only the instructor's notebook says which cells are graded and what each is worth. A test cell
earns its points when it ran to the end without an error (in the examiner under ``mlsd grade``);
a test that did not run scores 0 with the reason execution stopped; an answer graded by a person
waits (``None``).
"""

from __future__ import annotations

import nbformat

from curriculum.grading.kernel import TIMEOUT_MESSAGE
from curriculum.grading.merge import grade_id
from curriculum.grading.results import QuestionScore, clean_text
from curriculum.notebooks import grade_cells


def first_error(cell: nbformat.NotebookNode, reply: dict) -> str:
    """The first line of a failed cell's error, as the learner should read it."""
    ename, evalue = reply.get("ename"), str(reply.get("evalue", ""))
    if ename == "CellTimeoutError" and evalue.startswith("CellTimeoutError:"):
        return clean_text(evalue)[:1000]  # the grader's own account: CPU, wall time, load
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), str(output.get("evalue", ""))
            if ename in ("CellTimeoutError", "KeyboardInterrupt"):
                return TIMEOUT_MESSAGE
            first = evalue.strip().splitlines()[0] if evalue.strip() else ""
            return clean_text(f"{ename}: {first}" if first else ename)[:1000]
    ename = reply.get("ename")
    if ename:
        if ename in ("CellTimeoutError", "KeyboardInterrupt"):
            return TIMEOUT_MESSAGE
        return clean_text(f"{ename}: {reply.get('evalue', '')}")[:1000]
    return "the cell failed"


def score(
    nb: nbformat.NotebookNode,
    replies: dict[int, dict],
    source: nbformat.NotebookNode,
    reason: str = "",
) -> list[QuestionScore]:
    """Points for each graded cell of `source`, from the replies to the cells of `nb`.

    Parameters
    ----------
    nb
        The executed notebook (merged: its graded cells come from `source`).
    replies
        Cell index in `nb` → the kernel's execute reply.
    source
        The instructor's notebook: the only authority on graded cells and points.
    reason
        Why execution stopped early, for tests that did not run.
    """
    where = {}
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid and gid not in where:
            where[gid] = index
    results = []
    for graded in grade_cells(source):
        if not graded.grade:
            continue
        if not graded.autograded:
            results.append(QuestionScore(graded.grade_id, None, graded.points, False))
            continue
        index = where.get(graded.grade_id)
        reply = replies.get(index) if index is not None else None
        if reply is None:
            why = clean_text(f"not run: {reason or 'the cell did not run'}")
            results.append(QuestionScore(graded.grade_id, 0.0, graded.points, True, why))
        elif reply.get("status") == "ok":
            results.append(QuestionScore(graded.grade_id, graded.points, graded.points, True))
        else:
            message = first_error(nb.cells[index], reply)
            results.append(QuestionScore(graded.grade_id, 0.0, graded.points, True, message))
    return results
