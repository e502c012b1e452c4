"""The learner's feedback page: what ``mlsd check`` writes beside their notebook.

On top, a summary that reads on its own: the lab's headline *baseline → you → oracle*, a styled
table with the points of every question and the reason for every point lost, notes from the
grader, and — for each written answer already attempted — its rubric (and reference answer) to
self-assess against. Below, the graded notebook as JupyterLab shows it (hidden tests replaced by
the list of what they check).
"""

from __future__ import annotations

import html
import math
import re

import nbformat

from curriculum.grading.results import NotebookGrade
from curriculum.report import Headline
from curriculum.rubrics import SelfAssessment

STYLE = """
<style>
.mlsd-summary { font-family: system-ui, sans-serif; max-width: 1000px; margin: 1.5em auto;
  padding: 1em 1.5em; border: 1px solid #d0d7de; border-radius: 8px; background: #fbfcfd; }
.mlsd-summary h1 { font-size: 1.5em; margin: 0 0 .3em 0; }
.mlsd-summary h2 { font-size: 1.15em; margin: 1.2em 0 .4em 0; }
.mlsd-summary table { border-collapse: collapse; width: 100%; margin: .5em 0; }
.mlsd-summary th, .mlsd-summary td { border: 1px solid #d0d7de; padding: .35em .6em;
  text-align: left; vertical-align: top; }
.mlsd-summary th { background: #eef2f6; }
.mlsd-summary td.num { text-align: right; white-space: nowrap; }
.mlsd-summary tr.passed td.result { color: #1a7f37; }
.mlsd-summary tr.lost td.result { color: #b42318; }
.mlsd-summary tr.self td.result { color: #9a6700; }
.mlsd-headline { display: flex; gap: 1em; align-items: stretch; margin: .6em 0; }
.mlsd-headline div { flex: 1; border-radius: 6px; padding: .5em .8em; background: #eef2f6; }
.mlsd-headline div.you { background: #ddf4e4; font-weight: 600; }
.mlsd-headline span { display: block; font-size: 1.4em; }
.mlsd-rubric { border-left: 4px solid #9a6700; padding: .2em 1em; margin: .6em 0;
  background: #fff8e6; }
.mlsd-notes li { color: #57606a; }
</style>
"""


def _markdown(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text)


def _result(q, self_assessed: dict[str, SelfAssessment]) -> tuple[str, str]:
    """(css class, text) of a question's result."""
    if q.points is None:
        answer = self_assessed.get(q.grade_id)
        if answer is not None and answer.attempted:
            return "self", "self-assessed: compare your answer with the rubric below"
        return "self", "not answered yet (written answer, graded with a rubric)"
    if q.points >= q.max_points:
        return "passed", "passed"
    return "lost", q.message or "failed"


def _headline_block(headline: Headline) -> str:
    closed = headline.gap_closed
    share = "" if math.isnan(closed) else f"you close {closed:.0%} of the gap"
    boxes = "".join(
        f'<div class="{cls}">{label}<span>{value:.4g}</span></div>'
        for cls, label, value in (
            ("", "baseline", headline.baseline),
            ("you", "your model", headline.model),
            ("", "oracle", headline.oracle),
        )
    )
    return (
        f"<p><b>{html.escape(headline.metric)}</b> "
        f"({'lower' if headline.lower_is_better else 'higher'} is better) {share}</p>"
        f'<div class="mlsd-headline">{boxes}</div>'
    )


def summary_html(
    grade: NotebookGrade,
    headlines: list[Headline],
    assessments: list[SelfAssessment],
) -> str:
    """The summary block at the top of the feedback page."""
    by_id = {a.grade_id: a for a in assessments}
    esc = html.escape
    parts = [
        '<section class="mlsd-summary">',
        f"<h1>Feedback: {esc(grade.day)}/{esc(grade.notebook)}</h1>",
        f"<p>Autograded: <b>{grade.auto_score:g} / {grade.auto_max_score:g}</b> points. "
        f"Written answers: {grade.max_score - grade.auto_max_score:g} points, self-assessed "
        "with the rubrics below (a person grades them in a course).</p>",
    ]
    for headline in headlines:
        parts.append(_headline_block(headline))
    if grade.error:
        parts.append(f'<p style="color:#b42318">Grading stopped early: {esc(grade.error)}</p>')
    parts.append("<h2>Questions</h2><table><tr><th>question</th><th>points</th><th>max</th>")
    parts.append("<th>result</th></tr>")
    for q in grade.questions:
        cls, text = _result(q, by_id)
        points = "—" if q.points is None else f"{q.points:g}"
        parts.append(
            f'<tr class="{cls}"><td>{esc(q.grade_id)}</td><td class="num">{points}</td>'
            f'<td class="num">{q.max_points:g}</td><td class="result">{esc(text)}</td></tr>'
        )
    parts.append("</table>")
    if grade.notes:
        items = "".join(f"<li>{esc(n)}</li>" for n in grade.notes)
        parts.append(f'<ul class="mlsd-notes">{items}</ul>')
    tried = [a for a in assessments if a.attempted]
    if tried:
        parts.append("<h2>Self-assessment of your written answers</h2>")
        for a in tried:
            body = _markdown(a.rubric)
            if a.reference:
                body = f"<p><b>Reference answer.</b></p>{_markdown(a.reference)}{body}"
            parts.append(
                f'<div class="mlsd-rubric"><p><b>{esc(a.grade_id)}</b> ({a.points:g} points)</p>'
                f"{body}</div>"
            )
    waiting = [a.grade_id for a in assessments if not a.attempted]
    if waiting:
        parts.append(
            "<p>Rubrics appear here once you have written an answer: "
            f"{esc(', '.join(waiting))}.</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def feedback_page(
    grade: NotebookGrade,
    graded: nbformat.NotebookNode,
    headlines: list[Headline],
    assessments: list[SelfAssessment],
) -> str:
    """The whole page: the summary, then the graded notebook rendered as in JupyterLab."""
    from nbconvert import HTMLExporter

    title = f"{grade.day}/{grade.notebook}: feedback"
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(
        graded, resources={"metadata": {"name": title}}
    )
    # the page works offline: no scripts fetched from the network (require.js, MathJax)
    body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    block = STYLE + summary_html(grade, headlines, assessments)
    match = re.search(r"<body[^>]*>", body)
    if match is None:
        return f"<html><body>{block}{body}</body></html>"
    return body[: match.end()] + block + body[match.end() :]
