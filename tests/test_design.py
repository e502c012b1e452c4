"""Day 1 library: the skeleton, design-document validation, estimates, mlsd skeleton."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from curriculum.cli import main
from curriculum.design.document import (
    OFFLINE_METRICS,
    TASK_TYPES,
    Alternative,
    Data,
    DesignDocument,
    Evaluation,
    Feature,
    FeaturesModel,
    Framing,
    Monitoring,
    Requirements,
    Scope,
    Serving,
)
from curriculum.design.estimates import (
    average_qps,
    bandwidth_bytes_per_second,
    check_estimate,
    fleet_size,
    humanize,
    peak_qps,
    requests_per_month,
    storage_bytes,
)
from curriculum.design.skeleton import SKELETON, skeleton_html, skeleton_markdown, step
from curriculum.syllabus import get_day


def test_skeleton_has_the_seven_steps_in_order_each_complete():
    assert [s.number for s in SKELETON] == list(range(1, 8))
    assert [s.key for s in SKELETON] == [
        "requirements",
        "framing",
        "data",
        "features_model",
        "evaluation",
        "serving",
        "monitoring",
    ]
    for s in SKELETON:
        assert s.questions and s.strong_answer and s.pitfalls, s.key
    assert step("serving").number == 6
    with pytest.raises(KeyError, match="steps: requirements"):
        step("deploy")


def test_markdown_and_html_carry_every_step():
    md, page = skeleton_markdown(), skeleton_html()
    for s in SKELETON:
        assert f"## {s.number}. {s.title}" in md
        assert s.title in page
    assert page.startswith("<!DOCTYPE html>") and "Aminian" in page and "Aminian" in md
    from curriculum.design.skeleton import EXTRAS, TOOLS_STRIP

    for text in (md, page):  # the cards the PDF has: how to use it, time boxes, tools strip
        assert "How to use it" in text and "Production tools" in text
        assert all(name.replace("↔", "") in text.replace("↔", "") for name, _ in EXTRAS)
        assert all(layer in text and "Qdrant" in text for layer, _ in TOOLS_STRIP)


def good_document() -> DesignDocument:
    return DesignDocument(
        prompt="Recommend events to users of an event platform",
        requirements=Requirements("More ticket sales", "10M DAU, 2k QPS peak", 0.02),
        framing=Framing(
            "P(user registers | user, event)",
            "binary_classification",
            ["user", "event", "context"],
            "a ranked list of events",
        ),
        data=Data(["impressions", "registrations"], "registered within 7 days", "7 days", "time"),
        features_model=FeaturesModel(
            [
                Feature("user's past categories", "user"),
                Feature("event popularity", "item"),
                Feature("distance to event", "context"),
                Feature("friends attending", "cross"),
            ],
            "most popular nearby",
            "gradient-boosted trees, then a two-tower retriever",
        ),
        evaluation=Evaluation(["pr_auc", "log_loss"], ["registrations per user"], "2-week A/B"),
        serving=Serving("online", 100, "2k QPS", "popular events nearby"),
        monitoring=Monitoring(
            ["feature drift", "daily registrations"],
            "weekly",
            "popular events shown more: explore 5%",
        ),
        scope=Scope(["the home feed's event list"], ["search", "ticket pricing"]),
        alternatives=[
            Alternative("boosted trees", "a deep network", "tabular features, easy to debug")
        ],
    )


def test_a_good_document_has_no_findings():
    assert good_document().validate() == []


def _with(change):
    doc = good_document()
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "step_field", "words"),
    [
        (
            lambda d: setattr(d.requirements, "business_goal", ""),
            "requirements.business_goal",
            "business goal",
        ),
        (lambda d: setattr(d.requirements, "scale", ""), "requirements.scale", "numbers"),
        (lambda d: setattr(d.scope, "in_scope", []), "scope.in_scope", "covers"),
        (
            lambda d: (
                setattr(d.requirements, "constraints", ["the page loads in under 150 ms"]),
                setattr(d.serving, "latency_budget_ms", 300),
            ),
            "serving.latency_budget_ms",
            "at most 150 ms",
        ),
        (lambda d: setattr(d.scope, "out_of_scope", ["..."]), "scope.out_of_scope", "leaves out"),
        (lambda d: setattr(d, "alternatives", []), "alternatives.alternatives", "rejected"),
        (
            lambda d: setattr(d, "alternatives", [Alternative("boosted trees", "", "fast")]),
            "alternatives.alternatives",
            "rejected",
        ),
        (
            lambda d: setattr(d.framing, "task_type", "clustering"),
            "framing.task_type",
            "not one of",
        ),
        (lambda d: setattr(d.framing, "ml_objective", ""), "framing.ml_objective", "predicts"),
        (lambda d: setattr(d.data, "label", ""), "data.label", "label"),
        (lambda d: setattr(d.data, "label_delay", ""), "data.label_delay", "known"),
        (lambda d: setattr(d.data, "split", "random"), "data.split", "split by time"),
        (
            lambda d: d.features_model.features.append(
                Feature("registered later", "user", "after")
            ),
            "features_model.features",
            "leaks the label",
        ),
        (
            lambda d: setattr(d.features_model, "features", [Feature("popularity", "item")]),
            "features_model.features",
            "No user or context",
        ),
        (
            lambda d: setattr(d.features_model, "features", [Feature("x", "users")]),
            "features_model.features",
            "not one of",
        ),
        (
            lambda d: setattr(d.features_model, "baseline", ""),
            "features_model.baseline",
            "baseline",
        ),
        (
            lambda d: setattr(d.evaluation, "offline_metrics", ["mae"]),
            "evaluation.offline_metrics",
            "does not fit binary_classification",
        ),
        (
            lambda d: setattr(d.requirements, "business_goal", "..."),
            "requirements.business_goal",
            "business goal",
        ),
        (lambda d: setattr(d.framing, "output", " TODO "), "framing.output", "outputs"),
        (lambda d: setattr(d.data, "sources", ["...", "tbd"]), "data.sources", "training"),
        (
            lambda d: d.features_model.features.append(Feature("...", "user")),
            "features_model.features",
            "no description",
        ),
        (
            lambda d: setattr(
                d.features_model,
                "features",
                [f for f in d.features_model.features if f.group != "item"],
            ),
            "features_model.features",
            "No item",
        ),
        (
            lambda d: setattr(d.monitoring, "feedback_loops", ""),
            "monitoring.feedback_loops",
            "feedback",
        ),
        (
            lambda d: setattr(d.evaluation, "offline_metrics", ["accuracy"]),
            "evaluation.offline_metrics",
            "2.0% positives",
        ),
        (
            lambda d: setattr(d.evaluation, "offline_metrics", ["auc_pr"]),
            "evaluation.offline_metrics",
            "Unknown metric",
        ),
        (
            lambda d: setattr(d.evaluation, "online_metrics", []),
            "evaluation.online_metrics",
            "online",
        ),
        (
            lambda d: setattr(d.serving, "latency_budget_ms", None),
            "serving.latency_budget_ms",
            "latency budget",
        ),
        (lambda d: setattr(d.serving, "mode", "realtime"), "serving.mode", "not one of"),
        (lambda d: setattr(d.serving, "fallback", ""), "serving.fallback", "model fails"),
        (lambda d: setattr(d.monitoring, "signals", []), "monitoring.signals", "monitor"),
        (lambda d: setattr(d.monitoring, "retraining", ""), "monitoring.retraining", "retrained"),
    ],
)
def test_each_finding_is_triggered_by_a_minimal_bad_document(change, step_field, words):
    findings = _with(change).validate()
    assert findings, "expected a finding"
    assert any(f"{f.step}.{f.field}" == step_field and words in f.message for f in findings), [
        str(f) for f in findings
    ]


@pytest.mark.parametrize(
    ("task", "metrics"),
    [
        ("binary_classification", ["ndcg", "pr_auc"]),  # a classifier whose scores rank a list
        ("binary_classification", ["map", "recall_at_k", "catalogue_coverage"]),
        ("ranking", ["pr_auc", "ndcg"]),  # a pointwise ranker judged as a classifier too
        ("ranking", ["log_loss", "calibration_error", "mrr"]),
    ],
)
def test_ranking_metrics_judge_a_list_whatever_loss_trained_the_scorer(task, metrics):
    def change(d):
        d.framing.task_type = task
        d.evaluation.offline_metrics = metrics

    assert _with(change).validate() == []


@pytest.mark.parametrize(
    "metrics", [["mae", "coverage"], ["mae", "pinball_loss", "coverage"], ["p95_abs_error"]]
)
def test_a_regression_judges_its_tail_by_quantile_metrics_too(metrics):
    """Coverage and pinball loss judge a predicted quantile beside the mean: one metric map for
    every day (Day 2 grades a P90 ETA's coverage)."""

    def change(d):
        d.framing.task_type = "regression"
        d.evaluation.offline_metrics = metrics

    assert _with(change).validate() == []


@pytest.mark.parametrize("text", ["a", "1M users", "p95 < 50 ms", "none of the above is cached"])
def test_short_real_answers_are_not_placeholders(text):
    from curriculum.design.document import is_placeholder

    assert not is_placeholder(text)
    assert is_placeholder(...) and is_placeholder(["", "…"]) and is_placeholder(" -- ")


def test_batch_system_needs_no_latency_budget():
    doc = _with(lambda d: setattr(d.serving, "mode", "batch"))
    doc.serving.latency_budget_ms = None
    assert doc.validate() == []


def test_every_task_type_has_fitting_metrics():
    for task in TASK_TYPES:
        assert any(task in fits for fits in OFFLINE_METRICS.values()), task
    assert copy.deepcopy(good_document()) == good_document()


def test_estimates():
    assert average_qps(8_640_000, 10) == pytest.approx(1_000)
    assert peak_qps(8_640_000, 10, peak_factor=3) == pytest.approx(3_000)
    assert requests_per_month(4_000) == pytest.approx(10.368e9)
    assert humanize(requests_per_month(4_000)) == "10.4 billion"
    assert storage_bytes(1e9, 100, replication=3) == pytest.approx(3e11)
    assert bandwidth_bytes_per_second(2_000, 5_000) == pytest.approx(1e7)
    assert fleet_size(3_000, 500, target_utilisation=0.6) == 10
    assert fleet_size(0, 500) == 1
    for bad in (
        lambda: average_qps(-1, 3),
        lambda: peak_qps(10, 1, peak_factor=0.5),
        lambda: fleet_size(10, 5, target_utilisation=1.5),
        lambda: storage_bytes(1, "x"),
    ):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize(
    ("answer", "ok", "words"),
    [
        (4_000, True, "within 0%"),
        (4_800, True, "within 20%"),
        (5_200, False, "30% too high"),
        (12_000, False, "3× too high"),
        (3_000, True, "within 25%"),
        (2_000, False, "2× too low"),
        (-5, False, "positive"),
        ("lots", False, "expected a number"),
    ],
)
def test_check_estimate_says_which_way_and_how_much(answer, ok, words):
    verdict = check_estimate(answer, 4_000, what="peak QPS")
    assert verdict.ok is ok
    assert words in verdict.message, verdict.message


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_skeleton_command_in_every_format(fmt, tmp_path, capsys):
    out = tmp_path / f"skeleton.{fmt}"
    assert main(["skeleton", "--format", fmt, "--output", str(out)]) == 0
    if fmt == "pdf":
        reader = PdfReader(out)
        assert len(reader.pages) == 1, "the handout must fit one page"
        text = reader.pages[0].extract_text()
        for s in SKELETON:
            assert s.title in text
    else:
        assert "Frame the problem as an ML task" in out.read_text()


def test_skeleton_markdown_to_stdout_and_pdf_needs_a_file(capsys):
    assert main(["skeleton"]) == 0
    assert capsys.readouterr().out.startswith("# ML system design")
    assert main(["skeleton", "--format", "pdf"]) == 2
    assert "--output" in capsys.readouterr().err


def test_text_that_says_nothing_is_refused_in_every_field():
    """Every text field answered 'blah 1' (or one text pasted everywhere) is not a design: each
    field is named, while short real answers keep passing."""
    from curriculum.design.document import DesignDocument

    fields = [(part, name) for part, name, _ in DesignDocument._SUBSTANCE]

    def blah(d):
        for i, (part, name) in enumerate(fields):
            setattr(getattr(d, part), name, f"blah {i}")

    named = {(f.step, f.field) for f in _with(blah).validate()}
    assert set(fields) <= named, set(fields) - named

    def pasted(d):
        for part, name in fields:
            setattr(getattr(d, part), name, "we will use machine learning for this")

    findings = [str(f) for f in _with(pasted).validate()]
    assert any("same words answer" in f for f in findings), findings

    def no_number(d):
        d.requirements.scale = "a great many users at peak"

    assert any(f.field == "scale" for f in _with(no_number).validate())
    for unitless in ("10k", "~2 million", "3.5B"):  # 10k of what?
        doc = _with(lambda d, text=unitless: setattr(d.requirements, "scale", text))
        assert [f.field for f in doc.validate()] == ["scale"], unitless
    for with_units in ("100 QPS", "10M DAU", "2k requests/s", "50 M products"):
        doc = _with(lambda d, text=with_units: setattr(d.requirements, "scale", text))
        assert doc.validate() == [], with_units

    def terse(d):  # short and real: a label, a fallback, a model
        d.data.label = "trip duration"
        d.serving.fallback = "routing ETA"
        d.features_model.model = "boosted trees"

    assert _with(terse).validate() == []


EVENTS = {  # the case's data, as a lab would hold it
    "events": pd.DataFrame(columns=["event_id", "category", "starts_at", "venue_lat", "venue_lng"]),
    "registrations": ["user_id", "event_id", "registered_at"],
}


def _grounded(d):
    sources = [
        "registrations.event_id joined to events.category, per user",
        "count of registrations per event_id, last 7 days",
        "venue_lat, venue_lng and the user's city",
        "friend graph from the social team's service, read at request time",
    ]
    for feat, source in zip(d.features_model.features, sources, strict=True):
        feat.source = source
    d.data.label_source = "registrations.registered_at within 7 days of the impression"


def test_sources_grounded_in_the_case_data_or_argued_pass():
    """Columns named with or without their table (any case), or new data said how it is
    collected: no finding, and validate(data=...) agrees with grounding(...)."""
    doc = _with(_grounded)
    assert doc.grounding(EVENTS) == [] and doc.validate(data=EVENTS) == []
    doc.features_model.features[0].source = "CATEGORY of the events the user registered for"
    assert doc.grounding(EVENTS) == []
    doc.features_model.features[2].source = "e.g. distance"  # "e.g": not a table
    found = doc.grounding(EVENTS)  # three words and no column: too little to say how
    assert len(found) == 1 and "'distance to event'" in found[0].message, found
    doc.features_model.features[2].source = "geocoded by the venue team when an event is listed"
    assert doc.grounding(EVENTS) == []
    doc.features_model.features[2].source = ["events.venue_lat", "events.venue_lng"]  # a list
    doc.data.label_source = ("registrations.registered_at",)
    assert doc.grounding(EVENTS) == []
    doc.features_model.features[2].source = ["events.venue_lat", "events.venue_city"]
    assert "no events.venue_city" in doc.grounding(EVENTS)[0].message
    doc.features_model.features[2].source = []
    assert "Say where 'distance to event'" in doc.grounding(EVENTS)[0].message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: setattr(d.features_model.features[1], "source", ""), "features", "Say where"),
        (lambda d: setattr(d.features_model.features[1], "source", "TBD"), "features", "Say where"),
        (
            lambda d: setattr(d.features_model.features[1], "source", "events.ticket_price"),
            "features",
            "no events.ticket_price",
        ),
        (  # a real column beside an invented one is still a claim about data that is not there
            lambda d: setattr(
                d.features_model.features[1], "source", "events.category, events.likes"
            ),
            "features",
            "no events.likes",
        ),
        (
            lambda d: setattr(d.features_model.features[1], "source", "popularity feed"),
            "features",
            "names no column",
        ),
        (lambda d: setattr(d.data, "label_source", ""), "label_source", "Say where the label"),
        (
            lambda d: setattr(d.data, "label_source", "registrations.attended"),
            "label_source",
            "no registrations.attended",
        ),
        (
            lambda d: setattr(d.data, "label_source", "from the logs"),
            "label_source",
            "names no column",
        ),
    ],
)
def test_each_ungrounded_source_is_named(change, field, words):
    doc = _with(_grounded)
    change(doc)
    found = doc.grounding(EVENTS)
    assert len(found) == 1 and found[0].field == field and words in found[0].message, found
    assert "events: event_id, category" in found[0].message  # what the data does have
    assert found[0] in doc.validate(data=EVENTS)
    assert not any(f.field in ("features", "label_source") for f in doc.validate())


def test_grounding_refuses_data_that_is_not_tables_of_columns():
    with pytest.raises(TypeError, match="map each table"):
        good_document().grounding(["event_id"])
    with pytest.raises(TypeError, match=r"data\['events'\]"):
        good_document().grounding({"events": "event_id"})
    with pytest.raises(TypeError, match=r"data\['events'\]"):
        good_document().grounding({"events": 3})


@pytest.mark.parametrize("day", ["day2", "day3", "day4", "day5", "day6", "day7"])
def test_case_data_names_each_lab_table_as_its_notebook_does(day):
    """Each lab day's reference design is grounded in its own case data; no oracle column."""
    from curriculum.design.case_data import case_data

    data = case_data(day)
    assert data and all(cols for cols in data.values())
    assert not any(c.startswith("oracle") for cols in data.values() for c in cols)
    spec = get_day(day).notebooks[0]
    notebook = (Path(__file__).parents[1] / "source" / day / spec.filename).read_text()
    for table in data:
        assert re.search(rf"\b{table}\b[^=\n]*= ", notebook), (day, table)


def test_case_data_names_the_days_it_knows():
    from curriculum.design.case_data import case_data

    with pytest.raises(KeyError, match="day2"):
        case_data("day9")


def test_junk_in_list_items_features_and_short_answers_is_refused():
    """'blah N' in every list item, feature name and short answer is a pasted text, whatever the
    numbers; a short item that honestly repeats (CTR as an online metric and a signal) is not."""

    def blah(d):
        d.data.sources, d.evaluation.online_metrics = ["blah 1"], ["blah 2"]
        d.monitoring.signals, d.scope.in_scope = ["blah 3"], ["blah 4"]
        d.scope.out_of_scope, d.requirements.constraints = ["blah 5"], ["blah 6"]
        d.data.label_delay, d.serving.throughput = "blah 7", "blah 8"
        for i, feat in enumerate(d.features_model.features):
            feat.name = f"blah {9 + i}"

    named = {(f.step, f.field) for f in _with(blah).validate()}
    for field in [
        ("data", "sources"),
        ("evaluation", "online_metrics"),
        ("monitoring", "signals"),
        ("scope", "in_scope"),
        ("scope", "out_of_scope"),
        ("data", "label_delay"),
        ("serving", "throughput"),
        ("features_model", "features"),
    ]:
        assert field in named, field

    def features_only(d):  # junk in the features alone: four names of the same words
        for i, feat in enumerate(d.features_model.features):
            feat.name = f"feature {i}"

    assert {f.field for f in _with(features_only).validate()} == {"features"}

    def repeats(d):
        d.evaluation.online_metrics = ["CTR"]
        d.monitoring.signals = ["CTR", "p99 latency"]

    assert _with(repeats).validate() == []
