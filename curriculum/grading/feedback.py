"""Feedback a learner may read: the graded notebook with hidden tests replaced by what they check.

nbgrader's feedback shows every cell as it was graded, hidden tests included. So before a graded
notebook is written to ``autograded/`` (and long before any feedback HTML), each hidden block
becomes a comment listing the checks' teaching messages (taken from their assertions), and a
failed test's traceback — which quotes the hidden code — becomes its one-line error.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat

from curriculum.errors import GradingError
from curriculum.grading.gradebook import last_line
from curriculum.grading.merge import is_test

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MAX_CHECKS = 12


def _render(node: ast.AST | None) -> str:
    """A message expression as text: literal parts kept, computed parts shown as '…'."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _render(node.left) + _render(node.right)
    if isinstance(node, ast.Call) and node.args:  # AssertionError("...")
        return _render(node.args[0])
    return "…"


def check_messages(code: str) -> list[str]:
    """The teaching messages of the assertions in `code` (unique, in order)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        message = ""
        if isinstance(node, ast.Assert):
            message = _render(node.msg)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            if isinstance(func, ast.Name) and func.id == "AssertionError":
                message = _render(node.exc)
        message = " ".join(message.split())
        if message and message != "…" and message not in found:
            found.append(message)
    return found


def redact_source(code: str) -> str:
    """A test cell's code with each hidden block replaced by the list of its checks."""
    lines, out, hidden = code.splitlines(), [], None
    for line in lines:
        if line.strip() == BEGIN:
            hidden = []
            continue
        if line.strip() == END and hidden is not None:
            messages = check_messages("\n".join(hidden))
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# Hidden checks (they ran when your notebook was graded):")
            for message in messages[:MAX_CHECKS]:
                out.append(f"{indent}#  - {message}")
            if len(messages) > MAX_CHECKS:
                out.append(f"{indent}#  - … and {len(messages) - MAX_CHECKS} more")
            if not messages:
                out.append(f"{indent}#  (checks of your answer on inputs you have not seen)")
            hidden = None
            continue
        (out if hidden is None else hidden).append(line)
    return "\n".join(out)


def redact(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a graded notebook that shows no hidden test code."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if not is_test(cell):
            continue
        cell.source = redact_source(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                ]
    return nb


def write_feedback(session, day, student: str) -> dict[str, Path]:
    """Nbgrader's HTML feedback for a graded student; filename → HTML.

    The session wrote the graded notebooks already redacted, so this is nbgrader's own
    ``generate_feedback`` (the same as the instructor's formgrader button).
    """
    result = session.api.generate_feedback(day.id, student, force=True)
    if not result.get("success"):
        raise GradingError(
            "nbgrader could not write feedback: "
            + last_line(result.get("error") or result.get("log"))
        )
    out = {}
    for spec in day.notebooks:
        html = session.workdir / "feedback" / student / day.id / f"{spec.stem}.html"
        if html.exists():
            out[spec.filename] = html
    return out
