"""The learner's workspace: a copy of ``release/`` they own, with its own Jupyter settings.

``mlsd lab`` copies the released notebooks into the workspace (never overwriting the learner's
files) and writes the workspace's Jupyter configuration under ``<workspace>/.jupyter/``, which
``mlsd lab`` points JupyterLab at on every start: only the learner's piece of nbgrader (Validate)
is enabled, the news pop-up is off, and Validate speaks to a learner (:mod:`curriculum.validate`).
``mlsd check`` and ``mlsd progress`` find the workspace from any folder inside it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from curriculum.course import Course
from curriculum.errors import CourseError, NotebookError
from curriculum.grading.course_config import course_cell_timeout
from curriculum.grading.limits import Limits
from curriculum.syllabus import SYLLABUS

#: the file that marks a folder as an mlsd workspace
MARKER = ".mlsd-workspace"
#: nbgrader's lab plug-ins a learner does not need (the instructor's tools and the exchange)
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:course-list",
)


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
    """Copy every released file into `workspace` (never overwriting) and write its config.

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
        if src.suffix == ".ipynb":
            dest.write_text(with_language_info(src.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copy2(src, dest)
        report.copied.append(dest)
    write_jupyter_config(workspace, course_cell_timeout(course))
    return report


def with_language_info(text: str) -> str:
    """A notebook's JSON with the ``language_info`` its kernel here will report.

    JupyterLab writes the kernel's ``language_info`` into a notebook when the kernel starts; a
    copy that already holds it is not "modified" by opening it, so closing an untouched
    notebook does not ask to save it.
    """
    from ipykernel.ipkernel import IPythonKernel

    nb = nbformat.reads(text, as_version=4)
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    return nbformat.writes(nb) + "\n"


def jupyter_dir(workspace: Path) -> Path:
    """The workspace's Jupyter configuration folder."""
    return Path(workspace) / ".jupyter"


def write_jupyter_config(workspace: Path, cell_timeout: float = 60.0) -> Path:
    """Write the workspace's Jupyter configuration (ours: rewritten on every start).

    `cell_timeout` is the course's budget for a cell; Validate, which runs on the learner's
    own (often busy) machine and measures wall-clock time, gives each cell the grader's
    wall-clock ceiling (``Limits.wall_factor`` times as long).
    """
    workspace = Path(workspace)
    (workspace / MARKER).write_text(
        "This folder is an ML System Design Lab workspace (mlsd lab, mlsd check, mlsd progress).\n",
        encoding="utf-8",
    )
    config = jupyter_dir(workspace)
    server = {
        "ServerApp": {
            "terminado_settings": {"shell_command": terminal_command(config)},
            "jpserver_extensions": {
                "nbgrader.server_extensions.formgrader": False,
                "nbgrader.server_extensions.assignment_list": False,
                "nbgrader.server_extensions.course_list": False,
                "nbgrader.server_extensions.validate_assignment": True,
                "curriculum.validate": True,
            },
        },
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }
    _write_json(config / "jupyter_server_config.json", server)
    page = {"disabledExtensions": {plugin: True for plugin in INSTRUCTOR_PLUGINS}}
    _write_json(config / "labconfig" / "page_config.json", page)
    # JupyterLab settings are the learner's once written: only the first start writes them
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    defaults = {
        # no "official Jupyter news?" pop-up, no update checks
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        # terminals readable as text (screen readers; browser tests read them too)
        "terminal-extension/plugin": {"screenReaderMode": True},
    }
    for name, values in defaults.items():
        path = settings / f"{name}.jupyterlab-settings"
        if not path.exists():
            _write_json(path, values)
    ceiling = int(Limits().wall_factor * cell_timeout)  # the grader's wall-clock ceiling
    (config / "nbgrader_config.py").write_text(
        '"""nbgrader settings of a learner\'s workspace (written by mlsd lab)."""\n\n'
        "c = get_config()  # noqa: F821\n"
        "# Validate runs the notebook; read-only cells' checksums are not a learner's concern\n"
        "c.Validator.ignore_checksums = True\n"
        "# a cell's time on a laptop that is busy with other things: the grader's wall-clock\n"
        "# ceiling, and no error when output is slow to arrive\n"
        f"c.Execute.timeout = {ceiling}\n"
        "c.Execute.interrupt_on_timeout = True\n"
        "c.Execute.raise_on_iopub_timeout = False\n"
        f"c.Execute.iopub_timeout = {Limits().output_wait:g}\n"
        "c.Execute.error_on_timeout = {\n"
        '    "ename": "CellTimeoutError",\n'
        f'    "evalue": "the cell ran longer than {ceiling} s",\n'
        '    "traceback": [\n'
        f'        "CellTimeoutError: the cell ran longer than {ceiling} s and was stopped. If '
        "your machine is busy, close other heavy programs and validate again; otherwise make "
        'the cell do less work."\n'
        "    ],\n"
        "}\n",
        encoding="utf-8",
    )
    return config


def terminal_command(config: Path) -> list[str]:
    """The shell of JupyterLab's terminals: interactive, with this environment's ``bin/`` first.

    A login shell would read ``/etc/profile``, which resets ``PATH`` on Debian and macOS and so
    hides ``mlsd``; bash gets an rc file that reads the learner's own ``~/.bashrc`` first.
    """
    shell = os.environ.get("SHELL") or shutil.which("bash") or "sh"
    if Path(shell).name != "bash":
        return [shell, "-i"]
    bindir = Path(sys.executable).parent
    rc = config / "bashrc"
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(
        "# JupyterLab terminals of an mlsd workspace (written by mlsd lab)\n"
        "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n"
        "[ -f ~/.bashrc ] && . ~/.bashrc\n"
        f'export PATH="{bindir}:$PATH"\n',
        encoding="utf-8",
    )
    return [shell, "--rcfile", str(rc), "-i"]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def find_workspace(start: Path | None = None) -> Path | None:
    """The workspace holding `start` (default: the current folder), or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    return None


def locate_notebook(name: str | Path, start: Path | None = None) -> Path:
    """The learner's notebook `name`: a path, or a bare file name found in the workspace.

    ``mlsd check orientation.ipynb`` works from anywhere in the workspace: the name is looked up
    in the current folder, then in the day folders of the workspace.

    Raises
    ------
    NotebookError
        If no such notebook is found, or the name matches several (the message lists them).
    """
    here = Path(start or Path.cwd()).resolve()
    path = Path(name).expanduser()
    candidate = path if path.is_absolute() else here / path
    if candidate.exists():
        return candidate
    workspace = find_workspace(here)
    if workspace is not None and not path.is_absolute() and (workspace / path).exists():
        return workspace / path  # day1/x.ipynb typed inside a day folder
    if path.parent != Path("."):
        return candidate  # an explicit path that does not exist: read_notebook says so
    filename = path.name if path.suffix == ".ipynb" else f"{path.name}.ipynb"
    roots = [workspace] if workspace else [here]
    found = sorted(  # the notebook itself or one level down (the day folders)
        {p.resolve() for root in roots for p in [*root.glob(filename), *root.glob(f"*/{filename}")]}
    )
    if len(found) == 1:
        return found[0]
    days = [f"{d.id}/{s.filename}" for d in SYLLABUS for s in d.notebooks]
    if not found:
        hint = next((d for d in days if d.endswith("/" + filename)), None)
        where = f" (try: mlsd check {hint})" if hint else f" (course notebooks: {', '.join(days)})"
        raise NotebookError(f"{name}: no such notebook in {roots[0]}{where}")
    shown = ", ".join(str(p.relative_to(roots[0])) for p in found[:5])
    raise NotebookError(f"{name}: several notebooks have this name ({shown}); give the path")
