"""Day 1: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each answer is the reference solution with one plausible mistake, so a lost point can only come
from that mistake.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import answer_variant, grade_students, learner_notebook

DAY = get_day("day1")
SPEC = DAY.notebook("design_practice.ipynb")


def variant(course, grade_id: str, old: str, new: str) -> str:
    return answer_variant(course, DAY, SPEC, grade_id, (old, new))


# question -> (test cell, [(mistake, old text, new text)], [(honest alternative, old, new)])
CASES = {
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
                '"index_gb": {"value": 200_000 * (64 * 4 + 32 * 4) / 1e9,',
                '"index_gb": {"value": 200_000 * (64 * 32 + 32 * 32) / 1e9,',
            ),
            (
                "the online store without its replicas",
                '"online_store_gb": {"value": 20e6 * (50 * 4 + 16 + 64) * 3 / 1e9,',
                '"online_store_gb": {"value": 20e6 * (50 * 4 + 16 + 64) / 1e9,',
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
        ],
        [
            (
                "other sensible assumptions: 2M daily users, peak 5x",
                "peak = 1e6 * 10 / 86_400 * 3",
                "peak = 2e6 * 10 / 86_400 * 5",
            ),
        ],
    ),
    "feature_brainstorm": (
        "feature_brainstorm_test",
        [
            (
                "context that is not about the moment",
                '"context": ["hours',
                '"context": ["favourite colour", "age group", "number of siblings"] or ["hours',
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
        ],
        [
            (
                "Prefect for the nightly retrain",
                '"nightly_retrain": {"layer": "orchestration", "tool": "Airflow",',
                '"nightly_retrain": {"layer": "orchestration", "tool": "Prefect",',
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
                "a pointwise ranker judged by PR-AUC too",
                'offline_metrics=["ndcg", "recall_at_k"]',
                'offline_metrics=["pr_auc", "ndcg"]',
            ),
        ],
    ),
}


@pytest.mark.parametrize("question", list(CASES))
def test_wrong_answers_lose_points_and_alternatives_do_not(course, question, tmp_path):
    test_cell, wrong, honest = CASES[question]
    students = {}
    for i, (_, old, new) in enumerate(wrong):
        code = variant(course, question, old, new)
        students[f"wrong{i}"] = {
            SPEC.filename: learner_notebook(course, DAY, SPEC, {question: code})
        }
    for i, (_, old, new) in enumerate(honest):
        code = variant(course, question, old, new)
        students[f"honest{i}"] = {
            SPEC.filename: learner_notebook(course, DAY, SPEC, {question: code})
        }
    grades = grade_students(course, DAY, students, tmp_path)
    for i, (mistake, _, _) in enumerate(wrong):
        grade = grades[f"wrong{i}"][SPEC.filename]
        points = grade.points()
        assert points[test_cell] == 0, f"'{mistake}' still earns points on {test_cell}"
        message = next(q.message for q in grade.questions if q.grade_id == test_cell)
        assert message and "Error" in message and message.split(":", 1)[1].strip(), (
            f"'{mistake}' fails {test_cell} without a hint: {message!r}"
        )
    for i, (alternative, _, _) in enumerate(honest):
        grade = grades[f"honest{i}"][SPEC.filename]
        q = next(q for q in grade.questions if q.grade_id == test_cell)
        assert q.points == q.max_points, f"honest '{alternative}' loses points: {q.message}"
