"""Start a command under resource limits: ``python -m curriculum._limits [--memory-mb N] -- CMD``.

Used to launch grading kernels: the address-space limit turns a memory blow-up into a
``MemoryError`` inside the student's cell instead of an out-of-memory kill of the machine; files
the kernel writes are capped at 1 GiB and no core files are written.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

FILE_SIZE_LIMIT = 1 << 30


def main(argv: list[str] | None = None) -> None:
    """Apply the limits, then replace this process with the command."""
    parser = argparse.ArgumentParser(prog="python -m curriculum._limits")
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    if args.memory_mb > 0:
        size = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
