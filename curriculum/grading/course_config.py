"""nbgrader set-up: the one place for the course's config, kernel arguments and timeouts.

Grading, ``mlsd check``, ``mlsd run`` and ``mlsd release`` all build nbgrader from the course's
own ``nbgrader_config.py`` through :func:`nbgrader_api`, and start kernels with
:data:`KERNEL_ARGUMENTS` (the same as ``Execute.extra_arguments`` there, so plain ``nbgrader``
behaves alike).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from curriculum.course import Course

#: kernel options: no IPython history file, no start-up chatter in the grading log
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR")


def load_course_config(course: Course) -> Config:
    """Load the course's ``nbgrader_config.py`` as a traitlets :class:`Config`."""
    loader = PyFileConfigLoader(course.config_file.name, path=str(course.root))
    return loader.load_config()


def course_cell_timeout(course: Course) -> float:
    """The course's cell timeout in seconds (``Execute.timeout`` in ``nbgrader_config.py``)."""
    return float(load_course_config(course).Execute.get("timeout", 60) or 60)


def _put_environment_on_path() -> None:
    """Put this Python's ``bin/`` on PATH.

    nbgrader runs the ``alembic`` command of its environment by name; it must be found even when
    ``mlsd`` was started as ``.venv/bin/mlsd`` without activating the environment.
    """
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in path:
        os.environ["PATH"] = os.pathsep.join([bindir, *path])


@functools.cache
def _alembic_head() -> str:
    """The gradebook schema revision, computed in-process.

    nbgrader asks for it by running the ``alembic`` command in a subprocess each time it creates
    a gradebook (about 4 s per temporary course). The answer only depends on the installed
    nbgrader, so read it once from its migration scripts.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    head = ScriptDirectory.from_config(config).get_current_head()
    if not head:
        raise RuntimeError("nbgrader's gradebook migrations have no head revision")
    return head


def _speed_up_gradebook_creation() -> None:
    import nbgrader.api

    try:
        _alembic_head()
    except Exception:  # keep nbgrader's own (slow) way if alembic's layout ever changes
        return
    nbgrader.api.get_alembic_version = _alembic_head


def nbgrader_api(course: Course, root: Path, **coursedir: str):
    """An nbgrader API for a course directory rooted at `root`, configured from the course.

    Parameters
    ----------
    course : Course
        Its ``nbgrader_config.py`` gives every setting; its ``source/`` is the source directory.
    root : Path
        nbgrader's root: relative directories (``autograded``, ``feedback``) are under it.
    **coursedir : str
        Other ``CourseDirectory`` settings, e.g. ``release_directory=...`` or ``db_url=...``.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.exc import SAWarning

    _put_environment_on_path()
    _speed_up_gradebook_creation()
    # nbgrader 0.9 triggers harmless SQLAlchemy autoflush warnings on every autograde
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    config = load_course_config(course)
    settings = {"root": str(root), "source_directory": str(course.root / "source"), **coursedir}
    config.merge(
        Config(
            {
                "CourseDirectory": settings,
                "NbGraderAPI": {"log_level": logging.ERROR},
                # nbgrader's exchange (release/collect service) is unused here; it only needs an
                # existing writable folder to list, or it logs a critical error
                "Exchange": {"root": tempfile.gettempdir()},
            }
        )
    )
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
