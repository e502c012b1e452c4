"""The resume ledger: each graded notebook leaves ``<name>.mlsd.json`` beside its executed copy.

An interrupted batch resumes without regrading a notebook whose ledger entry has the same digest
(same submission, instructor's notebook, limits and sandbox) and whose executed notebook is still
there (feedback needs it).
"""

from __future__ import annotations

import json
from pathlib import Path

from curriculum.grading.results import NotebookGrade


def ledger_path(executed: Path) -> Path:
    """The ledger entry beside an executed notebook."""
    return executed.with_name(executed.name.removesuffix(".ipynb") + ".mlsd.json")


def read_ledger(executed: Path, digest: str) -> NotebookGrade | None:
    """The recorded grade for `digest`, or None if it must be graded (again)."""
    if not executed.exists():
        return None
    try:
        saved = json.loads(ledger_path(executed).read_text(encoding="utf-8"))
        if saved.get("digest") != digest:
            return None
        return NotebookGrade.from_dict(saved)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write_ledger(executed: Path, grade: NotebookGrade) -> None:
    """Record a grade (JSON, ASCII-safe) beside its executed notebook."""
    ledger_path(executed).write_text(json.dumps(grade.to_dict(), indent=1), encoding="utf-8")
