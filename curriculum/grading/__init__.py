"""Grading, one step per module, in the order a submission goes through them.

======================  ==========================================================================
``course_config``       nbgrader set-up: the course's config, kernel arguments, timeouts
``submission``          read a submitted file safely (regular files, size caps) and parse it
``merge``               the learner's answers in the instructor's notebook (hidden tests restored)
``sandbox``             where the learner's kernel runs: bubblewrap by allow list, or a folder
``limits``              the budget and its enforcement (control groups, watchdog measurements)
``launch``              the launcher every kernel starts through (cgroup, rlimits, environment)
``kernel``              kernel managers and clients: message-size cap, output budget
``examiner``            what the trusted examiner kernel runs and starts with
``wire``                plain data across the trust boundary (codec and conversation)
``answering``           the learner's kernel answering the examiner (untrusted side)
``execution``           run the notebook: learner cells in their kernel, tests in the examiner
``scoring``             points per graded cell from the replies
``results``             the one result type, ``NotebookGrade``
``job``                 one notebook of one student, steps above in order; never raises
``executors``           serial, process pool or Dask
``ledger``              resume an interrupted batch
``gradebook``           nbgrader's gradebook
``session``             the coordinator: jobs out, results into autograded/, ledger, gradebook
``batch``               the instructor's batch and its CSV
``feedback``            feedback HTML without hidden tests
======================  ==========================================================================

The test-authoring API that notebooks use is :mod:`curriculum.exam`. This package's
``__init__`` imports nothing, because the learner's kernel imports ``wire`` and ``answering``.
"""
