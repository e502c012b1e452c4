"""Day 1: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each answer is the reference solution with one plausible mistake, so a lost point can only come
from that mistake.
"""

from __future__ import annotations

from curriculum.syllabus import get_day

from .conftest import answer_variant, grade_students, learner_notebook

DAY = get_day("day1")
SPEC = DAY.notebook("design_practice.ipynb")


def variant(course, grade_id: str, old: str, new: str) -> str:
    return answer_variant(course, DAY, SPEC, grade_id, (old, new))


# the reference's card-velocity decision, and the same with Kafka and another reason
FLINK = (
    '"card_velocity": {"layer": "stream_processing", "tool": "Apache Flink",\n'
    + " " * 22
    + '"why": "windowed counts over the payment stream, updated per event"}'
)


def kafka(why: str) -> str:
    return FLINK.replace("Apache Flink", "Apache Kafka").replace(
        "windowed counts over the payment stream, updated per event", why
    )


# question -> (test cell, [(mistake, old text, new text)], [(honest alternative, old, new)])
CASES = {
    "experiment_power": (
        "experiment_power_test",
        [
            (
                "a one-sided test",
                "z = norm.ppf(1 - alpha / 2) + norm.ppf(power)",
                "z = norm.ppf(1 - alpha) + norm.ppf(power)",
            ),
            (
                "the lift taken as absolute",
                "p1, p2 = baseline_rate, baseline_rate * (1 + relative_lift)",
                "p1, p2 = baseline_rate, baseline_rate + relative_lift",
            ),
            (
                "the users of both arms split in two",
                "/ (p2 - p1) ** 2)",
                "/ (p2 - p1) ** 2 / 2)",
            ),
            (
                "power forgotten",
                "z = norm.ppf(1 - alpha / 2) + norm.ppf(power)",
                "z = norm.ppf(1 - alpha / 2)",
            ),
        ],
        [
            (
                "Cohen's h (the arcsine transform statsmodels uses)",
                "    return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2)",
                "    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))\n"
                "    return math.ceil(2 * (z / h) ** 2)",
            ),
            (
                "the variance pooled under the null",
                "    return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2)",
                "    pooled = (p1 + p2) / 2\n"
                "    a = norm.ppf(1 - alpha / 2) * math.sqrt(2 * pooled * (1 - pooled))\n"
                "    b = norm.ppf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))\n"
                "    return math.ceil((a + b) ** 2 / (p2 - p1) ** 2)",
            ),
        ],
    ),
    "loss_choice": (
        "loss_choice_test",
        [
            (
                "squared error for a 90th percentile",
                '"eta_p90": "pinball"',
                '"eta_p90": "squared_error"',
            ),
            (
                "the hinge loss for an auction's probability",
                '"ctr_auction": "log_loss"',
                '"ctr_auction": "hinge"',
            ),
            (
                "a pointwise regression of the grades for NDCG",
                '"search_ranking": "lambdarank"',
                '"search_ranking": "squared_error"',
            ),
        ],
        [
            ("Huber for the median quote", '"eta_quote": "absolute_error"', '"eta_quote": "huber"'),
            (
                "BPR for retrieval",
                '"candidate_retrieval": "sampled_softmax"',
                '"candidate_retrieval": "bpr"',
            ),
            (
                "a Poisson regression of watch seconds",
                '"watch_time_ranker": "weighted_log_loss"',
                '"watch_time_ranker": "poisson"',
            ),
        ],
    ),
    "data_handling": (
        "data_handling_test",
        [
            (
                "a minute-level location trace as a feature",
                '"gps_trace": "coarsen",',
                '"gps_trace": "use",',
            ),
            (
                "ethnic origin as a ranking feature",
                '"ethnicity": "audit_only",',
                '"ethnicity": "use",',
            ),
            (
                "purchases dropped in the name of privacy",
                '"ticket_purchases": "use",',
                '"ticket_purchases": "drop",',
            ),
        ],
        [
            ("no location at all", '"gps_trace": "coarsen",', '"gps_trace": "drop",'),
            (
                "ethnic origin not even for the audit",
                '"ethnicity": "audit_only",',
                '"ethnicity": "drop",',
            ),
        ],
    ),
    "failure_modes": (
        "failure_modes_test",
        [
            (
                "retrain, whatever broke",
                '"store_timeouts": {"detect": "dependency_latency", "respond": "default_features"}',
                '"store_timeouts": {"detect": "dependency_latency", "respond": "retrain"}',
            ),
            (
                "score drift as the alarm for stale features",
                '"nightly_job_failed": {"detect": "feature_freshness", "respond": "last_good"}',
                '"nightly_job_failed": {"detect": "prediction_drift", "respond": "last_good"}',
            ),
            (
                "a rollback for a feature store outage",
                '"store_timeouts": {"detect": "dependency_latency", "respond": "default_features"}',
                '"store_timeouts": {"detect": "dependency_latency", "respond": "rollback"}',
            ),
            (
                "concept drift left to the score distribution",
                '"concept_drift": {"detect": "label_metrics", "respond": "retrain"}',
                '"concept_drift": {"detect": "prediction_drift", "respond": "retrain"}',
            ),
        ],
        [
            (
                "a fallback model while the store times out",
                '"store_timeouts": {"detect": "dependency_latency", "respond": "default_features"}',
                '"store_timeouts": {"detect": "dependency_latency", "respond": "fallback_model"}',
            ),
            (
                "a bad push caught by its decision rate, a spike shed to a fallback",
                '"bad_push": {"detect": "canary_guardrails", "respond": "rollback"},\n'
                '    "traffic_spike": {"detect": "capacity", "respond": "autoscale"}',
                '"bad_push": {"detect": "prediction_drift", "respond": "rollback"},\n'
                '    "traffic_spike": {"detect": "dependency_latency", '
                '"respond": "fallback_model"}',
            ),
        ],
    ),
    "canary_verdict": (
        "canary_verdict_test",
        [
            (
                "not significantly worse taken as safe: no wait",
                '    if p_canary - p_control + z * se < tolerance:\n        return "promote"\n'
                '    return "wait"',
                '    return "promote"',
            ),
            (
                "min_requests ignored",
                '    if canary_requests < min_requests:\n        return "wait"\n',
                "",
            ),
            (
                "promoted only when better than the control (superiority, not non-inferiority)",
                "    if p_canary - p_control + z * se < tolerance:",
                "    if p_canary - p_control + z * se < 0:",
            ),
        ],
        [
            (
                "the standard error pooled over both arms",
                "    se = math.sqrt(p_control * (1 - p_control) / control_requests + p_canary * "
                "(1 - p_canary) / canary_requests)",
                "    pooled = (control_errors + canary_errors) / "
                "(control_requests + canary_requests)\n"
                "    se = math.sqrt(pooled * (1 - pooled) * "
                "(1 / control_requests + 1 / canary_requests))",
            ),
        ],
    ),
    "randomisation_unit": (
        "randomisation_unit_test",
        [
            (
                "users randomised in a marketplace that shares drivers",
                '"eta_marketplace": "switchback"',
                '"eta_marketplace": "user"',
            ),
            (
                "friends randomised one by one",
                '"friends_feed": "cluster"',
                '"friends_feed": "user"',
            ),
        ],
        [],
    ),
    "framing_drill": (
        "framing_drill_test",
        [
            (
                "labels from today's decline rules",
                '"chargebacks": {"task_type": "binary_classification", "label": "b"}',
                '"chargebacks": {"task_type": "binary_classification", "label": "a"}',
            ),
            (
                "predicts impressions, not clicks",
                '"ad_revenue": {"task_type": "binary_classification", "label": "b"}',
                '"ad_revenue": {"task_type": "binary_classification", "label": "a"}',
            ),
            (
                "routing framed as a yes/no question",
                '"support_routing": {"task_type": "multiclass_classification", "label": "a"}',
                '"support_routing": {"task_type": "binary_classification", "label": "a"}',
            ),
        ],
        [
            (
                "watch time as regression",
                '"video_watch_time": {"task_type": "ranking"',
                '"video_watch_time": {"task_type": "regression"',
            ),
            (
                "watch time as a binary label (watched at least 30 s)",
                '"video_watch_time": {"task_type": "ranking"',
                '"video_watch_time": {"task_type": "binary_classification"',
            ),
        ],
    ),
    "clarifying_questions": (
        "clarifying_questions_test",
        [
            ("latency called functional", '"latency": "non_functional"', '"latency": "functional"'),
            (
                "privacy called functional",
                '"contacts": "non_functional"',
                '"contacts": "functional"',
            ),
        ],
        [],
    ),
    "metric_choice": (
        "metric_choice_test",
        [
            (
                "accuracy for 0.1 % fraud",
                '"offline": ["pr_auc", "recall_at_precision"]',
                '"offline": ["accuracy"]',
            ),
            (
                "ROC-AUC alone for calibrated bidding",
                '"offline": ["log_loss", "normalized_entropy", "calibration_error"]',
                '"offline": ["roc_auc"]',
            ),
            ("RMSE when p95 matters", '"offline": ["mae", "p95_abs_error"]', '"offline": ["rmse"]'),
            (
                "clicks as the online metric of a watch-time goal",
                '"online": "watch_time_per_user"',
                '"online": "clicks"',
            ),
        ],
        [
            (
                "video recs judged by PR-AUC and NDCG",
                '"offline": ["ndcg", "recall_at_k"]',
                '"offline": ["pr_auc", "ndcg"]',
            ),
            (
                "recall at fixed precision alone",
                '"offline": ["pr_auc", "recall_at_precision"]',
                '"offline": ["recall_at_precision"]',
            ),
            (
                "p50 and p95 for ETA",
                '"offline": ["mae", "p95_abs_error"]',
                '"offline": ["p50_abs_error", "p95_abs_error"]',
            ),
            (
                "MAE and pinball loss for ETA (the tail as a high quantile)",
                '"offline": ["mae", "p95_abs_error"]',
                '"offline": ["mae", "pinball_loss"]',
            ),
            (
                "MAE, p95 and the coverage of a P90 for ETA",
                '"offline": ["mae", "p95_abs_error"]',
                '"offline": ["mae", "p95_abs_error", "coverage"]',
            ),
        ],
    ),
    "estimation_functions": (
        "estimation_functions_test",
        [
            ("forgets the peak factor", "/ 86_400 * peak_factor", "/ 86_400"),
            (
                "forgets the replicas",
                "* bytes_per_value * replication / 1e9",
                "* bytes_per_value / 1e9",
            ),
            (
                "rounds replicas to the nearest instead of up",
                "max(1, math.ceil(peak_qps / (qps_per_replica * target_utilisation)))",
                "max(1, round(peak_qps / (qps_per_replica * target_utilisation)))",
            ),
        ],
        [
            ("gibibytes instead of gigabytes", "/ 1e9", "/ 2**30"),
        ],
    ),
    "ml_estimates": (
        "ml_estimates_test",
        [
            (
                "the index counted in bits",
                '"index_gb": {"value": 200_000 * (64 * 4 + SIZING["hnsw_links"] * 4) / 1e9,',
                '"index_gb": {"value": 200_000 * (64 * 32 + SIZING["hnsw_links"] * 32) / 1e9,',
            ),
            (
                "the online store without its replicas",
                '+ SIZING["overhead_bytes"]) * 3 / 1e9,',
                '+ SIZING["overhead_bytes"]) / 1e9,',
            ),
            (
                "candidates forgotten in the scoring load",
                '"scored_per_second": {"value": peak * 500,',
                '"scored_per_second": {"value": peak * 5,',
            ),
            (
                "no assumptions stated",
                '"assumptions": "~350 QPS x 500 candidates = ~175k model evaluations/s"',
                '"assumptions": "..."',
            ),
            (
                "a peak no traffic has: 30x the daily average",
                '"peak_factor": 3,',
                '"peak_factor": 30,',
            ),
            (
                "a peak QPS copied from another product, not from the assumptions",
                '"peak_qps": {"value": peak,',
                '"peak_qps": {"value": 3_000,',
            ),
        ],
        [
            (
                "other sensible assumptions: 2M daily users, peak 5x",
                '"daily_users": 1e6, "views_per_user_per_day": 10, "peak_factor": 3,',
                '"daily_users": 2e6, "views_per_user_per_day": 10, "peak_factor": 5,',
            ),
            (
                "a smaller product: 20M monthly users x 4 visits a month, peak 3x (~93 QPS)",
                '"daily_users": 1e6, "views_per_user_per_day": 10,',
                '"daily_users": 20e6 * 4 / 30, "views_per_user_per_day": 1,',
            ),
        ],
    ),
    "feature_brainstorm": (
        "feature_brainstorm_test",
        [
            # user traits under context ("favourite colour") lose the rubric's point, not this one
            (
                "user features listed again as context",
                '"context": ["hours',
                '"context": ["home city", "median ticket price paid", "device"] or ["hours',
            ),
            (
                "two user features only",
                '"median ticket price paid", "friends on the platform"',
                "",
            ),
        ],
        [
            (
                "time-anchored counts that name tickets and registrations",
                '"registrations so far"',
                '"number of users who registered for this event so far"',
            ),
            (
                "context as the session's entry point and place, in other words than time",
                '"context": ["hours',
                '"context": ["app platform", "referral source of the session", "IP country"]'
                ' or ["hours',
            ),
            (
                "no cross group",
                '    "cross": ["distance from the user\'s current location to the venue",\n'
                '              "friends who bought a ticket for this event so far"],\n',
                "",
            ),
        ],
    ),
    "tools_map": (
        "tools_map_test",
        [
            (
                "MLflow as a serving system",
                '"MLflow": "experiment_tracking"',
                '"MLflow": "serving"',
            ),
            ("Feast as an orchestrator", '"Feast": "feature_store"', '"Feast": "orchestration"'),
            (
                "Kafka as an orchestrator",
                '"Apache Kafka": "stream_processing"',
                '"Apache Kafka": "orchestration"',
            ),
        ],
        [
            ("Ray for serving (Ray Serve)", '"Ray": "training"', '"Ray": "serving"'),
            (
                "MLflow's Model Registry",
                '"MLflow": "experiment_tracking"',
                '"MLflow": "model_registry"',
            ),
        ],
    ),
    "tool_decisions": (
        "tool_decisions_test",
        [
            (
                "an in-process library for a catalogue with upserts and filters",
                '"catalogue_ann": {"layer": "vector_search", "tool": "Qdrant",',
                '"catalogue_ann": {"layer": "vector_search", "tool": "FAISS",',
            ),
            (
                "a nightly orchestrator for a per-event streaming count",
                '"card_velocity": {"layer": "stream_processing", "tool": "Apache Flink",',
                '"card_velocity": {"layer": "orchestration", "tool": "Airflow",',
            ),
            (
                "Kafka because its topics carry the payments (it moves them, nothing counts them)",
                FLINK,
                kafka("the payments already flow through Kafka topics"),
            ),
        ],
        [
            (
                "Prefect for the nightly retrain",
                '"nightly_retrain": {"layer": "orchestration", "tool": "Airflow",',
                '"nightly_retrain": {"layer": "orchestration", "tool": "Prefect",',
            ),
            (
                "Tecton's streaming aggregation for the per-event card count",
                '"card_velocity": {"layer": "stream_processing", "tool": "Apache Flink",',
                '"card_velocity": {"layer": "feature_store", "tool": "Tecton",',
            ),
            (
                "a windowed count in Kafka Streams",
                FLINK,
                kafka("a Kafka Streams windowed count per card, updated per event"),
            ),
            (
                "a vector database for the small index too",
                '"small_ann": {"layer": "vector_search", "tool": "FAISS",',
                '"small_ann": {"layer": "vector_search", "tool": "Milvus",',
            ),
        ],
    ),
    "leakage_spotting": (
        "leakage_spotting_test",
        [
            ("misses the final fare", '"final_fare",', ""),
            (
                "marks a past aggregate as leaking",
                '"rider_rating_of_trip",',
                '"rider_rating_of_trip", "rider_past_cancel_rate",',
            ),
        ],
        [],
    ),
    "practice_design": (
        "practice_design_test",
        [
            ("a random split", 'split="time"', 'split="random"'),
            (
                "a choice with nothing it was chosen against",
                'rejected="matrix factorisation of users x events",',
                'rejected="",',
            ),
            (
                "a model budget longer than the page",
                "latency_budget_ms=80",
                "latency_budget_ms=500",
            ),
            (
                "no context features",
                'Feature("day of week and hour of the request", "context")',
                'Feature("day of week and hour of the request", "item")',
            ),
            (
                "placeholder text for the business goal",
                'business_goal="Sell more tickets: registrations from the home-page '
                'recommendations"',
                'business_goal="..."',
            ),
            (
                "a business goal that says nothing",
                'business_goal="Sell more tickets: registrations from the home-page '
                'recommendations"',
                'business_goal="blah 1"',
            ),
            (
                "no word on feedback loops",
                'feedback_loops="popular events get shown more: keep 5 % exploration traffic"',
                'feedback_loops=""',
            ),
            (
                "no item features",
                'Feature("days until the event", "item"),\n'
                '            Feature("registrations so far", "item"),',
                "",
            ),
        ],
        [
            (
                "a registration classifier used to rank, judged by NDCG",
                'task_type="ranking"',
                'task_type="binary_classification"',
            ),
            (
                "lists precomputed nightly and served from a cache (batch serving)",
                'mode="online",',
                'mode="batch",',
            ),
            (
                "a pointwise ranker judged by PR-AUC too",
                'offline_metrics=["ndcg", "recall_at_k"]',
                'offline_metrics=["pr_auc", "ndcg"]',
            ),
        ],
    ),
}


def _learners(course) -> dict[str, tuple[dict[str, str], list[tuple[str, str, str]]]]:
    """The cases dealt into learners: the k-th wrong (or honest) answer of every question goes to
    one learner, so a few notebooks prove every case. The questions are graded by their own test
    cells and read nothing of each other, so the mistakes of one learner cannot interact.

    Returns learner -> (answers by question, [(kind, question, case)]).
    """
    learners: dict[str, tuple[dict[str, str], list[tuple[str, str, str]]]] = {}
    for question, (_, wrong, honest) in CASES.items():
        for kind, cases in (("wrong", wrong), ("honest", honest)):
            for k, (case, old, new) in enumerate(cases):
                answers, named = learners.setdefault(f"{kind}{k}", ({}, []))
                answers[question] = variant(course, question, old, new)
                named.append((kind, question, case))
    return learners


def test_wrong_answers_lose_points_and_alternatives_do_not(course, tmp_path):
    learners = _learners(course)
    students = {
        name: {SPEC.filename: learner_notebook(course, DAY, SPEC, answers)}
        for name, (answers, _) in learners.items()
    }
    grades = grade_students(course, DAY, students, tmp_path)
    for name, (_, cases) in learners.items():
        grade = grades[name][SPEC.filename]
        scored = {q.grade_id: q for q in grade.questions}
        for kind, question, case in cases:
            q = scored[CASES[question][0]]
            if kind == "wrong":
                assert q.points == 0, f"'{case}' still earns points on {q.grade_id}"
                assert q.message and "Error" in q.message and q.message.split(":", 1)[1].strip(), (
                    f"'{case}' fails {q.grade_id} without a hint: {q.message!r}"
                )
            else:
                assert q.points == q.max_points, f"honest '{case}' loses points: {q.message}"
