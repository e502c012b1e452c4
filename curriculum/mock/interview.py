"""A timed mock interview: the clock, the interviewer's answers, and the feedback at the end.

:class:`Interview` is what a mock notebook (``mlsd mock CASE``) and the terminal mode use. It
answers questions from the case's card, keeps the clock against the handout's 45-minute plan,
injects the requirement change around minute 30, and on :meth:`Interview.finish` gives feedback:
time per step, when the first number and the diagram appeared, the questions a strong candidate
asks that were missed, the signals of the design that are covered or missed (each missed one with
the course section that teaches it), the design's ``validate()`` findings as what the interviewer
would have asked, the levelled rubric, and only then a strong answer's outline. Every event is
saved in a record file, so a restarted kernel keeps the clock and ``mlsd progress`` lists mocks.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from numbers import Real
from pathlib import Path
from typing import Any

from curriculum.design.document import Alternative, DesignDocument, Scope, is_placeholder
from curriculum.design.estimates import arithmetic, humanize
from curriculum.mock.cases import RUBRIC, TOPIC_WORDS, Case, get_case
from curriculum.progress import read_json_object

#: the handout's 45-minute plan: step -> (planned start, planned end) in minutes
PLAN: dict[str, tuple[float, float]] = {
    "clarify": (0, 8),
    "diagram": (8, 12),
    "data": (12, 20),
    "model": (20, 26),
    "serving": (26, 33),
    "deep dives": (33, 45),
}
CHANGE_AT_MINUTE = 30.0
#: how far an estimate may be from what its own assumptions give (an interviewer's "about")
ESTIMATE_TOLERANCE = 0.3
LENGTH_MINUTES = 45.0
YOUR_CALL = "Your call: state an assumption (mock.assume('...')) and go on."


def topics_of(question: str) -> list[str]:
    """The card topics a question asks about (:data:`~curriculum.mock.cases.TOPIC_WORDS`)."""
    text = f" {question.lower()} "
    return [topic for topic, words in TOPIC_WORDS.items() if any(w in text for w in words)]


@dataclass
class Feedback:
    """What the mock showed; ``str()`` (or the notebook's display) gives the report."""

    case: Case
    minutes: float
    steps: list[tuple[str, str, float | None, float | None]]  # name, plan, start, minutes spent
    first_number: float | None
    first_diagram: float | None
    asked: list[str]
    must_ask_missed: list[str]
    covered: list[str]
    missed: list[tuple[str, str]]  # signal, where the course teaches it
    findings: list[str]
    scores: dict[str, int]
    estimates: list[dict] = field(default_factory=list)  # name, value, arithmetic, recomputed

    def lines(self) -> list[str]:
        """The report, as Markdown lines."""
        c = self.case
        out = [f"## Feedback — {c.title} ({self.minutes:.0f} minutes)", "", "**Time per step**", ""]
        out += ["| step | plan (min) | started | minutes |", "|---|---|---|---|"]
        for name, plan, start, spent in self.steps:
            begun = "—" if start is None else f"{start:.1f}"
            took = "—" if spent is None else f"{spent:.1f}"
            out.append(f"| {name} | {plan} | {begun} | {took} |")
        number = "never" if self.first_number is None else f"minute {self.first_number:.1f}"
        diagram = "never" if self.first_diagram is None else f"minute {self.first_diagram:.1f}"
        out += ["", f"First number stated: {number}. High-level diagram: {diagram} (plan: by 12)."]
        if self.estimates:
            out += ["", "**Estimates, recomputed from your own assumptions**", ""]
            for e in self.estimates:
                verdict = "follows" if e["follows"] else "**does not follow**"
                out.append(
                    f"- {e['name']}: {humanize(e['value'])} — {e['arithmetic']} = "
                    f"{humanize(e['recomputed'])}: {verdict}"
                )
        out += ["", f"**Questions** ({len(self.asked)} asked)", ""]
        if self.must_ask_missed:
            for topic in self.must_ask_missed:
                out.append(f"- not asked: **{topic}** — the interviewer knew: {c.facts[topic]}")
        else:
            out.append("- every question a strong candidate asks first was asked")
        out += ["", "**Signals of the design**", ""]
        out += [f"- covered: {s}" for s in self.covered]
        out += [f"- missed: **{s}** — practised in {where}" for s, where in self.missed]
        if self.findings:
            out += ["", "**What the interviewer would have asked**", ""]
            out += [f"- {f}" for f in self.findings]
        out += ["", "**Rubric** (1 weak · 2 solid · 3 strong; self-scored or by a peer)", ""]
        out += ["| dimension | weak | solid | strong | score |", "|---|---|---|---|---|"]
        for name, (weak, solid, strong) in RUBRIC.items():
            score = self.scores.get(name, "")
            out.append(f"| {name} | {weak} | {solid} | {strong} | {score} |")
        out += ["", "**Red flags the interviewer watched for**", ""]
        out += [f"- {r}" for r in c.red_flags]
        out += ["", "**A strong answer, in outline**", ""]
        out += [f"- {s}" for s in c.strong_answer]
        if c.lab_day:
            out += ["", f"The lab of {c.lab_day} works this case end to end."]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_markdown_(self) -> str:
        return str(self)


class Interview:
    """A timed mock interview on one case (see the module docstring).

    Parameters
    ----------
    case : str
        The case id (``mlsd mock --list``).
    record : str or Path, optional
        The JSON file that keeps the mock's events (the clock survives a kernel restart);
        nothing is saved when None.
    mock_id : str, optional
        This mock's key in the record file (default: the case id).
    clock : callable, optional
        Seconds since the epoch (``time.time``); tests pass their own.
    say : callable, optional
        Where the interviewer's lines go (``print``).
    """

    def __init__(
        self,
        case: str,
        *,
        record: str | Path | None = None,
        mock_id: str | None = None,
        clock: Callable[[], float] = time.time,
        say: Callable[[str], Any] = print,
    ) -> None:
        self.case = get_case(case)
        self._clock, self._say = clock, say
        self._record = Path(record) if record is not None else None
        self.mock_id = mock_id or case
        state = self._load()
        self.started: float = state.get("started", clock())
        self.asked: list[dict] = state.get("asked", [])
        self.assumptions: list[dict] = state.get("assumptions", [])
        self.estimates: list[dict] = state.get("estimates", [])
        self.steps: dict[str, float] = state.get("steps", {})
        self.change_shown: bool = state.get("change_shown", False)
        self.finished: bool = state.get("finished", False)
        self._save()
        resumed = " (resumed: the clock kept running)" if state else ""
        self._say(
            f"Interviewer: {self.case.prompt}\n"
            f"Minute {self.minutes():.1f} of {LENGTH_MINUTES:.0f}{resumed}. Ask with "
            "mock.ask('...'); mark each step with mock.step('...')."
        )

    # -- the clock ---------------------------------------------------------------------------
    def minutes(self) -> float:
        """Minutes since the mock started."""
        return max(self._clock() - self.started, 0.0) / 60.0

    def clock(self) -> None:
        """Say the time and the step the plan expects now."""
        now = self.minutes()
        due = next((n for n, (a, b) in PLAN.items() if a <= now < b), "wrap up")
        self._say(f"Minute {now:.1f} of {LENGTH_MINUTES:.0f}; the plan says: {due}.")

    # -- the conversation --------------------------------------------------------------------
    def ask(self, question: str) -> None:
        """Ask the interviewer; the answer comes from the card, or it is your call."""
        if not isinstance(question, str) or not question.strip():
            raise ValueError("ask a question in words, e.g. mock.ask('How many users a day?')")
        topics = [t for t in topics_of(question) if t in self.case.facts]
        answer = " ".join(self.case.facts[t] for t in topics) if topics else YOUR_CALL
        self.asked.append(
            {"minute": round(self.minutes(), 2), "question": question, "topics": topics}
        )
        self._save()
        self._say(f"Interviewer: {answer}")
        self._maybe_change()

    def assume(self, assumption: str) -> None:
        """State an assumption (with its number, where there is one)."""
        if not isinstance(assumption, str) or not assumption.strip():
            raise ValueError("state the assumption in words, e.g. mock.assume('20M users a day')")
        self.assumptions.append({"minute": round(self.minutes(), 2), "text": assumption})
        self._save()
        self._maybe_change()

    def estimate(
        self, name: str, value: float, how: str | None = None, /, **assumptions: float
    ) -> None:
        """Say an estimate, the arithmetic it comes from, and the assumptions it uses.

        The interviewer recomputes it from your assumptions and says whether it follows (within
        30 %): an interviewer checks that your numbers follow from what you assumed, not that
        they match theirs.

        Parameters
        ----------
        name : str
            What is estimated, e.g. ``"peak QPS"``.
        value : float
            Your number.
        how : str
            The arithmetic it follows from, in the names of your assumptions, e.g.
            ``"daily_users * views / 86_400 * peak"``.
        **assumptions : float
            The numbers you assume, e.g. ``daily_users=2e6, views=10, peak=3``.

        Raises
        ------
        ValueError
            For a missing name or arithmetic, a value or assumption that is not a positive
            number, or arithmetic that is not arithmetic of the assumptions.

        Examples
        --------
        ``mock.estimate("peak QPS", 700, "daily_users * views / 86_400 * peak",
        daily_users=2e6, views=10, peak=3)``
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name the estimate, e.g. mock.estimate('peak QPS', 700, ...)")
        if not isinstance(how, str) or not how.strip():
            raise ValueError(
                f"say how {name} follows from your assumptions, e.g. mock.estimate({name!r}, "
                f"{value!r}, 'daily_users * views / 86_400 * peak', daily_users=2e6, views=10, "
                "peak=3)"
            )
        for what, number in {name: value, **assumptions}.items():
            if (isinstance(number, bool) or not isinstance(number, Real)
                    or not math.isfinite(number) or number <= 0):
                raise ValueError(f"{what}: give a positive number, not {number!r}")
        recomputed = arithmetic(how, assumptions)
        follows = recomputed > 0 and abs(value / recomputed - 1) <= ESTIMATE_TOLERANCE
        self.estimates.append({
            "minute": round(self.minutes(), 2), "name": name, "value": float(value),
            "arithmetic": how, "assumptions": {k: float(v) for k, v in assumptions.items()},
            "recomputed": recomputed, "follows": bool(follows),
        })
        self._save()
        if follows:
            self._say(
                f"Interviewer: {name} ≈ {humanize(value)} — that follows from what you assumed."
            )
        else:
            self._say(
                f"Interviewer: your assumptions give {how} = {humanize(recomputed)}, not "
                f"{humanize(value)}: which is it?"
            )
        self._maybe_change()

    def step(self, name: str) -> None:
        """Mark the start of a step of the plan (clarify, diagram, data, model, serving...)."""
        if name not in PLAN:
            raise ValueError(f"unknown step {name!r}; the plan's steps are: {', '.join(PLAN)}")
        now = self.minutes()
        self.steps.setdefault(name, round(now, 2))
        start, end = PLAN[name]
        self._save()
        self._say(f"Minute {now:.1f}: {name} (plan: minutes {start:g}–{end:g}).")
        if name == "deep dives":
            self._show_change()
            self._say(
                "Interviewer's deep dives:\n" + "\n".join(f"- {q}" for q in self.case.deep_dives)
            )
        else:
            self._maybe_change()

    def _maybe_change(self) -> None:
        if self.minutes() >= CHANGE_AT_MINUTE:
            self._show_change()

    def _show_change(self) -> None:
        if not self.change_shown:
            self.change_shown = True
            self._save()
            self._say(f"Interviewer: one more thing — {self.case.change} What changes?")

    # -- the end -----------------------------------------------------------------------------
    def finish(
        self,
        design: DesignDocument | None = None,
        *,
        scope: Scope | None = None,
        alternatives: Sequence[Alternative] = (),
        risks: Sequence[str] = (),
        next_steps: Sequence[str] = (),
        scores: dict[str, int] | None = None,
    ) -> Feedback:
        """Submit: the feedback, the rubric, and a strong answer's outline.

        Parameters
        ----------
        design : DesignDocument, optional
            Your design document.
        scope : Scope, optional
            In and out of scope.
        alternatives : list of Alternative
            Choices made against others.
        risks, next_steps : list of str
            Risks of the design and what you would do next.
        scores : dict, optional
            Rubric scores (1 weak, 2 solid, 3 strong) per dimension of the rubric, by yourself
            or a peer holding the card.

        Raises
        ------
        ValueError
            If a score names an unknown dimension or is not 1, 2 or 3.
        """
        scores = dict(scores or {})
        for name, value in scores.items():
            if name not in RUBRIC:
                raise ValueError(
                    f"unknown rubric dimension {name!r}; they are: {', '.join(RUBRIC)}"
                )
            if value not in (1, 2, 3):
                raise ValueError(
                    f"score {name!r} with 1 (weak), 2 (solid) or 3 (strong), not {value!r}"
                )
        alternatives = list(alternatives)
        if design is not None:  # the scope and alternatives said aloud belong to the document
            design = replace(
                design,
                scope=scope if scope is not None else design.scope,
                alternatives=alternatives or design.alternatives,
            )
            scope, alternatives = design.scope, design.alternatives
        feedback = self._feedback(
            design, scope, alternatives, list(risks), list(next_steps), scores
        )
        self.finished = True
        self._save(scores=scores, minutes=round(feedback.minutes, 2))
        return feedback

    def _feedback(self, design, scope, alternatives, risks, next_steps, scores) -> Feedback:
        case, now = self.case, self.minutes()
        order = sorted(self.steps.items(), key=lambda item: item[1])
        spent = {
            name: (order[i + 1][1] if i + 1 < len(order) else now) - start
            for i, (name, start) in enumerate(order)
        }
        steps = [
            (name, f"{a:g}–{b:g}", self.steps.get(name), spent.get(name))
            for name, (a, b) in PLAN.items()
        ]
        numbers = [a["minute"] for a in self.assumptions if re.search(r"\d", a["text"])]
        numbers += [e["minute"] for e in self.estimates]
        astray = [e for e in self.estimates if not e["follows"]]
        asked_topics = {t for q in self.asked for t in q["topics"]}
        missed_topics = [t for t in case.must_ask if t not in asked_topics]
        found = design.validate() if design is not None else []
        checks = _signals(
            case, design, found, scope, alternatives, bool(numbers), not astray, self.steps
        )
        covered = [name for name, ok in checks if ok]
        missed = [(name, _where(case, name)) for name, ok in checks if not ok]
        findings = [str(f) for f in found]
        findings += [
            f"[estimate] {e['name']}: you said {humanize(e['value'])}, but your own assumptions "
            f"give {humanize(e['recomputed'])} ({e['arithmetic']}) — which is it?"
            for e in astray
        ]
        if not risks or is_placeholder(list(risks)):
            findings.append("[risks] What could go wrong with this design, and what is the plan?")
        if not next_steps or is_placeholder(list(next_steps)):
            findings.append("[next steps] With two more weeks, what would you do first?")
        return Feedback(
            case=case,
            minutes=now,
            steps=steps,
            first_number=min(numbers) if numbers else None,
            first_diagram=self.steps.get("diagram"),
            asked=[q["question"] for q in self.asked],
            must_ask_missed=missed_topics,
            covered=covered,
            missed=missed,
            findings=findings,
            scores=scores,
            estimates=list(self.estimates),
        )

    # -- the record ----------------------------------------------------------------------------
    def _load(self) -> dict:
        if self._record is None:
            return {}
        entry = read_json_object(self._record).get(self.mock_id)
        return entry if isinstance(entry, dict) and entry.get("case") == self.case.id else {}

    def _save(self, **extra: Any) -> None:
        if self._record is None:
            return
        data = read_json_object(self._record)
        entry = data.get(self.mock_id) if isinstance(data.get(self.mock_id), dict) else {}
        entry.update(
            case=self.case.id,
            started=self.started,
            asked=self.asked,
            assumptions=self.assumptions,
            estimates=self.estimates,
            steps=self.steps,
            change_shown=self.change_shown,
            finished=self.finished,
            **extra,
        )
        data[self.mock_id] = entry
        self._record.parent.mkdir(parents=True, exist_ok=True)
        self._record.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _signals(
    case, design, found, scope, alternatives, said_numbers, estimates_follow, steps
) -> list[tuple[str, bool]]:
    """(signal, covered) for what an interviewer listens for, judged on the answer's structure.

    `found` holds the design's ``validate()`` findings; `said_numbers`, whether an assumption
    stated a number (or an estimate was said); `estimates_follow`, whether every estimate
    follows from its own assumptions.
    """

    def given(value: object) -> bool:
        return not is_placeholder(value)

    d = design
    numbers = estimates_follow and (
        said_numbers or bool(d is not None and re.search(r"\d", d.requirements.scale or ""))
    )
    diagram = steps.get("diagram")
    out = [
        ("estimates: numbers with their assumptions", numbers),
        (
            "scope: in and out",
            scope is not None and given(scope.in_scope) and given(scope.out_of_scope),
        ),
        ("diagram: drawn by minute 15", diagram is not None and diagram <= 15),
        (
            "alternatives: a choice against another, with why",
            any(given(a.option) and given(a.rejected) and given(a.why) for a in alternatives),
        ),
    ]
    metric_findings = [f for f in found if f.field == "offline_metrics"]
    checks: list[tuple[str, Callable[[DesignDocument], bool]]] = [
        (
            "metric: offline metrics that fit the case",
            lambda d: (
                bool(set(d.evaluation.offline_metrics) & case.metrics) and not metric_findings
            ),
        ),
        ("split: by time", lambda d: d.data.split == "time"),
        (
            "label: the label and its delay",
            lambda d: given(d.data.label) and given(d.data.label_delay),
        ),
        ("baseline: what the model must beat", lambda d: given(d.features_model.baseline)),
        ("experiment: how it launches online", lambda d: given(d.evaluation.experiment)),
        (
            "latency: a budget and a fallback",
            lambda d: (
                (d.serving.mode == "batch" or d.serving.latency_budget_ms is not None)
                and given(d.serving.fallback)
            ),
        ),
        (
            "monitoring: signals and retraining",
            lambda d: given(d.monitoring.signals) and given(d.monitoring.retraining),
        ),
    ]
    if "feedback" in case.lessons:
        checks.append(
            (
                "feedback loops: the model learns from what it showed",
                lambda d: given(d.monitoring.feedback_loops),
            )
        )
    return out + [(name, d is not None and check(d)) for name, check in checks]


#: drills of Day 1 that practise a signal on every case, named after the case's own lesson
_DRILLS = {
    "latency": "fallbacks: Day 1 design_practice.ipynb, failure modes",
    "monitoring": "what catches which failure: Day 1 design_practice.ipynb, failure modes",
    "experiment": "Day 1 design_practice.ipynb, experiment design and rollout",
}


def _where(case: Case, signal: str) -> str:
    key = signal.split(":", 1)[0].split()[0]
    where = case.lessons.get(key, "the handout (mlsd skeleton) and Day 1 design_practice.ipynb")
    return f"{where}; {_DRILLS[key]}" if key in _DRILLS else where
