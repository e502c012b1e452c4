"""The ``mlsd`` command. Each sub-command parses its arguments and makes one library call.

Bad input (an unknown day, a missing file, a file that is not a notebook, a bad ``-p`` value)
ends with exit code 2 and one line naming the problem; grading that cannot run (nbgrader refuses
the course, an unreachable gradebook or cluster) ends with exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from curriculum import __version__
from curriculum.errors import CourseError, MlsdError
from curriculum.syllabus import day_ids


def _course():
    from curriculum.course import Course

    return Course.locate()


def cmd_list(args: argparse.Namespace) -> int:
    """Show the days, their notebooks and whether release/ is in sync."""
    from curriculum.console import console, days_table
    from curriculum.release import release_status
    from curriculum.syllabus import select_days

    course = _course()
    days = select_days(args.days)
    console.print(days_table((day, release_status(course, day)) for day in days))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: execute and autograde the reference notebooks, print the results table."""
    from curriculum.console import console, progress, run_table
    from curriculum.notebooks import parse_parameters
    from curriculum.runner import run_curriculum
    from curriculum.syllabus import select_days

    course = _course()
    days = select_days(args.days)
    overrides = parse_parameters(args.parameter or [])
    output = Path(args.output) if args.output else course.root / "build" / "run"
    steps = sum(len(day.notebooks) for day in days)
    with progress(steps, "running notebooks") as bar:

        def on_step(message: str, result) -> None:
            bar.update(bar.task_ids[0], description=message)
            if result is not None:
                bar.advance(bar.task_ids[0])
                if not console.is_terminal:
                    console.print(
                        f"{result.day}/{result.notebook}: {result.status} "
                        f"in {result.seconds:.1f} s",
                        markup=False,
                    )

        results = run_curriculum(
            course,
            days,
            quick=args.quick,
            overrides=overrides,
            output_dir=output,
            on_step=on_step,
        )
    console.print(run_table(results))
    console.print(f"Executed notebooks and results.csv: {output}")
    failed = [r for r in results if not r.ok]
    if failed:
        console.print(f"[red]{len(failed)} of {len(results)} notebooks failed.[/]")
        return 1
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Regenerate release/ from source/ with nbgrader."""
    from curriculum.console import console
    from curriculum.release import release_days
    from curriculum.syllabus import select_days

    for path in release_days(_course(), select_days(args.days)):
        console.print(f"released {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Grade a copy of a learner's notebook; print points and write feedback beside it."""
    from curriculum.check import check_notebook
    from curriculum.console import show_check
    from curriculum.workspace import locate_notebook

    path = locate_notebook(args.notebook)
    result = check_notebook(
        _course(), path, day_id=args.day, feedback=not args.no_feedback, sandbox=args.sandbox
    )
    show_check(result)
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    """Show the learner's standing across all days; write an HTML report."""
    from rich.text import Text

    from curriculum.console import console, progress_table
    from curriculum.mock.session import mocks_summary
    from curriculum.progress import next_step, progress, progress_html
    from curriculum.workspace import default_workspace, find_workspace

    workspace = Path(args.workspace) if args.workspace else find_workspace()
    workspace = workspace or default_workspace()
    if not workspace.is_dir():
        raise CourseError(f"{workspace}: no workspace here (start one with: mlsd lab)")
    items = progress(_course(), workspace)
    console.print(progress_table(items))
    console.print(Text(f"Next: {next_step(items)}", style="bold"))
    console.print(Text(mocks_summary(workspace)))
    report = Path(args.html) if args.html else workspace / "progress.html"
    report.write_text(progress_html(items), encoding="utf-8")
    console.print(Text(f"Report with a chart: {report}"))
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    """Autograde a batch of submissions DIR/<student>/<day>/*.ipynb and write a grades CSV."""
    from rich.text import Text

    from curriculum.console import batch_table, console
    from curriculum.grading.batch import grade_batch
    from curriculum.grading.course_config import course_cell_timeout
    from curriculum.grading.limits import Limits
    from curriculum.grading.sandbox import describe_mode
    from curriculum.syllabus import get_day

    course = _course()
    day = get_day(args.day)
    csv_path = Path(args.csv) if args.csv else course.root / f"grades-{day.id}.csv"

    def on_done(student: str, grades) -> None:
        total = sum(g.score for g in grades)
        best = sum(g.max_score for g in grades)
        error = next((g.error for g in grades if g.error), "")
        line = f"graded {student}: {total:g}/{best:g}" + (f" ({error})" if error else "")
        console.print(Text(line))

    try:
        limits = Limits(
            cell_timeout=args.cell_timeout or course_cell_timeout(course),
            wall_limit=args.wall_limit,
            memory_mb=args.memory_mb,
            output_limit_mb=args.output_limit_mb,
            disk_mb=args.disk_mb,
            max_processes=args.max_processes,
            threads=args.threads,
        )
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    console.print(Text(f"Isolation: {describe_mode(args.sandbox)}"))
    grades = grade_batch(
        course,
        day,
        Path(args.submissions),
        csv_path=csv_path,
        on_done=on_done,
        limits=limits,
        sandbox=args.sandbox,
        workers=args.workers,
        dask=args.dask,
        db_url=args.db,
        force=args.force,
    )
    console.print(batch_table(grades))
    console.print(Text(f"Grades: {csv_path}  Autograded notebooks: {course.root / 'autograded'}"))
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    """Copy release/ into the learner's workspace (never overwriting) and start JupyterLab."""
    from rich.text import Text

    from curriculum.console import console
    from curriculum.lab import start_lab
    from curriculum.progress import next_step, progress
    from curriculum.workspace import default_workspace, prepare_workspace

    workspace = Path(args.workspace) if args.workspace else default_workspace()
    course = _course()
    report = prepare_workspace(course, workspace)
    say = lambda message: console.print(Text(message))  # noqa: E731 (text, not markup)
    say(
        f"Workspace {report.workspace}: {len(report.copied)} new files copied, "
        f"{len(report.kept)} existing files kept as they are."
    )
    say(f"Next: {next_step(progress(course, report.workspace))}")
    if args.setup_only:
        return 0
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    return start_lab(report.workspace, extra, no_browser=args.no_browser, echo=say)


def cmd_bench(args: argparse.Namespace) -> int:
    """Time the data generators, papermill execution, mlsd check and the quick curriculum."""
    from curriculum.bench import benchmark, benchmark_generators
    from curriculum.console import bench_table, console, generators_table
    from curriculum.syllabus import select_days

    if args.feature_store:
        from curriculum.bench import benchmark_feature_store
        from curriculum.console import feature_store_table

        console.print("… Day 4's feature store: Feast (local, DuckDB, SQLite) and pandas")
        console.print(feature_store_table(benchmark_feature_store()))
        return 0
    if args.vector_index:
        from curriculum.bench import benchmark_vector_index
        from curriculum.console import vector_index_table

        console.print("… Day 5's retrieval: exact search, FAISS HNSW and Qdrant's local mode")
        console.print(vector_index_table(benchmark_vector_index()))
        return 0
    if args.search:
        from curriculum.bench import benchmark_search
        from curriculum.console import search_table

        console.print("… Day 6's retrieval: BM25 (bm25s), TF-IDF and LSA vectors")
        console.print(search_table(benchmark_search()))
        return 0
    if not args.skip_datasets and not args.grading:
        console.print(f"… data generators at {args.rows:,} rows, {args.repeat} timed runs each")
        console.print(generators_table(benchmark_generators(args.rows, args.repeat)))
    if args.grading:
        from curriculum.bench import benchmark_grading
        from curriculum.syllabus import get_day

        day = get_day(args.days[0] if args.days else "day0")
        timings = benchmark_grading(
            _course(),
            day,
            submissions=args.grading,
            workers=sorted({1, os.cpu_count() or 1}),
            load=args.load,
            on_step=lambda msg: console.print(f"… {msg}"),
        )
        serial = timings[0].seconds
        quiet = {t.workers: t for t in timings if not t.load}
        for t in timings:
            line = (
                f"{t.submissions} submissions of {day.id}, {t.workers} worker(s): "
                f"{t.seconds:.1f} s ({serial / t.seconds:.2f}x the serial speed, kernels in: "
                f"{t.sandbox}), {t.points:g} points"
            )
            if t.load:
                base = quiet[t.workers]
                held = "the same" if t.points == base.points else "CHANGED"
                line += (
                    f" — under a load of {t.load:g} x cores: {t.seconds / base.seconds:.2f}x "
                    f"slower than quiet, points {held}, {t.to_regrade} to regrade"
                )
            console.print(line)
        return 0
    if not args.skip_notebooks:
        result = benchmark(
            _course(), select_days(args.days), on_step=lambda msg: console.print(f"… {msg}")
        )
        console.print(bench_table(result))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """Build or verify the committed data files in datasets/."""
    from curriculum.console import console, problems_report
    from curriculum.datasets.store import build_datasets, verify_datasets

    folder = _course().root / "datasets"
    if args.action == "build":
        manifest = build_datasets(folder)
        for entry in manifest.values():
            console.print(f"wrote {folder / entry['file']} ({entry['rows']:,} rows)")
        return 0
    problems = verify_datasets(folder)
    problems_report(problems, f"{folder}: every file matches the manifest and its generator")
    return 1 if problems else 0


def cmd_skeleton(args: argparse.Namespace) -> int:
    """Print or write the one-page answer skeleton."""
    from curriculum.design.skeleton import skeleton_html, skeleton_markdown, write_skeleton_pdf

    if args.format == "pdf":
        if not args.output:
            raise CourseError("a PDF needs a file: mlsd skeleton --format pdf --output FILE.pdf")
        write_skeleton_pdf(_writable(args.output))
        print(f"wrote {args.output}")
        return 0
    text = skeleton_markdown() if args.format == "md" else skeleton_html()
    if args.output:
        _writable(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_mock(args: argparse.Namespace) -> int:
    """Start a timed mock interview: a notebook in the workspace, or in the terminal."""
    from curriculum.mock import CASES, get_case
    from curriculum.mock.session import card_text, run_in_terminal, start_mock
    from curriculum.workspace import default_workspace, find_workspace

    if args.list or not args.case:
        print("Mock interview cases (mlsd mock CASE):")
        for case in CASES:
            lab = f"  [lab: {case.lab_day}]" if case.lab_day else "  [design only]"
            print(f"  {case.id:<11} {case.prompt}{lab}")
        return 0
    try:
        case = get_case(args.case)
    except KeyError as exc:
        raise CourseError(str(exc.args[0])) from None
    if args.card:
        print(card_text(case))
        return 0
    if args.assignment:
        from curriculum.mock.session import write_mock_assignment

        source = Path(args.assignment)
        if not source.is_dir():
            raise CourseError(f"{source}: no such folder (give the nbgrader course's source/)")
        try:
            path = write_mock_assignment(case.id, source)
        except FileExistsError as exc:
            raise CourseError(str(exc)) from None
        print(
            f"wrote {path}\nRelease it with nbgrader (nbgrader generate_assignment "
            f"{path.parent.name}); a peer or you hold the card (mlsd mock {case.id} --card) and "
            "score the rubric's task cells in formgrader."
        )
        return 0
    workspace = Path(args.workspace) if args.workspace else find_workspace()
    workspace = workspace or default_workspace()
    if args.terminal:
        from curriculum.mock.session import RECORD

        run_in_terminal(case.id, record=workspace / RECORD if workspace.is_dir() else None)
        return 0
    if not workspace.is_dir():
        raise CourseError(f"{workspace}: no workspace here (start one with: mlsd lab)")
    path = start_mock(case.id, workspace)
    print(
        f"wrote {path}\nOpen it in JupyterLab (mlsd lab) and run the first cells: the clock starts."
    )
    return 0


def _writable(name: str) -> Path:
    path = Path(name)
    if path.is_dir():
        raise CourseError(f"{path}: is a folder; give a file name")
    if not path.parent.exists():
        raise CourseError(f"{path.parent}: no such folder")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mlsd`` with all sub-commands."""
    parser = argparse.ArgumentParser(
        prog="mlsd",
        description="ML System Design Lab: run, release, check and grade the course notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"mlsd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    days_help = f"day ids (default: all): {', '.join(day_ids())}"

    p = sub.add_parser("list", help="the days, their notebooks and release status")
    p.add_argument("days", nargs="*", metavar="DAY", help=days_help)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="execute and autograde the reference notebooks (the main job)")
    p.add_argument("days", nargs="*", metavar="DAY", help=days_help)
    p.add_argument("--quick", action="store_true", help="use each notebook's small CI parameters")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        metavar="NAME=VALUE",
        help="set a notebook parameter (repeatable), e.g. -p seed=1",
    )
    p.add_argument("--output", metavar="DIR", help="where executed notebooks go (build/run)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    p.add_argument("days", nargs="*", metavar="DAY", help=days_help)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("check", help="grade a copy of your notebook and write feedback")
    p.add_argument(
        "notebook",
        help="your notebook: a path, or just its name from anywhere in your workspace "
        "(orientation.ipynb)",
    )
    p.add_argument("--day", help="the day, if the file name does not say it")
    p.add_argument("--no-feedback", action="store_true", help="do not write the feedback page")
    p.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "directory"],
        default="auto",
        help="isolate your code as the instructor's grader does when bubblewrap works (auto)",
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("progress", help="your standing across all days (table and HTML report)")
    p.add_argument(
        "--workspace", metavar="DIR", help="your workspace (default: the one you are in)"
    )
    p.add_argument(
        "--html", metavar="FILE", help="where the report goes (<workspace>/progress.html)"
    )
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser("grade", help="autograde a batch of submissions (instructor)")
    p.add_argument("day", metavar="DAY", help=days_help.replace(" (default: all)", ""))
    p.add_argument(
        "--submissions",
        required=True,
        metavar="DIR",
        help="folder laid out as DIR/<student>/<DAY>/*.ipynb",
    )
    p.add_argument("--csv", metavar="FILE", help="grades CSV to write (grades-<DAY>.csv)")
    p.add_argument(
        "--cell-timeout",
        type=int,
        metavar="SECONDS",
        help="interrupt a cell after this many seconds (default: nbgrader_config.py)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="notebooks graded at once (default: the number of CPUs)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the grading jobs on this Dask scheduler (needs the 'dask' extra)",
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="gradebook as an SQLAlchemy URL (default: sqlite:///gradebook.db in the course)",
    )
    p.add_argument("--force", action="store_true", help="regrade notebooks already graded")
    p.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "directory"],
        default="auto",
        help="isolate kernels with bubblewrap when it works here (auto), always, or never",
    )
    p.add_argument(
        "--wall-limit",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="stop a notebook after this many seconds in all (default: 600)",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=8192,
        metavar="MB",
        help="memory of each notebook's sandbox, its processes and /tmp together (default: 8192)",
    )
    p.add_argument(
        "--output-limit-mb",
        type=float,
        default=10.0,
        metavar="MB",
        help="output kept per notebook; more is truncated (default: 10)",
    )
    p.add_argument(
        "--disk-mb",
        type=int,
        default=1024,
        metavar="MB",
        help="writable space of each notebook's sandbox (default: 1024)",
    )
    p.add_argument(
        "--max-processes",
        type=int,
        default=512,
        metavar="N",
        help="processes and threads each notebook's sandbox may run (default: 512)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="BLAS/OpenMP threads per kernel (default: 1, the fastest on a busy machine)",
    )
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("lab", help="copy release/ to your workspace and start JupyterLab")
    p.add_argument("--workspace", metavar="DIR", help="your workspace (default: ~/mlsd-lab)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument(
        "--setup-only", action="store_true", help="copy the notebooks but do not start JupyterLab"
    )
    p.add_argument(
        "jupyter_args",
        nargs=argparse.REMAINDER,
        metavar="-- ARGS",
        help="passed to JupyterLab, e.g. mlsd lab -- --port 8890 --ip 0.0.0.0",
    )
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("bench", help="time generators, execution, mlsd check, the quick run")
    p.add_argument("days", nargs="*", metavar="DAY", help=days_help)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows per generator (1,000,000)")
    p.add_argument(
        "--repeat", type=int, default=3, help="timed runs per generator; the best counts (3)"
    )
    p.add_argument("--skip-datasets", action="store_true", help="do not time the generators")
    p.add_argument("--skip-notebooks", action="store_true", help="do not time the notebooks")
    p.add_argument(
        "--feature-store",
        action="store_true",
        help="only time Day 4's feature store steps (Feast) next to pandas merge_asof",
    )
    p.add_argument(
        "--vector-index",
        action="store_true",
        help="only time Day 5's retrieval: exact search, FAISS HNSW and Qdrant local mode",
    )
    p.add_argument(
        "--search",
        action="store_true",
        help="only time Day 6's retrieval: BM25 (bm25s), TF-IDF cosine and LSA vectors",
    )
    p.add_argument(
        "--grading",
        type=int,
        metavar="N",
        help="only time grading N submissions of DAY (default day0) serially and in parallel",
    )
    p.add_argument(
        "--load",
        type=float,
        default=0.0,
        metavar="X",
        help="with --grading: grade once more while X x cores CPU-burning processes run",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("skeleton", help="the one-page answer skeleton (Markdown, HTML or PDF)")
    p.add_argument(
        "--format",
        choices=["md", "html", "pdf"],
        default="md",
        help="output format (default: Markdown to stdout)",
    )
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_skeleton)

    p = sub.add_parser("mock", help="a timed mock interview (a notebook, or --terminal)")
    p.add_argument("case", nargs="?", metavar="CASE", help="the case (see --list)")
    p.add_argument("--list", action="store_true", help="list the cases")
    p.add_argument("--workspace", metavar="DIR", help="your workspace (default: ~/mlsd-lab)")
    p.add_argument("--terminal", action="store_true", help="run the mock in this terminal")
    p.add_argument(
        "--card", action="store_true", help="print the interviewer's card (for a peer, not you)"
    )
    p.add_argument(
        "--assignment",
        metavar="SOURCE",
        help="instructors: write the mock as an nbgrader assignment into SOURCE/mock-CASE/, "
        "its rubric scored by a person in formgrader",
    )
    p.set_defaults(func=cmd_mock)

    p = sub.add_parser("datasets", help="build or verify the committed data files")
    p.add_argument("action", choices=["build", "verify"], help="build: regenerate; verify: check")
    p.set_defaults(func=cmd_datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mlsd`` console script."""
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return args.func(args)
    except MlsdError as exc:
        print(f"mlsd {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlsd: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
