"""The examiner kernel as the grader prepares it: what it runs, starts with, opens and closes.

None of this needs a kernel to test.

Under ``mlsd grade`` / ``mlsd check`` every autograded test cell runs in a second, trusted
kernel — the examiner — never in the learner's. The examiner starts with the import statements
of the instructor's read-only cells that the tests use (taken from ``source/``, so a learner
cannot change what ``np`` means to a test), then makes :data:`curriculum.exam.student` talk to
the learner's kernel over a Unix socket. Before each test cell the learner's kernel is told to
answer (:func:`serve_code`); after it, the examiner lets it go.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from collections.abc import Iterable

import nbformat

from curriculum.grading.merge import is_test, nbgrader_meta

#: what a test cell may use without defining it
BUILTIN_NAMES = frozenset(dir(builtins))


def examined(cell: nbformat.NotebookNode) -> bool:
    """Whether the grader runs this cell in the examiner: an autograded test cell."""
    return is_test(cell)


def free_names(code: str) -> set[str]:
    """Global names a cell reads but does not define itself (builtins excluded).

    Raises
    ------
    SyntaxError
        If the cell is not plain Python.
    """
    top = symtable.symtable(code, "<cell>", "exec")
    defined = {
        s.get_name()
        for s in top.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }
    read: set[str] = set()

    def visit(table: symtable.SymbolTable, is_top: bool) -> None:
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if is_top:
                if symbol.is_referenced():
                    read.add(name)
            elif symbol.is_global() and symbol.is_referenced():
                read.add(name)
            elif symbol.is_declared_global() and symbol.is_assigned():
                defined.add(name)
        for child in table.get_children():
            visit(child, False)

    visit(top, True)
    return read - defined - BUILTIN_NAMES


def defined_names(code: str) -> set[str]:
    """Global names a cell defines (assigns, imports, ``def``/``class``)."""
    top = symtable.symtable(code, "<cell>", "exec")
    return {
        s.get_name()
        for s in top.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }


def instructor_import_cells(source: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The instructor's code cells that are neither answers nor tests (imports, data, plots)."""
    return [
        c
        for c in source.cells
        if c.cell_type == "code" and not nbgrader_meta(c).get("solution") and not is_test(c)
    ]


def trusted_imports(source: nbformat.NotebookNode, needed: Iterable[str] | None = None) -> str:
    """The import statements of the instructor's non-test, non-answer cells, as code.

    Parameters
    ----------
    source
        The instructor's notebook.
    needed : iterable of str, optional
        Keep only imports that bind one of these names (default: those the test cells read).
    """
    if needed is None:
        needed = set()
        for cell in source.cells:
            if examined(cell):
                try:
                    needed |= free_names(cell.source)
                except SyntaxError:
                    continue
    needed = set(needed)
    lines: list[str] = []
    for cell in instructor_import_cells(source):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            keep = [a for a in node.names if (a.asname or a.name.split(".")[0]) in needed]
            if keep:
                node.names = keep
                lines.append(ast.unparse(node))
    return "\n".join(dict.fromkeys(lines))


def bootstrap_code(
    socket_path: str, max_bytes: int, imports: str, accept_timeout: float = 30.0
) -> str:
    """What the examiner kernel runs first: become the examiner, then the trusted imports."""
    return (
        "import curriculum.exam as _mlsd_exam\n"
        f"_mlsd_exam._examine({socket_path!r}, max_bytes={int(max_bytes)}, "
        f"accept_timeout={float(accept_timeout)!r})\n"
        "import warnings as _mlsd_warnings\n"
        "with _mlsd_warnings.catch_warnings():\n"
        "    _mlsd_warnings.simplefilter('ignore')\n"
        + "".join(f"    {line}\n" for line in (imports or "pass").splitlines())
    )


def begin_code(token: str) -> str:
    """Run in the examiner before a test cell."""
    return f"_mlsd_exam._begin({token!r})"


END_CODE = "_mlsd_exam._end()"


def serve_code(socket_path: str, token: str, max_bytes: int) -> str:
    """Run in the learner's kernel before a test cell: answer the examiner until it is done."""
    return (
        "import curriculum.grading.answering as _mlsd_answering\n"
        f"_mlsd_answering.serve({socket_path!r}, {token!r}, {int(max_bytes)})"
    )
