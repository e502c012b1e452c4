"""The learner's workspace: a copy of ``release/`` they own, opened in JupyterLab (``mlsd lab``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from curriculum.course import Course
from curriculum.errors import CourseError


def default_workspace() -> Path:
    """The default workspace folder: ``~/mlsd-lab``."""
    return Path.home() / "mlsd-lab"


@dataclass
class WorkspaceReport:
    """What :func:`prepare_workspace` did: files copied, and existing files left untouched."""

    workspace: Path
    copied: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def prepare_workspace(course: Course, workspace: Path) -> WorkspaceReport:
    """Copy every released file into `workspace`, never overwriting a file that exists there.

    A learner's edited notebook is their work: when a day is re-released, new files appear in the
    workspace and existing ones are kept as they are (listed in the report).

    Raises
    ------
    CourseError
        If ``release/`` is missing or `workspace` exists and is not a folder.
    """
    release = course.root / "release"
    if not release.is_dir():
        raise CourseError(f"{release}: no released notebooks (run: mlsd release)")
    workspace = Path(workspace).expanduser().resolve()
    if workspace.exists() and not workspace.is_dir():
        raise CourseError(f"{workspace}: exists and is not a folder")
    report = WorkspaceReport(workspace)
    for src in sorted(release.rglob("*")):
        if not src.is_file() or ".ipynb_checkpoints" in src.parts:
            continue
        dest = workspace / src.relative_to(release)
        if dest.exists():
            report.kept.append(dest)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        report.copied.append(dest)
    return report


def start_lab(workspace: Path, *, no_browser: bool = False) -> int:
    """Start JupyterLab in `workspace` and wait for it to stop; return its exit code."""
    command = [sys.executable, "-m", "jupyterlab"]
    if no_browser:
        command.append("--no-browser")
    return subprocess.call(command, cwd=workspace)
