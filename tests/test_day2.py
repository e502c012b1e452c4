"""Day 2: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers every question like the reference solution except for a few plausible
mistakes on questions that do not feed each other (random split, a split by position, leaky
aggregate, raw duration without the routing ETA, no place features, an aggregate inside the
model fitted on the notebook's trips, every training day weighted alike after the city changed,
an in-sample aggregate for training rows, an RMSE model sold as P90, an uncalibrated P90, a P90
fitted on all days and calibrated on a random sample, seconds for milliseconds, one timing for
every step, a design feature read from a column the trips do not have), so a lost point can only
come from a mistake: every other autograded cell keeps full marks. Honest alternatives
(squared-error loss, recent trips weighted more or the date as a feature instead of a sliding
window, random folds, one calibration shift for all hours, design sources named by bare column
names or said in words) keep every point. Learners are graded in batches (one nbgrader run each)
to keep the suite fast.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import answer_variant, grade_learners

DAY = get_day("day2")
SPEC = DAY.notebook("eta.ipynb")
QUALITY = [
    "eta_quality_beats_baseline",
    "eta_quality_half_gap",
    "eta_quality_strong",
    "eta_quality_excellent",
]
MODEL = [*QUALITY, "eta_recent_change"]  # every cell graded on the model's fresh predictions

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
WINDOW = (
    '    train = train[train["request_time"] >= train["request_time"].max()'
    " - pd.Timedelta(days=7)]\n"
)
PLACE = str(
    ["pickup_cell", "dropoff_cell", "pickup_lat", "pickup_lng", "dropoff_lat", "dropoff_lng"]
    + ["cell_hour_residual"]
).replace("'", '"')

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
        "a cutoff found by position (assumes the trips come sorted)",
        [
            (
                SPLIT_BODY,
                '    cutoff = trips["request_time"].max() - pd.Timedelta(days=test_days)\n'
                '    at = trips["request_time"].searchsorted(cutoff)  # sorted, surely\n'
                '    train = trips.iloc[:at][trips["completed_at"].iloc[:at] < cutoff]\n'
                "    test = trips.iloc[at:]\n",
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
        "time_split",
        ["time_split_test"],
        "a trip completed exactly at the cutoff kept for training",
        [
            (
                'train = trips[trips["completed_at"] < cutoff]',
                'train = trips[trips["completed_at"] <= cutoff]',
            )
        ],
    ),
    (
        "residual_table",
        ["residual_table_test", *MODEL],  # the model's table too, once the data is withheld
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
        "eta_model",
        ["eta_quality_strong", "eta_quality_excellent"],
        "no place features (time, weather and the route only)",
        [
            (FIT, f"    features = features.drop(columns={PLACE})\n" + FIT),
            (
                '        return trips["routing_eta_s"].to_numpy() + model.predict(x)',
                f"        x = x.drop(columns={PLACE})\n"
                '        return trips["routing_eta_s"].to_numpy() + model.predict(x)',
            ),
        ],
    ),
    (
        "eta_model",
        MODEL,
        "the aggregate inside the model fitted on the notebook's trips (test week included)",
        [
            (
                "    table = residual_table(train)  # for new trips: every training trip\n",
                "    table = residual_table(trips)  # every trip the notebook has\n",
            )
        ],
    ),
    (
        "eta_model",
        ["eta_recent_change"],
        "every training day weighted alike (the city before the closure)",
        [(WINDOW, "")],
    ),
    (
        "p90_model",
        ["p90_model_test"],
        "an uncalibrated quantile model",
        [
            (
                "    return lambda trips: raw(trips) + np.where(weekday_rush(trips), shift[True], "
                "shift[False])",
                "    return raw",
            )
        ],
    ),
    (
        "p90_model",
        ["p90_model_test"],
        "an RMSE-optimal model reported as P90",
        [
            ('loss="quantile", quantile=0.9,', 'loss="squared_error",'),
            (
                "    return lambda trips: raw(trips) + np.where(weekday_rush(trips), shift[True], "
                "shift[False])",
                "    return raw",
            ),
        ],
    ),
    (
        "p90_model",
        ["p90_model_test"],
        "a P90 model fitted on all days and calibrated on a random sample of them",
        [
            (
                '    cut = train["request_time"].max() - pd.Timedelta(days=3)\n'
                '    fit = train[(train["request_time"] >= cut - pd.Timedelta(days=4))'
                ' & (train["request_time"] < cut)]\n'
                '    calibration = train[train["request_time"] >= cut]\n',
                "    calibration = train.sample(frac=0.2, random_state=0)\n"
                "    fit = train.drop(calibration.index)\n",
            )
        ],
    ),
    (
        "latency_profile",
        ["latency_profile_test"],
        "latency reported in seconds",
        [
            (
                "elapsed = (time.perf_counter() - start) * 1000.0",
                "elapsed = time.perf_counter() - start",
            )
        ],
    ),
    (
        "latency_profile",
        ["latency_profile_test"],
        "the whole call timed and reported for every step",
        [
            (
                "        for name, step in steps.items():\n"
                "            start = time.perf_counter()\n"
                "            value = step(value)\n"
                "            elapsed = (time.perf_counter() - start) * 1000.0\n"
                "            times[name].append(elapsed)\n"
                "            total += elapsed\n",
                "        start = time.perf_counter()\n"
                "        for step in steps.values():\n"
                "            value = step(value)\n"
                "        total = (time.perf_counter() - start) * 1000.0\n"
                "        for name in steps:\n"
                "            times[name].append(total)\n",
            )
        ],
    ),
    (
        "residual_table",
        ["residual_oof_test"],
        "training rows filled from a table that holds their own labels",
        [
            (
                "    features = make_features(train)\n"
                '    rank = train["request_time"].rank(method="first").to_numpy() - 1\n',
                "    return add_residual_feature(\n"
                "        make_features(train), train, residual_table(train)\n"
                "    )\n"
                "    features = make_features(train)\n"
                '    rank = train["request_time"].rank(method="first").to_numpy() - 1\n',
            )
        ],
    ),
    (
        "eta_design",
        ["eta_design_grounded"],
        "a feature read from a column the trips do not have",
        [
            (
                'source="sent by the rider app with each ETA request (the lab\'s trips lack it)"',
                'source="trips.app_platform"',
            )
        ],
    ),
]
HONEST = [
    (
        "eta_design",
        ["eta_design_test", "eta_design_grounded"],
        "sources named by bare column names, the label's in other words",
        [
            ('source="trips.weather"', 'source="Weather"'),
            (
                'label_source="trips.duration_s (trips.completed_at - trips.request_time)"',
                'label_source="recorded by the driver app when the trip ends"',
            ),
        ],
    ),
    (
        "eta_design",
        ["eta_design_test"],
        "the tail judged by pinball loss and the P90's coverage, not p95 error",
        [
            (
                'offline_metrics=["mae", "p50_abs_error", "p95_abs_error", "pinball_loss"]',
                'offline_metrics=["mae", "pinball_loss", "coverage"]',
            )
        ],
    ),
    (
        "eta_model",
        MODEL,
        "squared-error residual model",
        [('loss="absolute_error"', 'loss="squared_error"')],
    ),
    (
        "eta_model",
        MODEL,
        "all days, recent trips weighted more",
        [
            (
                WINDOW,
                '    age = train["request_time"].max() - train["request_time"]\n',
            ),
            (FIT, FIT.replace(")\n", ", sample_weight=np.exp(-age / pd.Timedelta(days=3)))\n")),
        ],
    ),
    (
        "eta_model",
        MODEL,
        "all days, the date as a feature",
        [
            (
                WINDOW,
                '    start = train["request_time"].min()\n'
                '    day = lambda trips: (trips["request_time"] - start) / pd.Timedelta(days=1)\n',
            ),
            (
                "    features = training_residual_feature(train)",
                "    features = training_residual_feature(train).assign(day=day(train))",
            ),
            (
                "        x = add_residual_feature(make_features(trips), trips, table)\n",
                "        x = add_residual_feature(make_features(trips), trips, table)"
                ".assign(day=day(trips))\n",
            ),
        ],
    ),
    (
        "residual_table",
        ["residual_table_test", "residual_oof_test"],
        "out-of-fold aggregate with random folds",
        [
            (
                "    fold = (rank * n_folds // len(train)).astype(int)"
                "  # consecutive blocks in time\n",
                "    fold = np.random.default_rng(0).integers(0, n_folds, len(train))\n",
            )
        ],
    ),
    (
        "p90_model",
        ["p90_model_test"],
        "one calibration shift for all hours",
        [
            (
                "    return lambda trips: raw(trips) + np.where(weekday_rush(trips), shift[True], "
                "shift[False])",
                "    one = float(np.quantile(late, 0.9))\n"
                "    return lambda trips: raw(trips) + one",
            )
        ],
    ),
]


# Each learner carries several mistakes on different questions that do not feed each other, so a
# few nbgrader runs prove every case; each batch is one run, batches run on the xdist workers.
BATCHES = {
    "a": [
        [
            "day of the week from the day of the month (right in September 2025 only)",
            "a random split",
            "aggregate computed over all trips",
            "raw duration learned without the routing ETA",
            "an uncalibrated quantile model",
            "latency reported in seconds",
        ],
        [
            "squared-error residual model",
            "out-of-fold aggregate with random folds",
            "one calibration shift for all hours",
        ],
        [
            "every training day weighted alike (the city before the closure)",
            "a cutoff found by position (assumes the trips come sorted)",
            "a P90 model fitted on all days and calibrated on a random sample of them",
            "a feature read from a column the trips do not have",
        ],
    ],
    "b": [
        [
            "trips still running at the cutoff used for training",
            "training rows filled from a table that holds their own labels",
            "no place features (time, weather and the route only)",
            "an RMSE-optimal model reported as P90",
            "the whole call timed and reported for every step",
        ],
        [
            "the aggregate inside the model fitted on the notebook's trips (test week included)",
            "a trip completed exactly at the cutoff kept for training",
        ],
        [
            "all days, recent trips weighted more",
            "the tail judged by pinball loss and the P90's coverage, not p95 error",
        ],
        [
            "all days, the date as a feature",
            "sources named by bare column names, the label's in other words",
        ],
    ],
}


def test_batches_cover_every_case():
    named = [name for learners in BATCHES.values() for cases in learners for name in cases]
    assert sorted(named) == sorted(name for _, _, name, _ in WRONG + HONEST)


@pytest.mark.parametrize("batch", list(BATCHES))
def test_wrong_answers_lose_points_and_honest_ones_keep_them(course, batch, tmp_path):
    cases = {
        name: (question, cells, answer_variant(course, DAY, SPEC, question, *changes))
        for question, cells, name, changes in WRONG + HONEST
    }
    learners = {", ".join(names): {n: cases[n] for n in names} for names in BATCHES[batch]}
    grade_learners(course, DAY, SPEC, learners, {w[2] for w in WRONG}, tmp_path)
