"""Where and how a submission's kernel runs: a bubblewrap sandbox, or a throw-away directory.

Every submission is executed in its own throw-away work directory that holds only that
submission. Where Debian's ``bwrap`` (bubblewrap) is installed, the kernel also runs in a
sandbox: the system is read-only, ``/tmp`` is private, there is no network and no view of other
processes, the course directory (solutions, hidden tests, gradebook) and any other path the
grader names are hidden, and only the work directory is writable. The kernel talks to the grader
over Jupyter's ``ipc`` transport (Unix sockets in the work directory), which needs no network.

Without ``bwrap`` the grader falls back to the throw-away directory alone and says so: student
code then runs with the grader's own permissions.

Resource limits (address space, file size, no core files) are applied by
:mod:`curriculum._limits` just before the kernel starts, in both modes.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: how the kernel is isolated
MODES = ("auto", "bwrap", "directory")


@dataclass(frozen=True)
class Sandbox:
    """An isolation mode for grading kernels.

    Attributes
    ----------
    mode : str
        ``"bwrap"`` (sandboxed kernel) or ``"directory"`` (throw-away directory only).
    hide : tuple of str
        Paths the kernel must not see (replaced by empty directories in the sandbox).
    expose : tuple of str
        Paths inside hidden ones the kernel needs read-only (the ``curriculum`` package, the
        Python environment, the course's ``datasets/``).
    """

    mode: str
    hide: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        """One line for the grading output."""
        if self.mode == "bwrap":
            return "bubblewrap sandbox (read-only system, private /tmp, no network)"
        return (
            "throw-away directory only: bwrap is not installed, so student code runs with your "
            "permissions (install bubblewrap to sandbox it)"
        )

    def command(self, kernel_cmd: list[str], workdir: Path, memory_mb: int | None) -> list[str]:
        """The command that starts `kernel_cmd` inside this sandbox with the resource limits."""
        limits = [sys.executable, "-m", "curriculum._limits"]
        if memory_mb:
            limits += ["--memory-mb", str(int(memory_mb))]
        inner = [*limits, "--", *kernel_cmd]
        if self.mode != "bwrap":
            return inner
        work = str(workdir)
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        cmd += ["--tmpfs", "/tmp"]
        for path in self.hide:
            if Path(path).is_dir() and not _inside(work, path):
                cmd += ["--tmpfs", path]
        hidden = ["/tmp", *self.hide]  # /tmp is private: a venv or checkout there is hidden too
        for path in self.expose:
            if Path(path).exists() and any(_inside(path, h) for h in hidden):
                cmd += ["--ro-bind", path, path]
        cmd += ["--bind", work, work, "--chdir", work]
        cmd += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        cmd += ["--die-with-parent", "--new-session"]
        # inside a PID namespace the kernel's parent is the sandbox's init (pid 1): do not let
        # ipykernel mistake that for its parent having died
        cmd += ["--unsetenv", "JPY_PARENT_PID", "--setenv", "HOME", work]
        return [*cmd, "--", *inner]


def _inside(path: str, parent: str) -> bool:
    try:
        return Path(path).resolve().is_relative_to(Path(parent).resolve())
    except OSError:
        return False


@functools.cache
def bwrap_works() -> bool:
    """Whether ``bwrap`` is installed and can create the sandbox on this machine."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net"]
    probe += ["--unshare-pid", "--die-with-parent", "--", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def choose_sandbox(mode: str = "auto", *, hide=(), expose=()) -> Sandbox:
    """The sandbox to grade with.

    Parameters
    ----------
    mode : {"auto", "bwrap", "directory"}
        ``auto`` uses bubblewrap when it works here and the throw-away directory otherwise.
    hide, expose : iterable of path
        See :class:`Sandbox`.

    Raises
    ------
    ValueError
        For an unknown mode, or ``"bwrap"`` on a machine where bubblewrap does not work.
    """
    if mode not in MODES:
        raise ValueError(f"sandbox must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "auto":
        mode = "bwrap" if bwrap_works() else "directory"
    elif mode == "bwrap" and not bwrap_works():
        raise ValueError("sandbox 'bwrap' requested but bubblewrap is not installed or not usable")
    hidden = tuple(dict.fromkeys(str(Path(p).resolve()) for p in hide))
    exposed = tuple(dict.fromkeys(str(Path(p).resolve()) for p in expose))
    return Sandbox(mode, hidden, exposed)


def describe_mode(mode: str = "auto") -> str:
    """One line saying how kernels will be isolated in `mode` on this machine."""
    try:
        return choose_sandbox(mode).description
    except ValueError as exc:
        return str(exc)
