"""``mlsd mock``: the cases' cards, the clock, the interviewer's answers, feedback, the record."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from curriculum.cli import main
from curriculum.design.document import (
    OFFLINE_METRICS,
    Data,
    DesignDocument,
    Evaluation,
    Feature,
    FeaturesModel,
    Framing,
    Monitoring,
    Requirements,
    Serving,
)
from curriculum.mock import CASES, PLAN, RUBRIC, Alternative, Interview, Scope, get_case
from curriculum.mock.cases import TOPIC_WORDS
from curriculum.mock.interview import YOUR_CALL
from curriculum.mock.session import RECORD, card_text, mocks_summary, run_in_terminal, start_mock


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def minutes(self, m: float) -> None:
        self.now = 1_000_000.0 + 60 * m


def _mock(case="fraud", **kw):
    said: list[str] = []
    clock = Clock()
    mock = Interview(case, clock=clock, say=said.append, **kw)
    return mock, clock, said


def _fraud_design() -> DesignDocument:
    return DesignDocument(
        prompt="Card-payment fraud detection",
        requirements=Requirements(
            business_goal="Cut fraud losses while declining few good customers",
            scale="40M payments a day, 2,000 per second at peak",
            positive_rate=0.003,
            constraints=["decision within 100 ms at p99 inside the authorisation"],
        ),
        framing=Framing(
            ml_objective="Probability that a payment is fraudulent, priced into three actions",
            task_type="binary_classification",
            inputs=["payment", "card history", "device"],
            output="fraud probability and an action",
        ),
        data=Data(
            sources=["payments", "chargebacks", "device fingerprints"],
            label="chargeback for fraud within 90 days",
            label_delay="30 to 90 days: train only on matured payments",
            split="time",
        ),
        features_model=FeaturesModel(
            features=[
                Feature("payments of the card in the last hour", "user"),
                Feature("merchant's fraud rate last 30 days", "item"),
                Feature("country of the IP vs of the card", "context"),
            ],
            baseline="the current rules engine",
            model="gradient-boosted trees",
        ),
        evaluation=Evaluation(
            offline_metrics=["pr_auc", "recall_at_precision", "expected_cost"],
            online_metrics=["fraud losses", "false decline rate"],
            experiment="A/B test by card with a loss guardrail",
        ),
        serving=Serving(
            mode="online", latency_budget_ms=100, throughput="2,000/s", fallback="the rules"
        ),
        monitoring=Monitoring(
            signals=["score distribution", "decline rate", "matured precision"],
            retraining="monthly and on drift",
            feedback_loops="declined payments get no label: keep a small approved holdout",
        ),
        scope=Scope(["card payments"], ["bank transfers"]),
        alternatives=[Alternative("boosted trees", "a deep network", "tabular data, fast")],
    )


def test_every_case_has_a_complete_card():
    assert len(CASES) >= 7
    labs = {c.lab_day for c in CASES if c.lab_day}
    assert labs >= {"day2", "day3", "day4", "day5"}
    assert sum(not c.lab_day for c in CASES) >= 3
    for case in CASES:
        assert case.prompt.endswith(".") and len(case.prompt) < 120, case.id
        assert set(case.facts) <= set(TOPIC_WORDS), case.id
        assert set(case.must_ask) <= set(case.facts), case.id
        assert len(case.deep_dives) >= 3 and case.change and case.red_flags, case.id
        assert case.metrics <= set(OFFLINE_METRICS), case.id
        assert all(where.startswith("Day ") for where in case.lessons.values()), case.id
        assert case.strong_answer, case.id
    with pytest.raises(KeyError, match="fraud"):
        get_case("nope")


def test_the_interviewer_answers_from_the_card_or_leaves_it_to_you():
    mock, _, said = _mock()
    mock.ask("What is the latency budget, and how many payments per second?")
    assert get_case("fraud").facts["latency"] in said[-1]
    assert get_case("fraud").facts["scale"] in said[-1]
    mock.ask("What colour is the logo?")
    assert YOUR_CALL in said[-1]
    assert [q["topics"] for q in mock.asked] == [["scale", "latency"], []]
    for bad in ("", "   ", None):
        with pytest.raises(ValueError, match="question"):
            mock.ask(bad)


def test_the_clock_follows_the_plan_and_the_change_comes_once_after_minute_30():
    mock, clock, said = _mock()
    mock.step("clarify")
    clock.minutes(10)
    mock.step("diagram")
    clock.minutes(29.9)
    mock.ask("Which labels do we have?")
    change = get_case("fraud").change
    assert not any(change in line for line in said), "no change before minute 30"
    clock.minutes(30)
    mock.assume("2,000 payments per second")
    clock.minutes(31)
    mock.step("serving")
    assert sum(change in line for line in said) == 1, "the change comes exactly once"
    mock.step("deep dives")
    assert all(q in said[-1] for q in get_case("fraud").deep_dives)
    with pytest.raises(ValueError, match="clarify"):
        mock.step("lunch")
    clock.minutes(20)
    mock.clock()
    assert "model" in said[-1]


def test_the_deep_dives_bring_the_change_even_early():
    mock, _, said = _mock("pymk")
    mock.step("deep dives")
    assert any(get_case("pymk").change in line for line in said)


def test_feedback_names_what_was_missed_and_where_the_course_teaches_it():
    mock, clock, said = _mock()
    mock.step("clarify")
    mock.ask("What is the goal?")
    before = "\n".join(said)
    assert not any(line in before for line in get_case("fraud").strong_answer), (
        "the strong answer is shown only after submitting"
    )
    clock.minutes(20)
    mock.step("diagram")
    weak = mock.finish(DesignDocument(prompt="fraud"))
    assert set(weak.must_ask_missed) == {"scale", "latency", "labels"}
    missed = dict(weak.missed)
    assert "Day 3 fraud.ipynb" in missed["split: by time"]
    assert "diagram: drawn by minute 15" in missed
    assert weak.findings, "validate() findings become the interviewer's questions"
    text = str(weak)
    assert all(name in text for name in RUBRIC) and get_case("fraud").strong_answer[0] in text

    good, clock, _ = _mock()
    good.step("clarify")
    for question in ("goal?", "How many payments per second?", "Latency budget?", "Labels?"):
        good.ask(question)
    good.assume("2,000 payments per second at peak")
    clock.minutes(9)
    good.step("diagram")
    strong = good.finish(
        _fraud_design(),
        risks=["a feature store outage: fall back to the rules"],
        next_steps=["a step-up action for the middle band"],
        scores={"formulation": 3, "data": 2},
    )
    assert not strong.must_ask_missed and not strong.missed, strong.missed
    assert strong.first_number == 0 and strong.first_diagram == 9
    assert strong.scores == {"formulation": 3, "data": 2}


def test_scores_must_be_on_the_rubric():
    mock, _, _ = _mock()
    with pytest.raises(ValueError, match="rubric dimension"):
        mock.finish(scores={"charisma": 3})
    with pytest.raises(ValueError, match="1 \\(weak\\)"):
        mock.finish(scores={"data": 5})


def test_the_record_keeps_the_clock_across_a_restart_and_feeds_progress(tmp_path):
    record = tmp_path / RECORD
    clock = Clock()
    first = Interview("eta", record=record, mock_id="m1", clock=clock, say=lambda _: None)
    first.ask("How many trips a day?")
    clock.minutes(12)
    again = Interview("eta", record=record, mock_id="m1", clock=clock, say=lambda _: None)
    assert again.minutes() == pytest.approx(12) and len(again.asked) == 1
    assert "1 started, 0 submitted" in mocks_summary(tmp_path)
    again.finish(scores={"data": 2, "communication": 3})
    assert "1 submitted (eta); mean rubric score 2.5" in mocks_summary(tmp_path)
    assert json.loads(record.read_text())["m1"]["finished"] is True
    assert "none yet" in mocks_summary(tmp_path / "elsewhere")


def test_mlsd_mock_writes_a_new_notebook_and_never_overwrites(tmp_path, capsys):
    assert main(["mock", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(case.id in listed for case in CASES)
    assert main(["mock", "nope", "--workspace", str(tmp_path)]) == 2
    assert "the cases are" in capsys.readouterr().err
    assert main(["mock", "fraud", "--workspace", str(tmp_path / "missing")]) == 2
    assert main(["mock", "fraud", "--workspace", str(tmp_path)]) == 0
    assert main(["mock", "fraud", "--workspace", str(tmp_path)]) == 0
    notebooks = sorted((tmp_path / "mocks").glob("mock-fraud-*.ipynb"))
    assert len(notebooks) == 2
    assert main(["mock", "pymk", "--card"]) == 0
    card = capsys.readouterr().out
    assert get_case("pymk").change in card and get_case("pymk").facts["privacy"] in card
    assert card_text(get_case("pymk")) in card


def test_a_mock_notebook_runs_end_to_end(tmp_path):
    path = start_mock("video-recs", tmp_path)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [
        o.get("text", "") + o.get("data", {}).get("text/markdown", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    ]
    assert not [
        o for cell in notebook.cells for o in cell.get("outputs", []) if o.output_type == "error"
    ]
    assert any("## Feedback" in text for text in outputs)
    record = json.loads((tmp_path / RECORD).read_text())
    assert record[path.stem]["finished"] is True and record[path.stem]["case"] == "video-recs"
    assert set(record[path.stem]["steps"]) == set(PLAN)


def test_the_terminal_mock_answers_and_ends_with_feedback():
    lines = iter(
        ["How many users a day?", "assume 100M users", "step clarify", "step lunch", "done"]
    )
    said: list[str] = []
    text = run_in_terminal("video-recs", read=lambda _: next(lines), say=said.append, clock=Clock())
    assert get_case("video-recs").facts["scale"] in "\n".join(said)
    assert any("unknown step" in line for line in said)
    assert "## Feedback" in text and "Rubric" in text


def test_estimates_are_recomputed_from_the_learners_own_assumptions():
    mock, clock, said = _mock()
    mock.estimate("peak QPS", 700, "daily_users * views / 86_400 * peak",
                  daily_users=2e6, views=10, peak=3)
    assert "follows from what you assumed" in said[-1]
    clock.minutes(2)
    mock.estimate("feature store", 160, "cards * features * 4 * replicas / 1e9",
                  cards=50e6, features=200, replicas=4)  # said 160 GB; the arithmetic gives 160
    mock.estimate("replicas", 40, "peak / per_replica", peak=2_000, per_replica=500)  # 4, not 40
    assert "not 40: which is it?" in said[-1]
    feedback = mock.finish(_fraud_design())
    assert [e["follows"] for e in feedback.estimates] == [True, True, False]
    assert feedback.first_number == 0
    assert any("[estimate] replicas" in f and "give 4" in f for f in feedback.findings)
    assert "estimates: numbers with their assumptions" in dict(feedback.missed), (
        "an estimate that does not follow from its own assumptions is not the signal")
    assert "does not follow" in str(feedback)

    honest, _, _ = _mock()
    honest.estimate("peak QPS", 93, "monthly * visits / 30 / 86_400 * peak",
                    monthly=20e6, visits=4, peak=3)  # a smaller product is as right
    honest.estimate("replicas", np.int64(4), "peak / per_replica", peak=np.float64(2_000),
                    per_replica=500)  # NumPy numbers are numbers
    assert "estimates: numbers with their assumptions" in honest.finish(_fraud_design()).covered


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("", 5, "a"), {"a": 5}, "name the estimate"),
        (("qps", 5), {"a": 5}, "say how qps follows"),
        (("qps", -5, "a"), {"a": 5}, "positive number"),
        (("qps", 5, "a"), {"a": float("nan")}, "positive number"),
        (("qps", 5, "a * b"), {"a": 5}, "'b' is not a number you stated"),
        (("qps", 5, "__import__('os')"), {"a": 5}, "only arithmetic"),
        (("qps", 5, "a / (a - a)"), {"a": 5}, "division by zero"),
    ],
)
def test_an_estimate_that_cannot_be_checked_is_refused_with_a_reason(args, kwargs, message):
    mock, _, _ = _mock()
    with pytest.raises(ValueError, match=message):
        mock.estimate(*args, **kwargs)
    assert not mock.estimates


def test_the_terminal_takes_estimates_in_words():
    lines = iter([
        "estimate peak QPS = 700 from daily_users * views / 86_400 * peak with "
        "daily_users=2e6, views=10, peak=3",
        "estimate peak QPS 700",
        "estimate replicas = 40 from peak / per_replica with peak=2_000, per_replica=five",
        "done",
    ])
    said: list[str] = []
    text = run_in_terminal("fraud", read=lambda _: next(lines), say=said.append, clock=Clock())
    joined = "\n".join(said)
    assert "follows from what you assumed" in joined
    assert "say it as: estimate peak QPS = 700" in joined
    assert "'five' is not a number" in joined
    assert "Estimates, recomputed from your own assumptions" in text


def test_a_mock_is_an_nbgrader_assignment_whose_rubric_a_person_scores(tmp_path, capsys):
    import shutil
    from types import SimpleNamespace

    from curriculum.course import Course
    from curriculum.mock.session import rubric_grade_id
    from curriculum.release import build_release

    root = tmp_path / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(Course.locate().root / "nbgrader_config.py", root / "nbgrader_config.py")
    assert main(["mock", "fraud", "--assignment", str(root / "source")]) == 0
    assert "formgrader" in capsys.readouterr().out
    assert main(["mock", "fraud", "--assignment", str(root / "source")]) == 2, "never overwrites"
    assert "exists" in capsys.readouterr().err
    assert main(["mock", "fraud", "--assignment", str(tmp_path / "nowhere")]) == 2

    released = build_release(Course(root), SimpleNamespace(id="mock-fraud"), tmp_path / "out")
    notebook = nbformat.read(released / "mock-fraud.ipynb", as_version=4)
    graded = [c.metadata.get("nbgrader", {}) for c in notebook.cells]
    tasks = [g for g in graded if g.get("task")]
    assert [t["grade_id"] for t in tasks] == [rubric_grade_id(d) for d in RUBRIC]
    assert sum(t["points"] for t in tasks) == 3 * len(RUBRIC)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert "record='mock-record.json'" in first.source, "the record stays next to the notebook"
