"""The main job: execute and autograde the reference notebooks, collect results.

Graded runs execute each notebook once, in the grader (the autograded notebook is the executed
one); ungraded runs (the benchmark) execute it with papermill.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from curriculum.course import Course
from curriculum.grading.course_config import KERNEL_ARGUMENTS
from curriculum.grading.limits import Limits, thread_environment
from curriculum.grading.session import GradingSession
from curriculum.notebooks import (
    check_parameters,
    inject_parameters,
    notebook_parameters,
    read_notebook,
)
from curriculum.report import Headline, read_headlines
from curriculum.syllabus import Day, NotebookSpec

REFERENCE_STUDENT = "reference"


@dataclass
class RunResult:
    """What happened to one notebook in ``mlsd run``.

    Attributes
    ----------
    day, notebook : str
        Which notebook.
    status : str
        ``"ok"``, ``"failed"`` (a cell raised), ``"graded-low"`` (it ran, but the reference
        solution lost autograded points: a defect in the course), or ``"timing"`` (it lost
        points because the busy machine stopped cells by the wall clock: rerun it).
    seconds : float
        Execution time (for a graded run: the grading job's, which executes the notebook).
    parameters : dict
        The parameters the notebook ran with.
    error : str
        For a failure: the cell and the error.
    auto_score, auto_max, manual_max : float or None
        Autograded points of the reference solution, and points left to manual grading.
    headlines : list of Headline
        The lab's reported headline metrics.
    output : Path
        The executed notebook.
    """

    day: str
    notebook: str
    status: str
    seconds: float
    parameters: dict[str, Any]
    output: Path
    error: str = ""
    auto_score: float | None = None
    auto_max: float | None = None
    manual_max: float | None = None
    headlines: list[Headline] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the notebook ran and its reference solution earned every autograded point."""
        return self.status == "ok"


def notebook_run_parameters(
    nb_path: Path, spec: NotebookSpec, *, quick: bool, overrides: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """The papermill parameters for one notebook: quick ones if asked, then the overrides.

    Raises
    ------
    CourseError
        If an override is not a parameter of the notebook or has the wrong type.
    """
    defaults = notebook_parameters(read_notebook(nb_path))
    params: dict[str, Any] = dict(spec.quick) if quick else {}
    check_parameters(params, defaults, where)
    check_parameters(overrides, defaults, where)
    params.update(overrides)
    return params


def execute_notebook(
    source: Path, output: Path, parameters: Mapping[str, Any]
) -> tuple[float, str]:
    """Execute `source` with papermill into `output` (working directory: output's folder).

    Returns
    -------
    seconds : float
        Wall time of the execution.
    error : str
        Empty on success, else ``"cell <n> (<id>): <Error>: <message>"``.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    error = ""
    try:
        with kernel_threads(1):  # as the grader's kernels: no collapse on a busy machine
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=dict(parameters),
                cwd=str(output.parent),
                progress_bar=False,
                log_output=False,
                extra_arguments=list(KERNEL_ARGUMENTS),
            )
    except PapermillExecutionError as exc:
        error = _describe_failure(output, exc)
    except Exception as exc:  # a dead kernel, a missing kernel spec...
        error = f"{type(exc).__name__}: {_first_line(str(exc))}"
    return time.perf_counter() - start, error


@contextlib.contextmanager
def kernel_threads(threads: int) -> Iterator[None]:
    """Start kernels with `threads` BLAS/OpenMP threads (the environment they inherit)."""
    wanted = thread_environment(threads)
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _describe_failure(output: Path, exc: Any) -> str:
    cell_id = ""
    try:  # papermill adds marker cells to the output, so find the cell by execution count
        nb = json.loads(output.read_text(encoding="utf-8"))
        cell_id = next(
            c.get("id", "") for c in nb["cells"] if c.get("execution_count") == exc.exec_count
        )
    except Exception:  # the partial output may be unreadable; the count is still useful
        pass
    return _failure(cell_id, exc.exec_count, exc.ename, exc.evalue)


def _failure(cell_id: str, count: Any, ename: Any, evalue: Any) -> str:
    """``"cell <id> (In [n]): <Error>: <message's first line>"`` (``"In [n]: ..."`` without id)."""
    where = f"cell {cell_id} (In [{count}])" if cell_id else f"In [{count}]"
    return f"{where}: {ename}: {_first_line(str(evalue))}"


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def run_curriculum(
    course: Course,
    days: Iterable[Day],
    *,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    output_dir: Path,
    grade: bool = True,
    on_step: Callable[[str, RunResult | None], None] | None = None,
    limits: Limits | None = None,
) -> list[RunResult]:
    """Execute every notebook of `days` and autograde the reference solutions.

    Parameters
    ----------
    course : Course
        The course.
    days : iterable of Day
        Days to run, in order.
    quick : bool
        Use each notebook's quick (CI) parameters.
    overrides : mapping, optional
        Parameters set on every notebook (``-p name=value``); each must be a parameter of
        every selected notebook.
    output_dir : Path
        Executed notebooks go to ``<output_dir>/<day>/<notebook>``; ``results.csv`` beside them.
    grade : bool
        Execute each notebook by autograding it (``mlsd run`` does: one execution gives the
        outputs and the points); False executes with papermill only (the benchmark may).
    on_step : callable, optional
        Progress: called with a description before each step and with the result after each
        notebook is done (description, result).
    limits : Limits, optional
        The grader's budget (default: the course's).

    Returns
    -------
    list of RunResult
        One per notebook; a failing notebook does not stop the others.
    """
    days = list(days)
    overrides = dict(overrides or {})
    output_dir = Path(output_dir).resolve()
    # check every parameter before running anything: a typo should fail fast
    plans = []
    for day in days:
        for spec in day.notebooks:
            source = course.source_notebook(day, spec)
            params = notebook_run_parameters(
                source, spec, quick=quick, overrides=overrides, where=f"{day.id}/{spec.filename}"
            )
            plans.append((day, spec, source, params))
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="mlsd-run-") as tmp:
        session = GradingSession(course, Path(tmp), limits=limits) if grade else None
        try:
            for day in days:
                day_plans = [plan for plan in plans if plan[0] is day]
                if session is None:
                    day_results = [_execute(day, spec, source, params, output_dir, on_step)
                                   for _, spec, source, params in day_plans]
                else:
                    day_results = _execute_graded(
                        session, day, day_plans, output_dir, Path(tmp) / "run-input", on_step
                    )
                for result in day_results:
                    if on_step:
                        on_step(f"{result.day}/{result.notebook}: {result.status}", result)
                results.extend(day_results)
        finally:
            if session is not None:
                session.close()
    write_results_csv(results, output_dir / "results.csv")
    return results


def _execute(
    day: Day,
    spec: NotebookSpec,
    source: Path,
    params: dict[str, Any],
    output_dir: Path,
    on_step: Callable[[str, RunResult | None], None] | None,
) -> RunResult:
    """Execute one notebook with papermill (an ungraded run)."""
    if on_step:
        on_step(f"executing {day.id}/{spec.filename}", None)
    output = output_dir / day.id / spec.filename
    seconds, error = execute_notebook(source, output, params)
    result = RunResult(
        day.id, spec.filename, "failed" if error else "ok", seconds, params, output, error
    )
    if output.exists():
        result.headlines = read_headlines(json.loads(output.read_text(encoding="utf-8")))
    return result


def _execute_graded(
    session: GradingSession,
    day: Day,
    plans: list[tuple[Day, NotebookSpec, Path, dict[str, Any]]],
    output_dir: Path,
    scratch: Path,
    on_step: Callable[[str, RunResult | None], None] | None,
) -> list[RunResult]:
    """Execute a day's notebooks by autograding them: one execution gives outputs and points."""
    submitted = {}
    for _, spec, source, params in plans:
        path = scratch / day.id / spec.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(inject_parameters(read_notebook(source), params), path)
        submitted[spec.filename] = path
    if on_step:
        on_step(f"executing {day.id} ({', '.join(submitted)}), autograded as it runs", None)
    grades = {g.notebook: g for g in session.grade(day, {REFERENCE_STUDENT: submitted})}
    results = []
    for _, spec, _, params in plans:
        output = output_dir / day.id / spec.filename
        result = RunResult(day.id, spec.filename, "ok", 0.0, params, output)
        results.append(result)
        g = grades.get(spec.filename)
        if g is None:
            result.status, result.error = "failed", "the grader returned no grade"
            continue
        result.seconds = g.seconds
        graded = session.autograded_notebook(day, REFERENCE_STUDENT, spec.filename)
        executed = None
        if graded.is_file():  # the executed notebook, hidden test code redacted
            text = graded.read_text(encoding="utf-8")
            executed = json.loads(text)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            result.headlines = read_headlines(executed)
        if g.error:
            result.status, result.error = "failed", f"autograding: {g.error}"
            continue
        result.auto_score, result.auto_max = g.auto_score, g.auto_max_score
        result.manual_max = g.max_score - g.auto_max_score
        lost = [q for q in g.questions if q.autograded and (q.points or 0) < q.max_points]
        raised = _first_error(executed) if executed is not None else ""
        if lost and g.regrade:
            result.status = "timing"
            result.error = (
                f"the machine was too busy to grade it fairly ({g.regrade}); rerun "
                f"`mlsd run {day.id}` when it is quieter"
            )
        elif raised:
            result.status, result.error = "failed", raised
        elif lost:
            result.status = "graded-low"
            first = lost[0]
            result.error = f"reference solution lost points on {first.grade_id}: {first.message}"
    return results


def _first_error(nb: dict[str, Any]) -> str:
    """``"cell <id> (In [n]): <Error>: <message>"`` for the first cell that raised, or ``""``."""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return _failure(
                    cell.get("id", "?"), cell.get("execution_count"), out.get("ename"),
                    out.get("evalue", ""),
                )
    return ""


def write_results_csv(results: Iterable[RunResult], path: Path) -> None:
    """Write the results table as CSV (one row per notebook)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "day",
                "notebook",
                "status",
                "seconds",
                "auto_score",
                "auto_max",
                "manual_max",
                "headline",
                "error",
            ]
        )
        for r in results:
            writer.writerow(
                [
                    r.day,
                    r.notebook,
                    r.status,
                    f"{r.seconds:.2f}",
                    "" if r.auto_score is None else f"{r.auto_score:g}",
                    "" if r.auto_max is None else f"{r.auto_max:g}",
                    "" if r.manual_max is None else f"{r.manual_max:g}",
                    "; ".join(h.format() for h in r.headlines),
                    r.error,
                ]
            )
