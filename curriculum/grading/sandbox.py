"""Where a learner's kernel runs: a bubblewrap sandbox built by allow list, or a throw-away folder.

With Debian's ``bwrap`` (bubblewrap) the learner's kernel sees **only** what it needs, read-only:
the system's ``/usr`` (and the ``/lib``, ``/bin`` links into it), a few files of ``/etc``, the
Python installation and environment the grader runs in, the ``curriculum`` package and the
course's ``datasets/``. Nothing else of the host exists inside: not the course (solutions,
hidden tests, gradebook), not other submissions or other students' kernels, not host sockets,
not the grader's environment variables (the launcher passes a fixed, minimal set). The kernel
runs as an unprivileged user in its own user, PID, network, IPC and UTS namespaces (no network
at all, no capabilities, no nested namespaces), writes only to a private ``/tmp`` of limited
size, and talks to the grader over Unix sockets in its own connection folder, the only host
folder it can write to.

Without ``bwrap`` the grader falls back to a throw-away working folder and says so: student code
then runs with the grader's own permissions (fine for a learner checking their own work, not
for grading a cohort).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: how the kernel is isolated
MODES = ("auto", "bwrap", "directory")
#: the only host folders a sandboxed kernel needs besides Python and the course package
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
#: files and folders of /etc that Python and its libraries read
ETC = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/alternatives",
    "/etc/fonts",
    "/etc/mime.types",
)
#: home, temporary files and working folder of a sandboxed kernel (in its private /tmp)
SANDBOX_HOME = "/tmp/home"
SANDBOX_WORK = "/tmp/work"
NOBODY = "65534"


@dataclass(frozen=True)
class Sandbox:
    """An isolation mode for grading kernels.

    Attributes
    ----------
    mode : str
        ``"bwrap"`` (sandboxed kernel) or ``"directory"`` (throw-away directory only).
    expose : tuple of str
        Host paths the kernel may read (Python, the ``curriculum`` package, ``datasets/``).
    deny : tuple of str
        Host paths that must stay invisible: an exposed path that contains one of them (the
        course folder, the gradebook, the submissions) is not bound; paths *inside* the course,
        such as its ``curriculum/`` package or a ``.venv``, may be.
    """

    mode: str
    expose: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        """One line for the grading output."""
        if self.mode == "bwrap":
            return (
                "bubblewrap sandbox (sees only Python and the course package, read-only; private "
                "/tmp; no network; unprivileged)"
            )
        return (
            "throw-away directory only: bwrap is not installed, so student code runs with your "
            "permissions (install bubblewrap to sandbox it)"
        )

    def command(self, kernel_cmd: list[str], connection_dir: Path, disk_mb: int) -> list[str]:
        """The command that starts `kernel_cmd` inside the sandbox (``directory``: unchanged).

        Parameters
        ----------
        kernel_cmd : list of str
            The kernel's own command line.
        connection_dir : Path
            The job's connection folder (connection file, the kernel's and the examiner's Unix
            sockets): the only host folder the kernel sees writable.
        disk_mb : int
            Size of the private ``/tmp`` (home and working folder included).
        """
        if self.mode != "bwrap":
            return list(kernel_cmd)
        cmd = ["bwrap", "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net"]
        cmd += ["--unshare-uts", "--unshare-cgroup-try", "--uid", NOBODY, "--gid", NOBODY]
        cmd += ["--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        cmd += ["--hostname", "sandbox", "--dev", "/dev", "--proc", "/proc"]
        # the private /tmp first: what is bound below may live in the host's /tmp (a CI clone)
        cmd += ["--size", str(disk_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        for path in SYSTEM_DIRS:
            p = Path(path)
            if p.is_symlink():
                cmd += ["--symlink", str(p.readlink()), path]
            elif p.is_dir():
                cmd += ["--ro-bind", path, path]
        for path in ETC:
            if Path(path).exists():
                cmd += ["--ro-bind", path, path]
        for path in self.readable():
            cmd += ["--ro-bind", path, path]
        cmd += ["--dir", SANDBOX_HOME, "--dir", SANDBOX_WORK]
        cmd += ["--bind", str(connection_dir), str(connection_dir), "--chdir", SANDBOX_WORK]
        return [*cmd, "--", *kernel_cmd]

    def readable(self) -> list[str]:
        """The host paths bound read-only: exposed paths outside every denied one, outermost."""
        chosen: list[Path] = []
        for raw in sorted(set(self.expose), key=len):
            path = Path(raw)
            if not path.exists() or str(path) in ("/", "/tmp"):
                continue
            if any(_inside(d, str(path)) for d in self.deny):
                continue  # a folder holding the course (or another denied folder) is never bound
            if any(_inside(str(path), str(c)) for c in chosen) or _inside(str(path), "/usr"):
                continue
            chosen.append(path)
        return [str(p) for p in chosen]

    def environment(self, connection_dir: Path, work: Path) -> dict[str, str]:
        """Home, temporary and working folders for the kernel's environment."""
        if self.mode == "bwrap":
            home, tmp = SANDBOX_HOME, "/tmp"
        else:
            home, tmp = str(work / "home"), str(work / "tmp")
            for folder in (home, tmp):
                Path(folder).mkdir(parents=True, exist_ok=True)
        return {"HOME": home, "TMPDIR": tmp, "MPLCONFIGDIR": f"{home}/.matplotlib"}

    def working_folder(self, work: Path) -> str:
        """Where the kernel starts."""
        return SANDBOX_WORK if self.mode == "bwrap" else str(work)


def _inside(path: str, parent: str) -> bool:
    try:
        return Path(path).resolve().is_relative_to(Path(parent).resolve())
    except OSError:
        return False


@functools.cache
def bwrap_works() -> bool:
    """Whether ``bwrap`` is installed and can create this module's sandbox on this machine."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlsd-probe-") as folder:
        probe = Sandbox("bwrap").command(["true"], Path(folder), 16)
        try:
            result = subprocess.run(probe, capture_output=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return False
    return result.returncode == 0


def python_paths() -> list[str]:
    """The folders the grader's Python imports from (and so a kernel of it needs)."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    paths += [p for p in sys.path if p and Path(p).is_absolute()]
    executable = Path(sys.executable)
    paths += [str(executable.parent), str(executable.resolve().parent.parent)]
    return paths


def choose_sandbox(mode: str = "auto", *, expose: Iterable = (), deny: Iterable = ()) -> Sandbox:
    """The sandbox to grade with.

    Parameters
    ----------
    mode : {"auto", "bwrap", "directory"}
        ``auto`` uses bubblewrap when it works here and the throw-away directory otherwise.
    expose : iterable of path
        Host paths the kernel may read besides Python (the ``curriculum`` package,
        ``datasets/``).
    deny : iterable of path
        Paths never exposed (the course folder).

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
    exposed = [*python_paths(), *(str(p) for p in expose)]
    resolved = tuple(dict.fromkeys(str(Path(p).resolve()) for p in exposed))
    denied = tuple(dict.fromkeys(str(Path(p).resolve()) for p in deny))
    return Sandbox(mode, resolved, denied)


def describe_mode(mode: str = "auto") -> str:
    """One line saying how kernels will be isolated in `mode` on this machine."""
    try:
        return choose_sandbox(mode).description
    except ValueError as exc:
        return str(exc)
