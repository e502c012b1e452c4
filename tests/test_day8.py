"""Day 8: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers like the reference except for the mistakes named in their case (one per
question, chosen not to interact; one case makes two changes to the pipeline that touch different
graded cells). Wrong: an ingest task without retries; the default cache policy (it keys on the
flow run, so nothing is reused across runs); a cache keyed on the date only (a new snapshot is
served stale data); a gate that promotes every new model; a gate on ranking and calibration
that promotes a challenger losing half as many dollars again; an evaluation that never scores the
champion; FastAPI's own validation handler (it echoes NaN and fails with a 500); the latest
version served instead of the champion; features computed from the request alone
(training/serving skew); a retraining storm (a run every morning the drift lasts); a morning's
window that holds the whole day (it looks ahead); a month's window of scores (it dilutes the
season's shift: the first retrain comes weeks late, on the synthetic log and end to end).
Honest: a logistic regression in a scikit-learn pipeline with a cache key function of its own, a
gate on a relative improvement, an endpoint that validates by hand, a PSI on twenty bins with a
counter for the cool-down.

The registry test and the end-to-end test train on dates no other cell uses (22 and 17 Oct), so
a cache keyed on the date alone loses only the pipeline cell (measured: without the blind gate,
that learner keeps registry_gate).
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import grade_cases

DAY = get_day("day8")
SPEC = DAY.notebook("capstone.ipynb")

RETRY = "    @task(retries=2, retry_delay_seconds=0, cache_policy=INPUTS + TASK_SOURCE)\n"
NO_RETRIES = (RETRY, "    @task(cache_policy=INPUTS + TASK_SOURCE)\n")
DEFAULT_CACHE = (RETRY, "    @task(retries=2, retry_delay_seconds=0)\n")
DATE_ONLY = (
    RETRY,
    '    @task(retries=2, retry_delay_seconds=0, cache_policy=(INPUTS - "snapshot") + TASK_SOURCE)\n',  # noqa: E501
)
ALWAYS = (
    "    if champion is None:\n        return True\n",
    "    return True  # the newest model is the best\n",
)
NO_CHAMPION = (
    '                "champion": None if champion is None else metrics(champion, x, y, amount)}',
    '                "champion": None}  # the registry keeps the history',
)
DEFAULT_HANDLER = (
    "    @app.exception_handler(RequestValidationError)\n"
    "    def invalid(request, error):",
    "    def invalid(request, error):  # FastAPI's own handler answers 422s",
)
LATEST = (
    'model = mlflow.sklearn.load_model(f"models:/{model_name}@champion")',
    'model = mlflow.sklearn.load_model(f"models:/{model_name}/latest")  # the newest version',
)
REQUEST_ONLY = (
    "        x = store.features([payment.model_dump()])[columns]",
    "        row = payment.model_dump()\n"
    "        row = {**row, \"user_id\": row[\"card_id\"], \"card_country\": row[\"merchant_country\"]}\n"  # noqa: E501
    "        x = card_features(pd.DataFrame([row]))[columns]  # from the request alone",
)
LOGISTIC = (
    (
        "        model = HistGradientBoostingClassifier(max_iter=100, random_state=0)",
        "        from sklearn.linear_model import LogisticRegression\n"
        "        from sklearn.pipeline import make_pipeline\n"
        "        from sklearn.preprocessing import StandardScaler\n\n"
        "        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))",
    ),
    (
        RETRY,
        "    @task(retries=2, retry_delay_seconds=0,\n"
        '          cache_key_fn=lambda context, p: f"read:{p[\'snapshot\']}:{p[\'as_of\']}")\n',
    ),
)
BLIND_TO_DOLLARS = (
    "    return bool(better and calibrated and affordable)",
    "    return bool(better and calibrated)  # ranking and calibration only",
)
RELATIVE = (
    "    better = challenger[\"pr_auc\"] >= champion[\"pr_auc\"] + 0.01  # ranks fraud better, not noise",  # noqa: E501
    "    better = challenger[\"pr_auc\"] > 1.03 * champion[\"pr_auc\"]  # 3% better",
)
BY_HAND = (
    (
        "class Payment(BaseModel):",
        "class _Unused(BaseModel):",
    ),
    (
        "    @app.post(\"/score\")\n"
        "    def score(payment: Payment):\n"
        "        x = store.features([payment.model_dump()])[columns]",
        "    import json\n"
        "    import math\n\n"
        "    from fastapi import Request\n\n"
        "    def problem(text):\n"
        "        return JSONResponse(status_code=400, content={\"error\": text})\n\n"
        "    @app.post(\"/score\")\n"
        "    async def score(request: Request):\n"
        "        try:\n"
        "            p = json.loads(await request.body())\n"
        "        except ValueError:\n"
        "            return problem(\"the body is not JSON\")\n"
        "        if not isinstance(p, dict) or set(p) != {\"card_id\", \"amount\", \"merchant_country\",\n"  # noqa: E501
        "                                                 \"merchant_category\", \"timestamp\"}:\n"
        "            return problem(\"expected card_id, amount, merchant_country, merchant_category, timestamp\")\n"  # noqa: E501
        "        if type(p[\"card_id\"]) is not int or p[\"card_id\"] < 0:\n"
        "            return problem(\"card_id must be a non-negative integer\")\n"
        "        if type(p[\"amount\"]) not in (int, float) or not math.isfinite(p[\"amount\"]) or p[\"amount\"] <= 0:\n"  # noqa: E501
        "            return problem(\"amount must be a positive number\")\n"
        "        if p[\"merchant_country\"] not in COUNTRIES or p[\"merchant_category\"] not in CATEGORIES:\n"  # noqa: E501
        "            return problem(\"unknown merchant country or category\")\n"
        "        try:\n"
        "            when = pd.Timestamp(p[\"timestamp\"])\n"
        "        except (ValueError, TypeError):\n"
        "            return problem(\"timestamp must be a date and time\")\n"
        "        x = store.features([{**p, \"timestamp\": when}])[columns]",
    ),
)

STORM = (
    "        retrained = alert and (last is None or day - last >= pd.Timedelta(days=cooldown_days))",  # noqa: E501
    "        retrained = alert  # every morning the drift lasts",
)
WHOLE_DAY = (
    "        week = log[(when >= day - pd.Timedelta(days=7)) & (when < day)]  # the morning: before it",  # noqa: E501
    "        week = log[(when >= day - pd.Timedelta(days=7)) & (when < day + pd.Timedelta(days=1))]",  # noqa: E501
)
A_MONTH = (
    "        week = log[(when >= day - pd.Timedelta(days=7)) & (when < day)]  # the morning: before it",  # noqa: E501
    "        week = log[(when >= day - pd.Timedelta(days=30)) & (when < day)]  # the last month",  # noqa: E501
)
TWENTY_BINS = (
    (
        '        value = psi(reference["p_fraud"], week["p_fraud"]) if len(week) else np.nan',
        '        value = psi(reference["p_fraud"], week["p_fraud"], bins=20) if len(week) else np.nan',  # noqa: E501
    ),
    (
        "        retrained = alert and (last is None or day - last >= pd.Timedelta(days=cooldown_days))",  # noqa: E501
        "        quiet = cooldown_days if last is None else (day - last).days\n"
        "        retrained = alert and quiet >= cooldown_days",
    ),
)

WRONG = {  # student -> {case: (question, graded cells that must score 0, change)}
    "no retries nor champion, FastAPI's own handler, a retraining storm": {
        "an ingest task without retries, and an evaluation that never scores the champion": (
            "build_pipeline",
            ["pipeline_retries_and_caches", "registry_gate"],
            NO_RETRIES,
            NO_CHAMPION,
        ),
        "FastAPI's own validation handler": (
            "build_app",
            ["endpoint_serves_champion"],
            DEFAULT_HANDLER,
        ),
        "a retraining storm": ("run_monitoring", ["monitoring_loop"], STORM),
    },
    "the default cache policy, always promote, the latest version, the whole day": {
        "the default cache policy": (
            "build_pipeline",
            ["pipeline_retries_and_caches"],
            DEFAULT_CACHE,
        ),
        "a gate that promotes every new model": ("promotion_gate", ["registry_gate"], ALWAYS),
        "the latest version served": ("build_app", ["endpoint_serves_champion"], LATEST),
        "a morning's window that holds the whole day": (
            "run_monitoring",
            ["monitoring_loop"],
            WHOLE_DAY,
        ),
    },
    "a cache keyed on the date, a gate blind to dollars, the request alone, a month's window": {
        "a cache keyed on the date only": (
            "build_pipeline",
            ["pipeline_retries_and_caches"],
            DATE_ONLY,
        ),
        "a gate blind to dollars": ("promotion_gate", ["registry_gate"], BLIND_TO_DOLLARS),
        "a month's window of scores": (
            "run_monitoring",
            ["monitoring_loop", "loop_end_to_end"],
            A_MONTH,
        ),
        "features from the request alone": (
            "build_app",
            ["endpoint_serves_champion"],
            REQUEST_ONLY,
        ),
    },
}
HONEST = {
    "logistic regression with its own cache key, a relative gate, validation by hand": {
        "a logistic regression with its own cache key": (
            "build_pipeline",
            ["pipeline_retries_and_caches", "registry_gate"],
            *LOGISTIC,
        ),
        "a gate on a relative improvement": ("promotion_gate", ["registry_gate"], RELATIVE),
        "an endpoint that validates by hand": (
            "build_app",
            ["endpoint_serves_champion"],
            *BY_HAND,
        ),
        "twenty bins and a counter for the cool-down": (
            "run_monitoring",
            ["monitoring_loop"],
            *TWENTY_BINS,
        ),
    },
}
LEARNERS = {**WRONG, **HONEST}
BATCHES = {  # two grading runs of two learners each, so that xdist can run them side by side
    "a": list(LEARNERS)[:2],
    "b": list(LEARNERS)[2:],
}


def test_batches_cover_every_learner():
    assert sorted(sum(BATCHES.values(), [])) == sorted(LEARNERS)


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_wrong_answers_lose_points_and_honest_ones_keep_them(batch, course, tmp_path):
    groups = {name: LEARNERS[name] for name in BATCHES[batch]}
    grade_cases(course, DAY, SPEC, groups, WRONG, tmp_path)
