"""The errors ``mlsd`` reports to the user as one line, each with its exit code.

* :class:`CourseError` — a usage problem the user can fix (an unknown day, a missing file, a bad
  parameter): exit code 2.
* :class:`GradingError` — grading could not be done (nbgrader refused the course, a gradebook or
  a Dask cluster is unreachable): exit code 1.

One learner's broken submission is never an error: it is that learner's row, with its reason.
"""


class MlsdError(Exception):
    """Base of the errors ``mlsd`` prints as one line; `exit_code` is what it exits with.

    The message is shown as is, so it must name what is wrong and, where possible, how to fix it.
    """

    exit_code = 1


class CourseError(MlsdError):
    """A problem the user can fix: an unknown day, a missing file, a bad parameter (exit 2)."""

    exit_code = 2


class NotebookError(CourseError):
    """A file that should be a Jupyter notebook is missing, empty, not JSON or not a notebook."""


class GradingError(MlsdError):
    """Grading could not run: nbgrader, the gradebook or the cluster failed (exit 1)."""

    exit_code = 1
