"""How ``mlsd`` shows things: tables and progress on the terminal (rich), plain text in CI logs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from curriculum.bench import BenchResult, GeneratorTiming
from curriculum.check import CheckResult
from curriculum.grading.results import NotebookGrade
from curriculum.runner import RunResult
from curriculum.syllabus import Day

# soft_wrap: a message is never broken inside a word, so a long file path stays one copyable
# string on a narrow terminal (tables still fit the width)
console = Console(highlight=False, soft_wrap=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 140  # CI logs: wide enough for the results table without wrapping


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


@contextmanager
def progress(total: int, label: str) -> Iterator[Progress]:
    """A progress bar on a terminal; in a log, one line per step (printed by the caller)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        bar.add_task(label, total=total)
        yield bar


def days_table(rows: Iterable[tuple[Day, str]]) -> Table:
    """``mlsd list``: each day with its notebooks and release status."""
    table = Table(title="ML System Design Lab — syllabus")
    for column in ("day", "title", "case", "notebooks", "release/"):
        table.add_column(column)
    for day, status in rows:
        notebooks = ", ".join(nb.filename for nb in day.notebooks)
        style = "green" if status == "in sync" else "red"
        table.add_row(day.id, day.title, day.case, notebooks, Text(status, style=style))
    return table


def run_table(results: Iterable[RunResult]) -> Table:
    """``mlsd run``: one row per notebook."""
    table = Table(title="Curriculum run (reference solutions)")
    for column in (
        "day",
        "notebook",
        "status",
        "seconds",
        "score",
        "manual",
        "headline: baseline → solution → oracle",
    ):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for r in results:
        style = "green" if r.ok else "red"
        score = "—" if r.auto_score is None else f"{r.auto_score:g}/{r.auto_max:g}"
        manual = "—" if not r.manual_max else f"{r.manual_max:g} pts"
        headline = "\n".join(h.format() for h in r.headlines) or "—"
        status = r.status if r.ok else f"{r.status}\n{r.error}"
        table.add_row(
            r.day,
            r.notebook,
            Text(status, style=style),
            f"{r.seconds:.1f}",
            score,
            manual,
            headline,
        )
    return table


def grade_table(grade: NotebookGrade, attempted: dict[str, bool] | None = None) -> Table:
    """Points per question of one graded notebook.

    `attempted` (written answer → whether the learner wrote one) turns the manual questions of a
    self-study check into "self-assessed" rows; without it they await a person's grade.
    """
    table = Table(title=f"{grade.day}/{grade.notebook}")
    for column in ("question", "points", "max", "result"):
        table.add_column(column)
    for q in grade.questions:
        if q.points is None and attempted is not None:
            tried = attempted.get(q.grade_id, False)
            result = "self-assessed: see its rubric below" if tried else "not answered yet"
            style = "yellow"
        elif q.points is None:
            result, style = "awaiting manual grading", "yellow"
        elif q.points >= q.max_points:
            result, style = "passed" if q.autograded else "graded", "green"
        else:
            result = q.message or ("not answered yet" if not q.autograded else "failed")
            style = "red"
        table.add_row(q.grade_id, _points(q.points), f"{q.max_points:g}", Text(result, style=style))
    table.add_row("total", f"{grade.score:g}", f"{grade.max_score:g}", "", style="bold")
    return table


def show_check(result: CheckResult) -> None:
    """Print ``mlsd check`` output: points, the headline, rubrics of attempted answers."""
    grade = result.grade
    where = f"{result.day.id}/{result.notebook.filename}"
    console.print(
        Text(
            f"Graded a copy of your notebook as {where} (hidden tests included); your file "
            "was not changed."
        )
    )
    if grade.sandbox:
        how = "a bubblewrap sandbox" if grade.sandbox == "bwrap" else "a throw-away folder"
        console.print(f"Your code ran in {how}, as it will when your instructor grades it.")
    if grade.error:
        console.print(Text(f"{where} could not be fully graded: {grade.error}", style="red"))
    if grade.regrade:
        console.print(
            Text(
                f"This machine was too busy to grade every cell fairly ({grade.regrade}). Close "
                f"other heavy programs and run `mlsd check {result.notebook.filename}` again: "
                "points lost to this say nothing about your work.",
                style="yellow",
            )
        )
    for note in grade.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    attempted = {a.grade_id: a.attempted for a in result.self_assessment}
    console.print(grade_table(grade, attempted))
    written = grade.max_score - grade.auto_max_score
    console.print(
        Text(
            f"Autograded {grade.auto_score:g}/{grade.auto_max_score:g}"
            + (
                f"; written answers {written:g} points, self-assessed with their rubrics"
                if written
                else ""
            ),
            style="bold",
        )
    )
    for headline in result.headlines:
        console.print(Text(f"Baseline → you → oracle: {headline.format()}"))
    for answer in result.self_assessment:
        if not answer.attempted:
            continue
        console.rule(Text(f"{answer.grade_id} ({answer.points:g} points): self-assessment"))
        if answer.reference:  # the course's own text (never the learner's): Markdown
            console.print(Text("Reference answer:", style="bold"))
            console.print(Markdown(answer.reference))
        console.print(Markdown(answer.rubric))
    waiting = [a.grade_id for a in result.self_assessment if not a.attempted]
    if waiting:
        console.print(
            Text(f"Rubrics appear once you have written an answer: {', '.join(waiting)}.")
        )
    if result.feedback:
        console.print(Text(f"Feedback page: {result.feedback}"))


def batch_table(grades: Iterable[NotebookGrade]) -> Table:
    """``mlsd grade``: one row per student and notebook."""
    table = Table(title="Autograding")
    for column in ("student", "notebook", "auto score", "total", "note"):
        table.add_column(column)
    for g in grades:
        note = g.error or "; ".join(f"{q.grade_id}: {q.message}" for q in g.questions if q.message)
        if g.regrade:
            note = f"TO REGRADE (busy machine): {note}"
        table.add_row(
            Text(g.student),
            g.notebook,
            f"{g.auto_score:g}/{g.auto_max_score:g}",
            f"{g.score:g}/{g.max_score:g}",
            Text(note[:120]),
        )
    return table


def progress_table(items) -> Table:
    """``mlsd progress``: one row per notebook of the course."""
    table = Table(title="Your progress")
    for column in ("notebook", "state", "autograded", "written answers", "headline"):
        table.add_column(column)
    styles = {"checked": "green", "changed since checked": "yellow", "not checked": "yellow"}
    for item in items:
        score = f"{item.auto_score:g}/{item.auto_max:g}" if item.auto_max else "—"
        written = f"{item.written_done}/{item.written_total} tried" if item.written_total else "—"
        table.add_row(
            item.key,
            Text(item.state, style=styles.get(item.state, "")),
            score,
            written,
            Text("; ".join(item.headlines) or "—"),
        )
    return table


def bench_table(result: BenchResult) -> Table:
    """``mlsd bench``: seconds per notebook and for the whole quick curriculum."""
    table = Table(title="Benchmark (quick parameters)")
    for column in ("notebook", "papermill s", "mlsd check s", "check / papermill"):
        table.add_column(column, justify="left" if column == "notebook" else "right")
    for t in result.notebooks:
        table.add_row(
            f"{t.day}/{t.notebook}",
            f"{t.papermill_seconds:.2f}",
            f"{t.check_seconds:.2f}",
            f"{t.ratio:.2f}×",
        )
    status = "" if result.curriculum_ok else " (some notebooks failed)"
    table.add_row(
        f"whole curriculum: mlsd run --quick{status}",
        f"{result.curriculum_quick_seconds:.2f}",
        "",
        "",
        style="bold",
    )
    return table


def feature_store_table(timings) -> Table:
    """``mlsd bench --feature-store``: Feast's steps and the pandas join."""
    table = Table(title="Feature store steps (Day 4)")
    for column in ("step", "rows", "seconds", "rows/s", "note"):
        table.add_column(column, justify="left" if column in ("step", "note") else "right")
    for t in timings:
        table.add_row(
            t.step,
            f"{t.rows:,}" if t.rows else "—",
            f"{t.seconds:.3f}",
            f"{t.rows_per_second:,.0f}" if t.rows else "—",
            t.note,
        )
    return table


def _retrieval_table(title: str, size: str, recall: str, rows) -> Table:
    """Retrieval methods by corpus size: build seconds, queries per second, recall."""
    table = Table(title=title)
    for column in (size, "method", "build s", "queries/s", recall):
        table.add_column(column, justify="left" if column == "method" else "right")
    for r in rows:
        table.add_row(
            f"{r[size]:,}",
            r["method"],
            f"{r['build_seconds']:.2f}",
            f"{r['queries_per_second']:,.0f}",
            f"{r['recall']:.3f}",
        )
    return table


def vector_index_table(rows) -> Table:
    """``mlsd bench --vector-index``: Day 5's retrieval methods by catalogue size."""
    title = "Nearest-neighbour retrieval (Day 5): recall@10 against exact search"
    return _retrieval_table(title, "items", "recall", rows)


def search_table(rows) -> Table:
    """``mlsd bench --search``: Day 6's retrievers by catalogue size."""
    title = "Retrieval (Day 6): recall@100 of each query's exact matches, one thread"
    return _retrieval_table(title, "documents", "recall@100", rows)


def generators_table(timings: Iterable[GeneratorTiming]) -> Table:
    """``mlsd bench``: rows per second and peak memory of each data generator."""
    table = Table(title="Data generators (best and median of the timed runs)")
    columns = ("generator", "rows", "best s", "median s", "rows/s", "peak MB", "frame MB")
    for column in (*columns, "peak/frame"):
        table.add_column(column, justify="left" if column == "generator" else "right")
    for t in timings:
        table.add_row(
            t.name,
            f"{t.rows:,}",
            f"{t.seconds:.2f}",
            f"{t.median_seconds:.2f}",
            f"{t.rows_per_second:,.0f}",
            f"{t.peak_bytes / 1e6:.0f}",
            f"{t.frame_bytes / 1e6:.0f}",
            f"{t.memory_ratio:.2f}×",
        )
    return table


def problems_report(problems: list[str], ok: str) -> None:
    """Print a list of problems in red, or `ok` in green."""
    for line in problems:
        console.print(Text(line, style="red"))
    if not problems:
        console.print(f"[green]{ok}[/]")
