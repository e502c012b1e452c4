"""Errors that the ``mlsd`` command reports to the user as one line (exit code 2)."""


class CourseError(Exception):
    """A problem the user can fix: an unknown day, a missing file, a bad parameter.

    The message is shown as is, so it must name what is wrong and, where possible, how to fix it.
    """


class NotebookError(CourseError):
    """A file that should be a Jupyter notebook is missing, empty, not JSON or not a notebook."""
