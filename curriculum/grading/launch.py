"""Start a command under the grading limits: ``python -m curriculum.grading.launch [...] -- CMD``.

Used to start every grading kernel (and, for a sandboxed learner, the ``bwrap`` that wraps it).
In order, it joins the job's control groups, sets the per-process limits (address space, file
size, processes, no core files), replaces the environment by exactly the variables given, and
then becomes the command. Everything it sets is inherited by the command's children.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


def main(argv: list[str] | None = None) -> None:
    """Apply the limits, then replace this process with the command."""
    parser = argparse.ArgumentParser(prog="python -m curriculum.grading.launch")
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--file-mb", type=int, default=1024)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--cgroup", action="append", default=[], metavar="PROCS_FILE")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    for procs in args.cgroup:
        with open(procs, "w") as fh:
            fh.write(str(os.getpid()))
    if args.memory_mb > 0:
        size = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    size = args.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if args.processes > 0 and os.getuid() != 0:  # root is exempt: the cgroup or watchdog counts
        # the limit counts every task of this user: allow what runs already plus the budget
        allowed = _tasks_of(os.getuid()) + args.processes
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, allowed))
    env = dict(item.split("=", 1) for item in args.env if "=" in item)
    os.execvpe(command[0], command, env)


def _tasks_of(uid: int) -> int:
    """Threads and processes the user runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


if __name__ == "__main__":
    main(sys.argv[1:])
