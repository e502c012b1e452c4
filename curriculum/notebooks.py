"""Reading notebooks safely and inspecting what the course relies on: parameters and grade cells."""

from __future__ import annotations

import ast
import copy
import json
import keyword
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from curriculum.errors import CourseError, NotebookError


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, with a one-line error for every way a file can be wrong.

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file.

    Returns
    -------
    NotebookNode
        The notebook as nbformat version 4.

    Raises
    ------
    NotebookError
        If the file is missing, empty, not JSON, or JSON that is not a valid notebook.
    """
    path = Path(path)
    if not path.exists():
        raise NotebookError(f"{path}: no such file")
    if path.is_dir():
        raise NotebookError(f"{path}: is a folder, not a notebook")
    if path.suffix != ".ipynb":
        raise NotebookError(f"{path}: not a notebook (expected a .ipynb file)")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise NotebookError(f"{path}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise NotebookError(f"{path}: JSON but not a Jupyter notebook (no 'cells'/'nbformat')")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several validation error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{path}: not a valid notebook ({first})") from None
    return nb


@dataclass(frozen=True)
class GradeCell:
    """An nbgrader cell as the course sees it.

    Attributes
    ----------
    grade_id : str
        The cell's stable, descriptive id.
    cell_type : str
        ``"code"`` or ``"markdown"``.
    points : float
        Points the cell is worth (0 for ungraded solution cells).
    solution : bool
        The learner writes in this cell.
    grade : bool
        The cell carries points.
    autograded : bool
        Points are given by running tests (a graded code cell that is not a solution).
    """

    grade_id: str
    cell_type: str
    points: float
    solution: bool
    grade: bool

    @property
    def autograded(self) -> bool:
        """Whether nbgrader scores this cell automatically (a test cell)."""
        return self.grade and not self.solution and self.cell_type == "code"

    @property
    def manual(self) -> bool:
        """Whether a person scores this cell (a graded answer cell)."""
        return self.grade and self.solution


def grade_cells(nb: nbformat.NotebookNode) -> list[GradeCell]:
    """List the nbgrader cells of a notebook in order."""
    cells = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta or not meta.get("grade_id"):
            continue
        if not (meta.get("grade") or meta.get("solution") or meta.get("task")):
            continue  # a read-only cell
        cells.append(
            GradeCell(
                grade_id=meta["grade_id"],
                cell_type=cell.cell_type,
                points=float(meta.get("points", 0) or 0),
                solution=bool(meta.get("solution")),
                grade=bool(meta.get("grade")),
            )
        )
    return cells


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """Return the cell tagged ``parameters`` (papermill's convention), or None."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def notebook_parameters(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Return the names and default values assigned in the notebook's parameters cell.

    Only simple ``name = literal`` assignments count; that is all the course's parameters use.
    """
    cell = parameters_cell(nb)
    if cell is None:
        return {}
    params: dict[str, Any] = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    try:
                        params[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        params[target.id] = None
    return params


def _compatible(value: Any, default: Any) -> bool:
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))


def parse_parameter(text: str) -> tuple[str, Any]:
    """Parse one ``-p name=value`` option.

    The value is a Python literal (``3``, ``0.5``, ``True``, ``'abc'``, ``[1, 2]``); anything
    that is not a literal is taken as a string.

    Raises
    ------
    CourseError
        If there is no ``=`` or the name is not a Python identifier.
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep:
        raise CourseError(f"bad -p value {text!r}: expected name=value, e.g. -p seed=1")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise CourseError(f"bad -p value {text!r}: {name!r} is not a parameter name")
    raw = raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name, value


def check_parameters(overrides: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> None:
    """Check that every override names a parameter of the notebook and has a fitting type.

    Raises
    ------
    CourseError
        Naming the unknown parameter (with the known ones) or the value of the wrong type.
    """
    for name, value in overrides.items():
        if name not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise CourseError(
                f"bad -p value: {where} has no parameter {name!r} (its parameters: {known})"
            )
        if not _compatible(value, defaults[name]):
            raise CourseError(
                f"bad -p value: {name}={value!r} for {where} should be "
                f"{type(defaults[name]).__name__} like its default {defaults[name]!r}"
            )


def parse_parameters(items: Iterable[str]) -> dict[str, Any]:
    """Parse several ``name=value`` options into a dict (later ones win)."""
    return dict(parse_parameter(item) for item in items)


def inject_parameters(
    nb: nbformat.NotebookNode, parameters: Mapping[str, Any]
) -> nbformat.NotebookNode:
    """Return a copy of `nb` with papermill's ``injected-parameters`` cell for `parameters`.

    This is what ``papermill -p`` does before executing; a learner's notebook built this way
    runs with those values wherever it is executed (nbgrader autograde included).
    """
    from papermill.parameterize import parameterize_notebook

    nb = copy.deepcopy(nb)
    added = []
    for cell in nb.cells:  # papermill expects every cell to have tags
        if "tags" not in cell.metadata:
            cell.metadata["tags"] = []
            added.append(cell)
    nb.metadata.setdefault("papermill", {})
    nb = parameterize_notebook(nb, dict(parameters))
    for cell in added:
        del cell.metadata["tags"]
    return nb
