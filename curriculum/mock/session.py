"""Starting a mock: a notebook of its own in the workspace, or a conversation in the terminal."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from curriculum.mock.cases import RUBRIC, Case, get_case
from curriculum.mock.interview import PLAN, Interview
from curriculum.progress import read_json_object

#: where a workspace keeps its mocks: the notebooks, and the record of every mock's events
MOCK_FOLDER = "mocks"
RECORD = Path(".mlsd") / "mocks.json"

_DESIGN = """mock.step("data")  # then "model" and "serving" as you reach them
design = DesignDocument(
    prompt={prompt!r},
    requirements=Requirements(business_goal="...", scale="...", constraints=["..."]),
    framing=Framing(ml_objective="...", task_type="...", inputs=["..."], output="..."),
    data=Data(sources=["..."], label="...", label_delay="...", split="..."),
    features_model=FeaturesModel(
        features=[Feature("...", "user"), Feature("...", "item"), Feature("...", "context")],
        baseline="...",
        model="...",
    ),
    evaluation=Evaluation(offline_metrics=["..."], online_metrics=["..."], experiment="..."),
    serving=Serving(mode="...", latency_budget_ms=None, throughput="...", fallback="..."),
    monitoring=Monitoring(signals=["..."], retraining="...", feedback_loops="..."),
)"""


_ESTIMATE = re.compile(r"^(.+?)=\s*(\S+)\s+from\s+(.+?)\s+with\s+(.+)$")


def mock_notebook(case: Case, mock_id: str, record: str) -> nbformat.NotebookNode:
    """The notebook of one mock: the prompt, the clock, a cell per step, and the submit cell."""
    plan = "\n".join(f"| {name} | {a:g}–{b:g} |" for name, (a, b) in PLAN.items())
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(
            f"# Mock interview — {case.title}\n\n**The prompt.** *{case.prompt}*\n\n"
            "45 minutes, as in an interview. Run the next cell to start the clock (it keeps "
            "running "
            "if the kernel restarts). Ask the interviewer with `mock.ask('...')`: the answer comes "
            "from the interviewer's card, or it is your call — then say what you assume with "
            "`mock.assume('...')`, numbers included. Say an estimate with the arithmetic it "
            "follows from — `mock.estimate('peak QPS', 700, 'daily_users * views / 86_400 * peak', "
            "daily_users=2e6, views=10, peak=3)` — and the interviewer checks that it follows "
            "from your assumptions. Mark each step as you start it with "
            "`mock.step('...')`; `mock.clock()` tells the time. Around minute 30 the interviewer "
            "changes a requirement.\n\n| step | minutes |\n|---|---|\n"
            f"{plan}\n\nIn pairs, the interviewer reads the card with `mlsd mock {case.id} --card` "
            "and answers in person; score each other with the rubric the last cell prints."
        ),
        code(
            "from curriculum.design.document import (\n"
            "    Data, DesignDocument, Evaluation, Feature, FeaturesModel, Framing, Monitoring,\n"
            "    Requirements, Serving,\n)\n"
            "from curriculum.mock import Alternative, Interview, Scope\n\n"
            f"mock = Interview({case.id!r}, record={record!r}, mock_id={mock_id!r})"
        ),
        md(
            "## 1. Clarify (minutes 0–8)\n\nAsk what would change the design: the goal, the "
            "scale, the latency, the labels, what exists today, privacy. Then scope it."
        ),
        code(
            'mock.step("clarify")\nmock.ask("What is the business goal?")\n'
            '# mock.ask("...")\n# mock.assume("...")\n'
            '# mock.estimate("peak QPS", 700, "daily_users * views / 86_400 * peak",\n'
            '#               daily_users=2e6, views=10, peak=3)'
        ),
        code('scope = Scope(in_scope=["..."], out_of_scope=["..."])'),
        md(
            "## 2. The high-level diagram (minutes 8–12)\n\nDraw it end to end before any "
            "detail (edit this cell):\n\n```mermaid\nflowchart LR\n    R[request] --> M[model]"
            " --> A[answer]\n```"
        ),
        code('mock.step("diagram")'),
        md(
            "## 3–7. Data, features, model, evaluation, serving, monitoring (minutes 12–33)\n\n"
            "Fill in the document; mark `model` and `serving` when you reach them."
        ),
        code(_DESIGN.format(prompt=case.prompt)),
        code('mock.step("model")'),
        code('mock.step("serving")'),
        md("## Alternatives considered, risks, next steps"),
        code(
            'alternatives = [Alternative(option="...", rejected="...", why="...", cost="...")]\n'
            'risks = ["..."]\nnext_steps = ["..."]'
        ),
        md(
            "## 8. Deep dives (minutes 33–45)\n\nThe interviewer drills in: answer in a cell below."
        ),
        code('mock.step("deep dives")'),
        md(
            "## Submit\n\nThe feedback, the rubric and a strong answer's outline appear only now. "
            "Score yourself (or your peer scores you), 1 weak · 2 solid · 3 strong, e.g. "
            '`scores={"problem navigation": 2, "formulation": 3}`, and run it again to record.'
        ),
        code(
            "mock.finish(design, scope=scope, alternatives=alternatives, risks=risks,\n"
            "            next_steps=next_steps, scores=None)"
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["mlsd_mock"] = {"case": case.id, "mock_id": mock_id}
    return notebook


def start_mock(case_id: str, workspace: Path, now: float | None = None) -> Path:
    """Write a new mock notebook for `case_id` into ``workspace/mocks``; return its path.

    Never overwrites: a second mock of the same case in the same minute gets a suffix.

    Raises
    ------
    KeyError
        If there is no such case.
    """
    case = get_case(case_id)
    folder = Path(workspace) / MOCK_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(now))
    base = f"mock-{case.id}-{stamp}"
    path, n = folder / f"{base}.ipynb", 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.ipynb"
    record = Path("..") / RECORD  # relative to the notebook, which runs in its own folder
    nbformat.write(mock_notebook(case, path.stem, record.as_posix()), path)
    return path


#: the record of a mock handed out as an nbgrader assignment: next to the notebook
ASSIGNMENT_RECORD = "mock-record.json"


def rubric_grade_id(dimension: str) -> str:
    """The grade id of a rubric dimension's task cell: ``rubric_problem_navigation``."""
    return "rubric_" + "_".join(re.findall(r"[a-z0-9]+", dimension.lower()))


def mock_assignment(case: Case) -> nbformat.NotebookNode:
    """The mock of `case` as an nbgrader assignment scored by a person in formgrader.

    The learner's notebook is the self-study mock's, with its record kept next to it; after it
    come one manually graded *task* cell per dimension of the levelled rubric (3 points each:
    1 weak, 2 solid, 3 strong), which the peer or instructor who held the card scores in
    formgrader.
    """
    notebook = mock_notebook(case, f"mock-{case.id}", ASSIGNMENT_RECORD)
    notebook.cells.append(nbformat.v4.new_markdown_cell(
        "## Scored by your interviewer\n\nIn a course, the peer or instructor who held the "
        "card scores each dimension below in formgrader (0 not shown, 1 weak, 2 solid, "
        "3 strong), from this notebook and the conversation."
    ))
    for dimension, (weak, solid, strong) in RUBRIC.items():
        notebook.cells.append(nbformat.v4.new_markdown_cell(
            f"**{dimension.capitalize()}** (3 points)\n\n- 1 weak: {weak}\n- 2 solid: {solid}\n"
            f"- 3 strong: {strong}",
            metadata={"nbgrader": {
                "grade": False, "grade_id": rubric_grade_id(dimension), "locked": True,
                "points": 3, "schema_version": 3, "solution": False, "task": True,
            }},
        ))
    return notebook


def write_mock_assignment(case_id: str, source: Path) -> Path:
    """Write the mock of `case_id` as ``<source>/mock-<case>/mock-<case>.ipynb``; return it.

    Raises
    ------
    KeyError
        If there is no such case.
    FileExistsError
        If that notebook exists already (an instructor's edits are never overwritten).
    """
    case = get_case(case_id)
    folder = Path(source) / f"mock-{case.id}"
    path = folder / f"mock-{case.id}.ipynb"
    if path.exists():
        raise FileExistsError(f"{path} exists: edit it, or remove it to write it again")
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(mock_assignment(case), path)
    return path


def card_text(case: Case) -> str:
    """The interviewer's card, for the peer who plays the interviewer."""
    lines = [f"# Interviewer's card — {case.title}", "", f"Prompt: {case.prompt}", "", "Facts:"]
    lines += [f"- {topic}: {fact}" for topic, fact in case.facts.items()]
    lines += ["", "A strong candidate asks about: " + ", ".join(case.must_ask), "", "Deep dives:"]
    lines += [f"- {q}" for q in case.deep_dives]
    lines += ["", f"Around minute 30: {case.change}", "", "Red flags:"]
    lines += [f"- {r}" for r in case.red_flags]
    return "\n".join(lines)


def parse_estimate(text: str) -> tuple[str, float, str, dict[str, float]]:
    """Read the terminal's form of :meth:`Interview.estimate`.

    ``NAME = VALUE from ARITHMETIC with NAME=NUMBER, ...`` gives (name, value, arithmetic,
    assumptions).

    Raises
    ------
    ValueError
        When the text does not have that form or a number is not a number.
    """
    found = _ESTIMATE.match(text.strip())
    if not found:
        raise ValueError(
            "say it as: estimate peak QPS = 700 from daily_users * views / 86_400 * peak with "
            "daily_users=2e6, views=10, peak=3"
        )
    name, value, how, given = found.groups()
    assumptions = {}
    for part in filter(None, (p.strip() for p in given.split(","))):
        key, sep, number = part.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"{part!r}: write each assumption as name=number")
        try:
            assumptions[key.strip()] = float(number.replace("_", ""))
        except ValueError:
            raise ValueError(f"{part!r}: {number.strip()!r} is not a number") from None
    try:
        number = float(value.replace("_", ""))
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    return name.strip(), number, how.strip(), assumptions


def run_in_terminal(
    case_id: str,
    *,
    read: Callable[[str], str] = input,
    say: Callable[[str], object] = print,
    clock: Callable[[], float] = time.time,
    record: Path | None = None,
) -> str:
    """A mock in the terminal: questions answered from the card; ``done`` ends with feedback.

    Commands: a question (any line), ``assume TEXT``, ``estimate NAME = VALUE from ARITHMETIC
    with NAME=NUMBER, ...``, ``step NAME``, ``clock``, ``done``.
    The design itself is best written in the notebook; here the feedback covers the questions,
    the time, the rubric and a strong answer's outline. Returns the feedback's text.
    """
    mock = Interview(case_id, record=record, mock_id=f"terminal-{case_id}", clock=clock, say=say)
    say(
        "Commands: a question · assume TEXT · estimate NAME = VALUE from ARITHMETIC with "
        "NAME=NUMBER, ... · step NAME · clock · done"
    )
    while True:
        try:
            line = read("> ").strip()
        except EOFError:
            break
        if not line:
            continue
        word, _, rest = line.partition(" ")
        try:
            if line == "done":
                break
            if line == "clock":
                mock.clock()
            elif word == "assume":
                mock.assume(rest)
            elif word == "estimate":
                name, value, how, assumptions = parse_estimate(rest)
                mock.estimate(name, value, how, **assumptions)
            elif word == "step":
                mock.step(rest.strip())
            else:
                mock.ask(line)
        except ValueError as exc:
            say(str(exc))
    text = str(mock.finish())
    say(text)
    return text


def load_mocks(workspace: Path) -> dict:
    """The mocks recorded in a workspace ({} when none)."""
    return read_json_object(Path(workspace) / RECORD)


def mocks_summary(workspace: Path) -> str:
    """One line for ``mlsd progress``: mocks taken, finished, and their mean rubric score."""
    mocks = [m for m in load_mocks(workspace).values() if isinstance(m, dict)]
    if not mocks:
        return "Mock interviews: none yet (mlsd mock --list)."
    done = [m for m in mocks if m.get("finished")]
    scores = [s for m in done for s in (m.get("scores") or {}).values() if s in (1, 2, 3)]
    cases = ", ".join(sorted({str(m.get("case")) for m in mocks}))
    mean = f"; mean rubric score {sum(scores) / len(scores):.1f} of 3" if scores else ""
    return f"Mock interviews: {len(mocks)} started, {len(done)} submitted ({cases}){mean}."
