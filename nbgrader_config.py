"""nbgrader configuration for the ML System Design Lab course.

Plain ``nbgrader`` commands run from the repository root use this file, e.g.::

    nbgrader generate_assignment day0 --force
    nbgrader autograde day0

The ``mlsd`` commands load the same file and only redirect the directories when they work in a
temporary course (``mlsd check``, ``mlsd run``), so this is the single place for grading settings.
"""

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

# The course and where its parts live (relative to the directory nbgrader runs from).
c.CourseDirectory.course_id = "mlsd-lab"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Execution while autograding: a cell that runs longer than this is interrupted and its test fails.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# Output that is slow to arrive on a busy machine is not an error (nbgrader raises by default).
c.Execute.raise_on_iopub_timeout = False
c.Execute.iopub_timeout = 30
# No IPython history file per kernel, and no kernel start-up chatter in the grading log.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# What learners see where a solution was removed.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError('Replace this line with your code.')",
}
c.ClearSolutions.text_stub = (
    "✏️ YOUR ANSWER HERE (graded with a rubric: `mlsd check` shows it once you have answered)"
)

# Released notebooks carry no outputs; hidden tests never leave source/.
c.ClearOutput.enabled = True
c.ClearHiddenTests.enforce_metadata = True
