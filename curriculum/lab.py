"""``mlsd lab``: JupyterLab for a learner, started the same way on every machine.

JupyterLab runs from this Python environment with its ``bin/`` first on ``PATH`` (so ``mlsd``
works in JupyterLab's terminals and in ``!mlsd`` cells), with the workspace's Jupyter
configuration (:func:`curriculum.workspace.write_jupyter_config`), ``--allow-root`` added with a
note when run as root (containers, cloud notebooks), and any extra arguments passed through
(``mlsd lab -- --port 8890``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from curriculum.workspace import jupyter_dir


def lab_environment(workspace: Path, base: dict | None = None) -> dict[str, str]:
    """The environment JupyterLab (and so its terminals and kernels) runs with."""
    env = dict(os.environ if base is None else base)
    bindir = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir]
    env["PATH"] = os.pathsep.join([bindir, *path])
    config = str(jupyter_dir(workspace))
    others = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p != config]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([config, *others])
    env["JUPYTERLAB_SETTINGS_DIR"] = str(jupyter_dir(workspace) / "lab" / "user-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(jupyter_dir(workspace) / "lab" / "workspaces")
    return env


def lab_command(extra: Sequence[str] = (), *, no_browser: bool = False) -> tuple[list[str], str]:
    """The JupyterLab command line, and a note to print (or '')."""
    command = [sys.executable, "-m", "jupyterlab", *extra]
    if no_browser and "--no-browser" not in command:
        command.append("--no-browser")
    note = ""
    if hasattr(os, "getuid") and os.getuid() == 0 and "--allow-root" not in command:
        command.append("--allow-root")
        note = (
            "note: running as root (a container or a cloud notebook?): JupyterLab is started with "
            "--allow-root. On your own machine, run mlsd as your user instead."
        )
    return command, note


def start_lab(
    workspace: Path, extra: Sequence[str] = (), *, no_browser: bool = False, echo=print
) -> int:
    """Start JupyterLab in `workspace` and wait for it to stop; return its exit code."""
    command, note = lab_command(extra, no_browser=no_browser)
    if note:
        echo(note)
    server = subprocess.Popen(command, cwd=workspace, env=lab_environment(workspace))
    # a SIGTERM to mlsd (a container stopping, a supervisor) reaches JupyterLab too, which then
    # shuts down its kernels and terminals instead of outliving mlsd
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: server.send_signal(signum))
    try:
        code = server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached JupyterLab too (same process group)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code not in (0, -2, 130):
        echo(
            f"JupyterLab stopped with exit code {code} (its messages are above). If the port is "
            "taken, pick another: mlsd lab -- --port 8890"
        )
    return code
