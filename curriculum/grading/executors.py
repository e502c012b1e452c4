"""Where jobs run: one after the other, on a local process pool, or on a Dask cluster.

Every executor yields one :class:`~curriculum.grading.results.NotebookGrade` per job, in the
order they finish; a worker that dies still yields that job's row, with the reason.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from curriculum.errors import GradingError
from curriculum.grading.job import GradeJob, run_job
from curriculum.grading.results import NotebookGrade


def failed(job: GradeJob, exc: BaseException, what: str) -> NotebookGrade:
    """Zeros for a job whose worker failed, with the reason."""
    return job.zeros(f"{what}: {type(exc).__name__}: {exc}")


def run_serially(jobs: list[GradeJob]) -> Iterator[NotebookGrade]:
    """One job after the other, in this process."""
    for job in jobs:
        yield run_job(job)


def run_on_pool(jobs: list[GradeJob], workers: int) -> Iterator[NotebookGrade]:
    """Up to `workers` jobs at once on fresh (spawned) processes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # a worker process died: still a row
                yield failed(futures[future], exc, "grading failed")


def run_on_dask(address: str, jobs: list[GradeJob]) -> Iterator[NotebookGrade]:
    """The jobs on the workers of the Dask scheduler at `address`."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise GradingError(
            "--dask needs the distributed package: pip install -e '.[dask]'"
        ) from None
    try:
        client = Client(address, timeout="30s")
    except Exception as exc:
        raise GradingError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        futures = client.map(run_job, jobs, pure=False)
        index = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # a worker died or the job could not be shipped
                yield failed(index[future.key], exc, "grading failed on the Dask cluster")


def run_jobs(jobs: list[GradeJob], *, workers: int = 1, dask: str | None = None):
    """Run `jobs` with the chosen executor."""
    if not jobs:
        return iter(())
    if dask:
        return run_on_dask(dask, jobs)
    if workers == 1 or len(jobs) == 1:
        return run_serially(jobs)
    return run_on_pool(jobs, workers)
