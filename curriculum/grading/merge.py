"""Rebuild the notebook to grade: the learner's answers inside the instructor's notebook.

Only the instructor's notebook (``source/``) says which cells are graded and what they are worth.
From the learner's file the grader keeps the text of their answer cells and their own cells,
nothing else: test and read-only cells come back from ``source/`` (hidden tests included), a
deleted graded cell is put back, and every cell the course does not know loses its metadata, so
a learner cannot add a graded cell, give one more points, or dress a cell up as a grader's cell.
Outputs are cleared; image attachments of markdown answers are kept within a size budget.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import nbformat

#: metadata kept on a learner's own cells (display only, nothing that grading reads)
KEPT_METADATA = ("tags", "collapsed", "scrolled", "jupyter")


def nbgrader_meta(cell: Any) -> dict:
    """A cell's nbgrader metadata ({} when it has none or it is malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Any) -> str:
    """The cell's nbgrader grade id, or ''."""
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) else ""


def is_locked(cell: Any) -> bool:
    """A cell the learner may not change: an autograded test or another read-only cell."""
    meta = nbgrader_meta(cell)
    return bool(grade_id(cell)) and not meta.get("solution")


def is_test(cell: Any) -> bool:
    """An autograded test cell of the instructor's notebook."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _own_cell(cell: Any) -> nbformat.NotebookNode:
    """A learner's own cell, with only display metadata."""
    kind = cell.get("cell_type")
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    if kind == "code":
        mine = nbformat.v4.new_code_cell(source)
    elif kind == "markdown":
        mine = nbformat.v4.new_markdown_cell(source)
        attachments = cell.get("attachments")
        if isinstance(attachments, dict) and attachments:
            mine["attachments"] = copy.deepcopy(attachments)
    else:
        mine = nbformat.v4.new_raw_cell(source)
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    mine.metadata = nbformat.NotebookNode(
        {k: copy.deepcopy(v) for k, v in metadata.items() if k in KEPT_METADATA}
    )
    if isinstance(cell.get("id"), str):
        mine["id"] = cell["id"]
    return mine


def _attachment_bytes(cell: Any) -> int:
    total = 0
    for item in (cell.get("attachments") or {}).values():
        if isinstance(item, dict):
            total += sum(len(str(v)) for v in item.values())
    return total


def merge_submission(
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode,
    student: nbformat.NotebookNode,
    *,
    attachment_budget: int = 10 * 1024 * 1024,
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to grade: the learner's answers in the instructor's notebook.

    Parameters
    ----------
    source, release
        The instructor's notebook (with solutions and hidden tests) and the released one.
    student
        The learner's submission (any valid-enough notebook structure).
    attachment_budget : int
        Bytes of markdown attachments kept in all; beyond it attachments are dropped.

    Returns
    -------
    notebook, notes
        The notebook to execute, and one note per restored, re-added or dropped piece.
    """
    by_id = {grade_id(c): c for c in source.cells if grade_id(c)}
    instructor_cells = {c.get("id"): c for c in source.cells if not grade_id(c) and c.get("id")}
    released = {grade_id(c): c for c in release.cells if grade_id(c)}
    notes: list[str] = []
    cells: list[nbformat.NotebookNode] = []
    seen: set[str] = set()
    for cell in student.get("cells", []):
        if not isinstance(cell, dict):
            continue
        gid = grade_id(cell)
        if gid in seen:
            notes.append(f"{gid}: duplicated cell ignored")
            continue
        if gid not in by_id:
            mine = _own_cell(cell)  # the course does not know it: never graded
            course = instructor_cells.get(mine.get("id"))
            if course is not None and mine.source == course.source and "mlsd" in course.metadata:
                # the instructor's own cell, untouched: the course's declarations (a longer
                # budget for a long cell) hold for it, and for no cell a learner wrote
                mine.metadata["mlsd"] = copy.deepcopy(course.metadata["mlsd"])
            cells.append(mine)
            continue
        seen.add(gid)
        original = copy.deepcopy(by_id[gid])
        if is_locked(original):
            given = released.get(gid)
            text = cell.get("source", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            # the released text, or the instructor's own (a reference graded by `mlsd run`)
            as_given = {original.source.strip()} | ({given.source.strip()} if given else set())
            if text.strip() not in as_given:
                notes.append(f"{gid}: edited read-only cell restored from the instructor's copy")
        else:
            text = cell.get("source", "")
            original.source = "".join(text) if isinstance(text, list) else str(text)
            if original.cell_type == "markdown":
                original.pop("attachments", None)
                attachments = cell.get("attachments")
                if isinstance(attachments, dict) and attachments:
                    original["attachments"] = copy.deepcopy(attachments)
        cells.append(original)
    _restore_missing(source, released, cells, seen, notes)
    used = sum(_attachment_bytes(c) for c in cells)
    if used > attachment_budget:
        for c in cells:
            c.pop("attachments", None)
        notes.append(
            f"attachments of {used / 2**20:.1f} MB dropped (more than the "
            f"{attachment_budget / 2**20:.0f} MB allowed)"
        )
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
        if not isinstance(c.get("id"), str) or not c.get("id"):
            c["id"] = uuid.uuid4().hex[:8]
    _dedupe_ids(nb)
    return nb, notes


def _restore_missing(source, released, cells, seen, notes) -> None:
    """Put back deleted graded cells, after the cell that precedes them in the source."""
    order = [grade_id(c) for c in source.cells]
    for index, cell in enumerate(source.cells):
        gid = grade_id(cell)
        if not gid or gid in seen:
            continue
        restored = copy.deepcopy(cell if is_locked(cell) else released.get(gid, cell))
        position = 0
        for previous in reversed(order[:index]):
            hits = [i for i, c in enumerate(cells) if grade_id(c) == previous]
            if previous and hits:
                position = hits[0] + 1
                break
        cells.insert(position, restored)
        seen.add(gid)
        notes.append(f"{gid}: missing cell re-added from the instructor's copy")


def _dedupe_ids(nb: nbformat.NotebookNode) -> None:
    used: set[str] = set()
    for cell in nb.cells:
        while cell.id in used:
            cell.id = uuid.uuid4().hex[:8]
        used.add(cell.id)
