"""Reading what a learner handed in: regular files only, with size caps, parsed safely.

A submission is refused — with a reason in that learner's row, never an exception that stops the
batch — when it is not a regular file (a symbolic link, say to the instructor's notebook; a
named pipe that would block the grader; a folder), when it is larger than the cap, empty, not
UTF-8, or not a notebook.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat

#: the largest submitted notebook read (outputs included)
MAX_SUBMISSION_BYTES = 64 * 1024 * 1024


class SubmissionError(ValueError):
    """A submitted file that cannot be graded; the message is the learner's reason."""


def read_submission_file(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> bytes:
    """Read a submitted file without following links or blocking on special files.

    Raises
    ------
    SubmissionError
        If it is not a regular file, is larger than `max_bytes` or cannot be read.
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise SubmissionError(f"unreadable: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise SubmissionError(f"refused: the submission is {kind}, not a notebook file")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SubmissionError(f"unreadable: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_ino, opened.st_dev) != (
            info.st_ino,
            info.st_dev,
        ):
            raise SubmissionError("refused: the file changed while it was being read")
        if opened.st_size > max_bytes:
            raise SubmissionError(
                f"refused: {opened.st_size / 2**20:.0f} MB is larger than the "
                f"{max_bytes / 2**20:.0f} MB a submission may be"
            )
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise SubmissionError(f"refused: larger than {max_bytes / 2**20:.0f} MB")
    except OSError as exc:
        raise SubmissionError(f"unreadable: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def parse_submission(data: bytes) -> nbformat.NotebookNode:
    """Parse a submitted notebook, or raise SubmissionError saying what is wrong with it."""
    if not data.strip():
        raise SubmissionError("empty file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError("not a text file (not UTF-8)") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for broken JSON
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SubmissionError(f"invalid notebook JSON: {first[:200]}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError("invalid notebook: no list of cells")
    return nb
