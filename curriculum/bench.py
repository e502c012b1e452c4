"""The benchmark behind ``mlsd bench``: how long execution and grading take.

It prints numbers; nothing here asserts a time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from curriculum.check import check_notebook
from curriculum.course import Course
from curriculum.runner import execute_notebook, notebook_run_parameters, run_curriculum
from curriculum.syllabus import Day


@dataclass(frozen=True)
class NotebookTiming:
    """Seconds for one notebook at its quick parameters."""

    day: str
    notebook: str
    papermill_seconds: float
    check_seconds: float

    @property
    def ratio(self) -> float:
        """``mlsd check`` time over plain papermill time."""
        return self.check_seconds / self.papermill_seconds if self.papermill_seconds else 0.0


@dataclass(frozen=True)
class BenchResult:
    """All benchmark numbers."""

    notebooks: list[NotebookTiming]
    curriculum_quick_seconds: float
    curriculum_ok: bool


def benchmark(
    course: Course, days: Iterable[Day], *, on_step: Callable[[str], None] | None = None
) -> BenchResult:
    """Time papermill and ``mlsd check`` per notebook, then the quick curriculum run.

    Per notebook: papermill execution at the quick parameters, and ``mlsd check`` of the
    executed solution. Then the whole ``mlsd run --quick``.
    """
    days = list(days)
    timings = []
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as tmp:
        tmp = Path(tmp)
        for day in days:
            for spec in day.notebooks:
                if on_step:
                    on_step(f"{day.id}/{spec.filename}: papermill")
                source = course.source_notebook(day, spec)
                params = notebook_run_parameters(
                    source, spec, quick=True, overrides={}, where=f"{day.id}/{spec.filename}"
                )
                executed = tmp / "exec" / day.id / spec.filename
                seconds, _ = execute_notebook(source, executed, params)
                learner = tmp / "learner" / day.id / spec.filename
                learner.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(executed, learner)
                if on_step:
                    on_step(f"{day.id}/{spec.filename}: mlsd check")
                start = time.perf_counter()
                check_notebook(course, learner, day_id=day.id)
                check_seconds = time.perf_counter() - start
                timings.append(NotebookTiming(day.id, spec.filename, seconds, check_seconds))
        if on_step:
            on_step("whole curriculum, quick")
        start = time.perf_counter()
        results = run_curriculum(course, days, quick=True, output_dir=tmp / "run")
        total = time.perf_counter() - start
    return BenchResult(timings, total, all(r.ok for r in results))
