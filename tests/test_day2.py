"""Day 2: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers every question like the reference solution except for one plausible
mistake (random split, leaky aggregate, raw duration without the routing ETA, an RMSE model sold
as P90, seconds for milliseconds), so a lost point can only come from that mistake.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import answer_variant, grade_students, reference_learner

DAY = get_day("day2")
SPEC = DAY.notebook("eta.ipynb")
QUALITY = [
    "eta_quality_beats_baseline",
    "eta_quality_half_gap",
    "eta_quality_strong",
    "eta_quality_excellent",
]

SPLIT_BODY = (
    '    cutoff = trips["request_time"].max() - pd.Timedelta(days=test_days)\n'
    '    train = trips[trips["completed_at"] < cutoff]\n'
    '    test = trips[trips["request_time"] >= cutoff]\n'
)
TABLE_BODY = (
    '    cell = make_features(train)["pickup_cell"]\n'
    '    hour = train["request_time"].dt.hour\n'
    '    residual = train["duration_s"] - train["routing_eta_s"]\n'
)
FIT = '    model.fit(features, train["duration_s"] - train["routing_eta_s"])\n'

# (question, test cells that must score 0, mistake, [(old, new), ...] applied to the reference)
WRONG = [
    (
        "make_features",
        ["make_features_test"],
        "day of the week from the day of the month (right in September 2025 only)",
        [("    dow = t.dt.day_of_week\n", "    dow = (t.dt.day - 1) % 7\n")],
    ),
    (
        "time_split",
        ["time_split_test"],
        "a random split",
        [
            (
                SPLIT_BODY,
                (
                    "    from sklearn.model_selection import train_test_split\n"
                    "    train, test = train_test_split(trips, test_size=0.25, random_state=0)\n"
                ),
            )
        ],
    ),
    (
        "time_split",
        ["time_split_test"],
        "trips still running at the cutoff used for training",
        [
            (
                'train = trips[trips["completed_at"] < cutoff]',
                'train = trips[trips["request_time"] < cutoff]',
            )
        ],
    ),
    (
        "residual_table",
        ["residual_table_test"],
        "aggregate computed over all trips",
        [(TABLE_BODY, TABLE_BODY.replace("train", "trips"))],
    ),
    (
        "eta_model",
        ["eta_quality_excellent"],
        "raw duration learned without the routing ETA",
        [
            (
                FIT,
                '    features = features.drop(columns=["routing_eta_s", "route_distance_km"])\n'
                '    model.fit(features, train["duration_s"])\n',
            ),
            (
                "x = add_residual_feature(make_features(trips), trips, table)\n"
                '        return trips["routing_eta_s"].to_numpy() + model.predict(x)',
                "x = add_residual_feature(make_features(trips), trips, table)\n"
                '        return model.predict(x.drop(columns=["routing_eta_s", "route_distance_km"]))',  # noqa: E501
            ),
        ],
    ),
    (
        "p90_model",
        ["p90_model_test"],
        "an RMSE-optimal model reported as P90",
        [
            ('loss="quantile", quantile=0.9,', 'loss="squared_error",'),
            ("return lambda trips: raw(trips) + shift", "return raw"),
        ],
    ),
    (
        "latency_profile",
        ["latency_profile_test"],
        "latency reported in seconds",
        [
            (
                "times.append((time.perf_counter() - start) * 1000.0)",
                "times.append(time.perf_counter() - start)",
            )
        ],
    ),
]
HONEST = [
    (
        "eta_model",
        QUALITY,
        "squared-error residual model",
        [('loss="absolute_error"', 'loss="squared_error"')],
    ),
    (
        "p90_model",
        ["p90_model_test"],
        "uncalibrated, regularised quantile model",
        [("return lambda trips: raw(trips) + shift", "return raw")],
    ),
]


def _learner(course, question, changes):
    """Every code answer as in the reference, `question` changed by `changes`."""
    code = answer_variant(course, DAY, SPEC, question, *changes)
    return reference_learner(course, DAY, SPEC, question, code)


@pytest.mark.parametrize("case", WRONG, ids=[w[2] for w in WRONG])
def test_wrong_answer_loses_points(course, case, tmp_path):
    question, losing, mistake, changes = case
    grade = grade_students(course, DAY, {"w": _learner(course, question, changes)}, tmp_path)["w"][
        SPEC.filename
    ]
    assert not grade.error, f"{mistake}: {grade.error}"
    for test_cell in losing:
        q = next(q for q in grade.questions if q.grade_id == test_cell)
        assert q.points == 0, f"'{mistake}' still earns points on {test_cell}"
        assert "did not finish in time" not in q.message, f"'{mistake}': {q.message}"
        assert q.message.split(":", 1)[-1].strip(), f"'{mistake}' fails {test_cell} without a hint"


@pytest.mark.parametrize("case", HONEST, ids=[h[2] for h in HONEST])
def test_honest_alternative_keeps_full_marks(course, case, tmp_path):
    question, cells, name, changes = case
    grade = grade_students(course, DAY, {"h": _learner(course, question, changes)}, tmp_path)["h"][
        SPEC.filename
    ]
    for q in grade.questions:
        if q.grade_id in cells:
            assert q.points == q.max_points, f"honest '{name}' loses {q.grade_id}: {q.message}"
