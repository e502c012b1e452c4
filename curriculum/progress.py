"""``mlsd progress``: a learner's standing across the course, from their workspace.

Every ``mlsd check`` of a notebook in a workspace records its result in
``<workspace>/.mlsd/progress.json`` (points per question, written answers, the lab's headline,
and a digest of the checked file). ``mlsd progress`` reads those records against the notebooks as
they are now: per notebook, the autograded points, the written answers to self-assess, whether the
file changed since its last check, and what to do next. It writes an HTML report with a chart.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from curriculum.course import Course
from curriculum.syllabus import SYLLABUS

RECORDS = Path(".mlsd") / "progress.json"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def record_check(workspace: Path, checked: Path, result) -> Path:
    """Record an ``mlsd check`` result in the workspace; return the records file."""
    path = Path(workspace) / RECORDS
    path.parent.mkdir(parents=True, exist_ok=True)
    records = load_records(workspace)
    grade = result.grade
    records[f"{grade.day}/{grade.notebook}"] = {
        "checked_at": time.strftime("%Y-%m-%d %H:%M"),
        "digest": file_digest(checked),
        "auto_score": grade.auto_score,
        "auto_max": grade.auto_max_score,
        "error": grade.error,
        "questions": [asdict(q) for q in grade.questions],
        "written": [
            {"grade_id": a.grade_id, "points": a.points, "attempted": a.attempted}
            for a in result.self_assessment
        ],
        "headlines": [h.format() for h in result.headlines],
    }
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def read_json_object(path: Path) -> dict:
    """The JSON object in `path` ({} when the file is missing, unreadable or not an object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_records(workspace: Path) -> dict:
    """The recorded checks of a workspace ({} when there are none or the file is unreadable)."""
    return read_json_object(Path(workspace) / RECORDS)


@dataclass
class NotebookProgress:
    """Where a learner stands on one notebook."""

    day: str
    notebook: str
    state: str  # "not started", "not checked", "changed since checked", "checked"
    auto_score: float = 0.0
    auto_max: float = 0.0
    written_done: int = 0
    written_total: int = 0
    lost: list[str] = field(default_factory=list)  # "question: reason"
    headlines: list[str] = field(default_factory=list)
    checked_at: str = ""

    @property
    def key(self) -> str:
        """``day/notebook``."""
        return f"{self.day}/{self.notebook}"

    @property
    def complete(self) -> bool:
        """Checked as it is now, every autograded point earned, every written answer tried."""
        return (
            self.state == "checked"
            and self.auto_score >= self.auto_max
            and self.written_done == self.written_total
        )


def same_cells(mine: Path, released: Path) -> bool:
    """Whether the learner's notebook holds the released cells' text: nothing answered yet.

    JupyterLab rewrites a notebook's metadata (the kernel's ``language_info``), outputs and
    formatting when it saves an untouched notebook; none of that is an answer.
    """
    if mine.read_bytes() == released.read_bytes():
        return True
    try:
        ours, theirs = (nbformat.read(p, as_version=4) for p in (mine, released))
    except Exception:  # unreadable: the learner's file is something else now
        return False
    text = lambda nb: [(c.cell_type, c.source) for c in nb.cells]  # noqa: E731
    return text(ours) == text(theirs)


def progress(course: Course, workspace: Path) -> list[NotebookProgress]:
    """The learner's standing on every notebook of the syllabus, in order."""
    records = load_records(workspace)
    out = []
    for day in SYLLABUS:
        for spec in day.notebooks:
            mine = Path(workspace) / day.id / spec.filename
            released = course.release_notebook(day, spec)
            record = records.get(f"{day.id}/{spec.filename}")
            item = NotebookProgress(day.id, spec.filename, "not started")
            if mine.exists() and released.exists():
                unchanged = same_cells(mine, released)
                if record is None:
                    item.state = "not started" if unchanged else "not checked"
                else:
                    same = record.get("digest") == file_digest(mine)
                    item.state = "checked" if same else "changed since checked"
            if record is not None:
                item.auto_score = float(record.get("auto_score", 0))
                item.auto_max = float(record.get("auto_max", 0))
                written = record.get("written", [])
                item.written_total = len(written)
                item.written_done = sum(1 for w in written if w.get("attempted"))
                item.lost = [
                    f"{q['grade_id']}: {q.get('message') or 'failed'}"
                    for q in record.get("questions", [])
                    if q.get("autograded") and (q.get("points") or 0) < q.get("max_points", 0)
                ]
                item.headlines = list(record.get("headlines", []))
                item.checked_at = str(record.get("checked_at", ""))
            out.append(item)
    return out


def next_step(items: list[NotebookProgress]) -> str:
    """What the learner should do next, in one sentence."""
    for item in items:
        if item.complete:
            continue
        check = f"mlsd check {item.key}"
        if item.state == "not started":
            return f"Open {item.key} and start; then run {check}."
        if item.state in ("not checked", "changed since checked"):
            return f"Run {check}: it has changed since it was last checked."
        if item.auto_score < item.auto_max:
            first = item.lost[0] if item.lost else ""
            return f"Work on {item.key} ({first}); then run {check} again."
        return f"Write the remaining answers of {item.key} and compare them with their rubrics."
    return "Every notebook is checked with full marks: well done."


def progress_html(items: list[NotebookProgress]) -> str:
    """A small HTML report: a bar per notebook (autograded points) and the details."""
    esc = html.escape
    rows = []
    for item in items:
        share = item.auto_score / item.auto_max if item.auto_max else 0.0
        bar = (
            f'<div class="bar"><div style="width:{100 * share:.0f}%"></div></div>'
            f"{item.auto_score:g} / {item.auto_max:g}"
            if item.auto_max
            else "—"
        )
        written = f"{item.written_done} / {item.written_total}" if item.written_total else "—"
        lost = "<br>".join(esc(x) for x in item.lost[:3])
        rows.append(
            f"<tr><td>{esc(item.key)}</td><td>{esc(item.state)}</td><td>{bar}</td>"
            f"<td>{written}</td><td>{esc('; '.join(item.headlines))}</td><td>{lost}</td></tr>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Your progress</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:.4em}"
        "th{background:#eef2f6;text-align:left}"
        ".bar{display:inline-block;width:140px;height:12px;background:#eef2f6;margin-right:.5em}"
        ".bar div{height:100%;background:#2da44e}</style></head><body>"
        "<h1>ML System Design Lab — your progress</h1>"
        f"<p><b>Next:</b> {esc(next_step(items))}</p>"
        "<table><tr><th>notebook</th><th>state</th><th>autograded points</th>"
        "<th>written answers tried</th><th>headline</th><th>points lost</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
