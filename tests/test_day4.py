"""Day 4: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers like the reference except for the mistakes named in their case; the cases of
one learner touch disjoint graded cells, so a lost point can only come from the mistake it tests.
Wrong: a random split on time-ordered logs; historical CTR that counts the current impression or
the future, or ignores the prior; NE divided by the wrong entropy; bucket contamination averaged
over distinct values; a downsampled model used without recalibration; a model fed only stale
features; a model never recalibrated; batch rows stamped with the day they describe; a feature join
on the key without time; a long-lived online store read without a freshness check (Feast serves
every key's last value however old), or one that drops a value exactly one TTL old; an on-demand
smoothed CTR that loses the prior for a creative never shown, or reads its constants from outside
the function (Feast rebuilds it from its source); lookup latency reported in seconds; a model that
reads the notebook's log instead of the one it is served; a nightly batch usable on the day it
describes; a model without position; stale features recalibrated on yesterday's clicks; a hashed-id
logistic regression without historical CTRs; a model that knows the user's history but not the ad's
(calibrated over the week, not by advertiser; stale features misprice advertisers too);
downsampling that renumbers the rows; a correction by segment that scales the probability instead
of the odds, drops the pseudo-clicks or matches Series on their index; a design whose label names a
column the impressions do not have. Honest: a correction by segment written with dicts and a
log-odds shift, boosted trees instead of the reference's logistic regression, another smoothing
prior and penalty, other implementations of the point-in-time and the nightly CTR and of bucket
contamination, a design that keeps the campaign budget as a feature.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import (
    answer_variant,
    grade_learners,
    grade_students,
    reference_learner_with,
)

DAY = get_day("day4")
CTR = DAY.notebook("ctr.ipynb")
STORE = DAY.notebook("feature_store.ipynb")
HIST = ["historical_ctr_test", "historical_ctr_no_leakage"]
QUALITY = ["ctr_quality_beats_baseline", "ctr_quality_good", "ctr_quality_strong"]
MODEL = [
    *QUALITY,
    "ctr_freshness",
    "ctr_calibrated",
    "ctr_calibrated_by_slot",
    "ctr_calibrated_new_ads",
    "ctr_calibrated_by_advertiser",
    "ctr_position_effect",
]
# measured: a model trained on tables that see each row's own day learns to trust the CTR
# features (-135 % of the NE gap on the hidden world), misprices the week's clicks and new ads;
# freshness holds, and so do position (one-hot in a linear model) and calibration by slot
NIGHTLY_OFF_BY_ONE = ["nightly_ctr_test", *QUALITY, "ctr_calibrated", "ctr_calibrated_new_ads"]
# measured on the hidden world: without position the week is calibrated but by slot it is
# 0.79 / 1.13 / 1.53 / 1.83 of it (1.83-2.44 on worlds 4005 / 11 / 3 / 12), and the same requests
# score alike at the top and the fourth slot
POSITION_IGNORED = ["ctr_position_effect", "ctr_calibrated_by_slot"]
# measured on the hidden world (seed 12): a model with the user's history but none of the ad's
# closes 19 % of the gap, gains nothing from fresh logs and is 0.53 apart across advertisers
# (0.35-0.66 on seeds 12-16) while its week is calibrated (0.96-1.03); every model that knows the
# ads' history is 0.15-0.29 apart (the reference on seeds 12-21, boosted trees on 12-16)
# and a model fed the training weeks' click history misprices advertisers as the world moves on:
# 0.41 apart on the hidden world, whether or not its level is set on yesterday's clicks
STALE_ADVERTISERS = ["ctr_calibrated_by_advertiser"]
AD_HISTORY_LEFT_OUT = [
    "ctr_quality_good",
    "ctr_quality_strong",
    "ctr_freshness",
    "ctr_calibrated_by_advertiser",
]

RANDOM_SPLIT = '''def time_split(impressions, test_days=7):
    """A random third as test: the classic mistake on time-ordered logs."""
    test = impressions.sample(frac=test_days / 21, random_state=0)
    return impressions.drop(test.index), test
'''
HIST_PANDAS = '''def historical_ctr(impressions, key, prior_ctr, prior_strength):
    """Totals per key up to each timestamp, shifted to exclude that timestamp."""
    df = impressions[[key, "timestamp", "click"]].assign(n=1)
    per_time = df.groupby([key, "timestamp"])[["click", "n"]].sum()
    before = per_time.groupby(level=0).cumsum().groupby(level=0).shift(1, fill_value=0)
    m = df[[key, "timestamp"]].merge(
        before, left_on=[key, "timestamp"], right_index=True, how="left"
    )
    ctr = (m["click"] + prior_strength * prior_ctr) / (m["n"] + prior_strength)
    return pd.Series(ctr.to_numpy(), index=impressions.index)
'''
NIGHTLY_SEARCHSORTED = '''def nightly_ctr(requests, log, key, prior_ctr, prior_strength):
    """Running totals per (key, day); each request finds its key's totals through the day before
    its own with one searchsorted on a combined (key, day) number."""
    codes, _ = pd.factorize(pd.concat([log[key], requests[key]], ignore_index=True))
    log_code, req_code = codes[: len(log)], codes[len(log) :]
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    day = lambda t: (t.dt.floor("D") - epoch).dt.days.to_numpy()
    per_day = pd.DataFrame(
        {"k": log_code, "d": day(log["timestamp"]), "c": log["click"].to_numpy()}
    )
    totals = per_day.groupby(["k", "d"])["c"].agg(["sum", "count"]).groupby(level=0).cumsum()
    level = totals.index.get_level_values
    combined = level(0).to_numpy() * 1_000_000 + level(1).to_numpy()
    wanted = req_code * 1_000_000 + day(requests["timestamp"]) - 1  # through the day before
    at = np.searchsorted(combined, wanted, side="right") - 1
    safe = np.clip(at, 0, None)
    ok = (at >= 0) & (combined[safe] // 1_000_000 == req_code)
    clicks = np.where(ok, totals["sum"].to_numpy(float)[safe], 0.0)
    shown = np.where(ok, totals["count"].to_numpy(float)[safe], 0.0)
    ctr = (clicks + prior_strength * prior_ctr) / (shown + prior_strength)
    return pd.DataFrame({"ctr": ctr, "impressions": shown}, index=requests.index)
'''
CONTAMINATION_BINCOUNT = '''def bucket_contamination(values, n_buckets):
    """Each impression's bucket, then its bucket's size and its own value's count."""
    keys = np.array([str(v) for v in values])
    if keys.size == 0:
        return 0.0
    distinct, value_of = np.unique(keys, return_inverse=True)
    hashes = np.array([murmurhash3_32(v, positive=True) % n_buckets for v in distinct])
    bucket_of = hashes[value_of]
    per_bucket = np.bincount(bucket_of, minlength=n_buckets)[bucket_of]
    per_value = np.bincount(value_of)[value_of]
    return float(np.mean(1 - per_value / per_bucket))
'''
JOIN_ON_KEY = '''def pit_join(entity_df, daily, key, ttl):
    """The latest value of each key, whatever the row's time (a join on the key alone)."""
    latest = daily.sort_values("available_at").groupby(key)[["impressions", "clicks"]].last()
    return entity_df.join(latest, on=key)
'''

# A logistic regression on hashed ids, crosses and tokens, with no historical CTR: it knows an ad
# only by the id it saw in training. Measured on worlds 12 (hidden) / 4005 / 11 / 3: 26 / 3 / 42 /
# 32 % of the NE gap (the reference 57 / 49 / 62 / 46 %), no gain from the fresh log (0.0 %),
# and new ads priced at 0.33 / 0.27 / 0.31 / 0.44x their expected clicks (the reference
# 0.70-1.21x). Without clicks over expected clicks its slot 4 is at 0.66 of the week on the
# hidden world (0.67 allowed)
HASHED_NO_HISTORY = '''def build_ctr_model(train, n_buckets=2**18):
    """A logistic regression on hashed ids, crosses and tokens: no historical CTR at all."""
    hasher = FeatureHasher(n_features=n_buckets, input_type="string")
    names = ["advertiser_id", "campaign_id", "creative_id", "user_id", "category", "position",
             "device"]

    def rows(frame):
        columns = [frame[c].astype(str).to_numpy() for c in names]
        hours = frame["timestamp"].dt.hour.astype(str).to_numpy()
        texts = frame["creative_text"].astype(str).to_numpy()
        for a, c, cr, u, cat, pos, dev, h, t in zip(*columns, hours, texts):
            yield [f"a={a}", f"c={c}", f"cr={cr}", f"u={u}", f"ux={u}_{cat}", f"cat={cat}",
                   f"p={pos}", f"d={dev}", f"h={h}"] + [f"t={w}" for w in t.split()]

    model = LogisticRegression(C=0.5, max_iter=2000)
    model.fit(hasher.transform(rows(train)), train["click"])

    def predict(requests, log):
        yesterday = log[log["timestamp"] >= log["timestamp"].max().floor("D")]
        p = model.predict_proba(hasher.transform(rows(requests)))[:, 1]
        expected = model.predict_proba(hasher.transform(rows(yesterday)))[:, 1].sum()
        odds = p / (1 - p) * yesterday["click"].sum() / expected  # recalibrated on yesterday
        return odds / (1 + odds)

    return predict
'''

SEGMENT = ["segment_recalibration_test"]
ODDS_LINES = "    odds = p / (1 - p) * f\n    return odds / (1 + odds)"
# the same correction written with a loop over plain dicts and a shift in log-odds
SEGMENT_LOOP = '''def recalibrate_by_segment(
    p, segment, recent_p, recent_clicks, recent_segment, prior_clicks=10.0
):
    """Per-segment totals in dicts; the log of the factor added to each prediction's log-odds."""
    def keys(values):
        return [None if pd.isna(v) else str(v) for v in list(pd.Series(values, dtype=object))]

    clicks, predicted = {}, {}
    totals = zip(keys(recent_segment), np.asarray(recent_clicks, float),
                 np.asarray(recent_p, float))
    for k, c, q in totals:
        if k is not None:
            clicks[k] = clicks.get(k, 0.0) + c
            predicted[k] = predicted.get(k, 0.0) + q
    factor = {k: (clicks[k] + prior_clicks) / (predicted[k] + prior_clicks) for k in clicks}
    shift = np.log([factor.get(k, 1.0) for k in keys(segment)])
    p = np.asarray(p, dtype=float)
    return 1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift)))
'''

CTR_WRONG = {  # student -> {case: (question, graded cells that must score 0, code transform)}
    "split, current click, NE": {
        "a segment's factor applied to the probability, not the odds": (
            "segment_recalibration",
            SEGMENT,
            (ODDS_LINES, "    return p * f"),
        ),
        "random split": ("ctr_time_split", ["ctr_time_split_test"], RANDOM_SPLIT),
        "CTR counts the current click": (
            "historical_ctr",
            HIST,
            (
                "before = counts.groupby(level=0).cumsum() - counts",
                "before = counts.groupby(level=0).cumsum()",
            ),
        ),
        "serving features from the notebook's whole log (future clicks included)": (
            "ctr_model",
            MODEL,
            (
                "    def predict(requests, log):\n",
                "    def predict(requests, log):\n        log = ads\n",
            ),
        ),
        "downsampling that renumbers the rows": (
            "negative_downsampling",
            ["downsampling_test"],
            (
                "    return frame[keep.to_numpy()]",
                "    return frame[keep.to_numpy()].reset_index(drop=True)",
            ),
        ),
        "NE over the entropy of the mean prediction": (
            "ctr_metrics",
            ["ctr_metrics_test"],
            ("    b = background_ctr", "    b = float(np.mean(p))"),
        ),
    },
    "future CTR, no correction": {
        "a segment's factor without the pseudo-clicks": (
            "segment_recalibration",
            SEGMENT,
            (
                'factor = (sums["clicks"] + prior_clicks) / (sums["predicted"] + prior_clicks)',
                'factor = sums["clicks"] / sums["predicted"]',
            ),
        ),
        "CTR from all impressions of the key": (
            "historical_ctr",
            HIST,
            (
                "before = counts.groupby(level=0).cumsum() - counts",
                'before = counts.groupby(level=0).transform("sum")',
            ),
        ),
        "downsampled model not recalibrated": (
            "negative_downsampling",
            ["downsampling_test"],
            ("    return p / (p + (1 - p) / rate)", "    return p"),
        ),
        "a nightly batch usable on the day it describes": (
            "nightly_ctr",
            NIGHTLY_OFF_BY_ONE,
            (
                '    table["usable_from"] = table["day"] + pd.Timedelta(days=1)  '
                "# the batch lands at midnight",
                '    table["usable_from"] = table["day"]',
            ),
        ),
    },
    "no prior, stale model": {
        "segments matched on the Series' index, not by position": (
            "segment_recalibration",
            SEGMENT,
            (
                "f = pd.Series(pd.Series(segment, dtype=object).to_numpy()).map(factor)"
                ".fillna(1.0).to_numpy(float)",
                'f = pd.Series(segment).astype(object).map(factor).astype(float).fillna(1.0)',
            ),
            ("    p = np.asarray(p, dtype=float)\n", "    p = pd.Series(p, dtype=float)\n"),
        ),
        "smoothing that ignores the prior": (
            "historical_ctr",
            ["historical_ctr_test"],
            (
                'ctr = (looked["sum"].to_numpy() + prior_strength * prior_ctr) / '
                '(looked["count"].to_numpy() + prior_strength)',
                'ctr = np.nan_to_num(looked["sum"].to_numpy() / looked["count"].to_numpy())',
            ),
        ),
        "the serving log ignored: features from training only": (
            "ctr_model",
            ["ctr_freshness", "ctr_calibrated", "ctr_calibrated_new_ads", *STALE_ADVERTISERS],
            (
                "    def predict(requests, log):\n",
                "    def predict(requests, log):\n        log = train\n",
            ),
        ),
    },
    "position ignored": {
        "position left out of the model": (
            "ctr_model",
            POSITION_IGNORED,
            ('        x["position"] = frame["position"].to_numpy()\n', ""),
            ('["position", "device", "hour", "category"]', '["device", "hour", "category"]'),
        ),
        "the design's label read from a column the impressions do not have": (
            "ctr_design",
            ["ctr_design_grounded"],
            ('label_source="ads.click"', 'label_source="ads.clicked_within_1h"'),
        ),
    },
    "stale features": {  # alone: any other change to the model or its CTRs would interact
        # the level is set on yesterday's clicks, but the features are stale (measured: no gain
        # from the fresh log once each day's level is set to the truth, new ads at 0.49x)
        "stale features recalibrated on yesterday's clicks": (
            "ctr_model",
            ["ctr_freshness", "ctr_calibrated_new_ads", *STALE_ADVERTISERS],
            (
                "        scored = model.predict_proba(features(both, log))[:, 1]",
                "        scored = model.predict_proba(features(both, train))[:, 1]",
            ),
        ),
    },
    "hashed ids, no history": {
        "a hashed-id logistic regression without historical CTRs": (
            "ctr_model",
            [
                "ctr_quality_strong",
                "ctr_freshness",
                "ctr_calibrated_new_ads",
                "ctr_calibrated_by_slot",
                "ctr_calibrated_by_advertiser",  # 0.51 apart: ids memorise the training weeks
            ],
            HASHED_NO_HISTORY,
        ),
    },
    "ad history left out": {
        "a model that knows the user's click history but not the ad's": (
            "ctr_model",
            AD_HISTORY_LEFT_OUT,
            (
                '    keys, recent_keys = ["advertiser_id", "campaign_id", "creative_id", '
                '"user_id", "user_category"], ["creative_id", "campaign_id"]',
                '    keys, recent_keys = ["user_id", "user_category"], []',
            ),
        ),
    },
    "never recalibrated": {  # measured: 0.88x the week's clicks (0.78-1.03 on four worlds)
        "contamination averaged over distinct values, not impressions": (
            "bucket_contamination",
            ["bucket_contamination_test"],
            (
                "    return float(np.sum(own * (in_bucket - own) / in_bucket) / own.sum())",
                "    return float(np.mean((in_bucket - own) / in_bucket))",
            ),
        ),
        "no daily recalibration": (
            "ctr_model",
            ["ctr_calibrated"],
            (
                '        odds = p / (1 - p) * yesterday["click"].sum() / expected  '
                "# recalibrate on yesterday",
                "        odds = p / (1 - p)",
            ),
        ),
    },
}
BOOSTED = (  # the reference's logistic regression swapped for another model on the same features
    "        LogisticRegression(max_iter=1000))",
    "        LogisticRegression(max_iter=1000))\n"
    "    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, "
    "max_leaf_nodes=31, random_state=0)",
)
CTR_HONEST = {  # student -> {case: (question, cells that must keep full marks, changes)}
    "boosted trees": {
        "the correction by segment as dict totals and a log-odds shift": (
            "segment_recalibration",
            SEGMENT,
            SEGMENT_LOOP,
        ),
        "gradient-boosted trees (early stopping left on) on the same features": (
            "ctr_model",
            MODEL,
            BOOSTED,
        ),
        "point-in-time CTR with a shifted cumulative sum": ("historical_ctr", HIST, HIST_PANDAS),
        "a design that keeps the campaign budget as a click feature": (
            "ctr_design",
            ["ctr_design_test", "ctr_design_grounded"],
            (
                '            Feature("position, device and hour of the request", "context",',
                '            Feature("campaign daily budget", "item",\n'
                '                    source="ads.campaign_daily_budget"),\n'
                '            Feature("position, device and hour of the request", "context",',
            ),
        ),
        "nightly CTR from per-day totals and searchsorted": (
            "nightly_ctr",
            ["nightly_ctr_test", *MODEL],
            NIGHTLY_SEARCHSORTED,
        ),
    },
    "another prior and penalty": {  # honest changes to several answers: fewer kernels to run
        "contamination from np.unique and a bincount": (
            "bucket_contamination",
            ["bucket_contamination_test"],
            CONTAMINATION_BINCOUNT,
        ),
        "smoothing with 50 pseudo-impressions, a stronger L2 penalty": (
            "ctr_model",
            MODEL,
            (
                "        LogisticRegression(max_iter=1000))",
                "        LogisticRegression(C=0.1, max_iter=1000))",
            ),
            (
                "    strength = 20.0  # pseudo-impressions of smoothing",
                "    strength = 50.0  # pseudo-impressions of smoothing",
            ),
        ),
    },
}
STORE_WRONG = {
    "batch stamped with its own day": (
        "daily_counts",
        ["daily_counts_test"],
        (
            'out["available_at"] = out["day"] + pd.Timedelta(days=1) + INGESTION_DELAY',
            'out["available_at"] = out["day"]',
        ),
    ),
    "join on the key alone": ("pit_join", ["pit_join_test"], None),
    "served without a freshness check": (
        "serve_online",
        ["serve_online_test"],
        (
            'stale = got[f"{name}_at"].isna() | (pd.Timestamp(as_of) - got[f"{name}_at"] > ttl)',
            'stale = got[f"{name}_at"].isna()  # whatever Feast returns',
        ),
    ),
}


# more independent mistakes carried by the learners above (disjoint cells)
STORE_ALSO = {
    "batch stamped with its own day": [
        (
            "a smoothed CTR that loses the prior for a creative never shown",
            "ctr_service",
            ["ctr_service_test"],
            (
                'clicks = inputs["clicks"].astype(float).fillna(0.0)',
                'clicks = inputs["clicks"].astype(float)',
            ),
        ),
    ],
    "served without a freshness check": [
        (
            "smoothing constants read from the notebook (Feast rebuilds the function from its "
            "source, where they do not exist)",
            "ctr_service",
            ["ctr_service_test"],
            (
                (
                    "    view = store.get_feature_view(view_name)\n",
                    "    view = store.get_feature_view(view_name)\n"
                    "    prior, strength = 0.02, 20.0\n",
                ),
                (
                    "(clicks + 20.0 * 0.02) / (shown + 20.0)",
                    "(clicks + strength * prior) / (shown + strength)",
                ),
            ),
        ),
        (
            "latency reported in seconds",
            "lookup_latency",
            ["lookup_latency_test"],
            (
                "times.append((time.perf_counter() - start) * 1000.0)",
                "times.append(time.perf_counter() - start)",
            ),
        ),
    ],
    "join on the key alone": [
        (
            "a value exactly one TTL old dropped",
            "serve_online",
            ["serve_online_test"],
            (
                '(pd.Timestamp(as_of) - got[f"{name}_at"] > ttl)',
                '(pd.Timestamp(as_of) - got[f"{name}_at"] >= ttl)',
            ),
        ),
    ],
}


def _code(course, spec, question, change, *more):
    if isinstance(change, str):
        return change
    return answer_variant(course, DAY, spec, question, change, *more)


def _pit_join_on_key(course):
    """The pit_join cell with the join replaced and feast_training_frame kept."""
    from .conftest import reference_answer

    code = reference_answer(course, DAY, STORE, "pit_join")
    start = code.index("def pit_join(")
    end = code.index("def feast_training_frame(")
    return code[:start] + JOIN_ON_KEY + "\n\n" + code[end:]


def _grade(course, spec, learners, tmp_path):
    students = {f"s{i}": learner for i, learner in enumerate(learners.values())}
    grades = grade_students(course, DAY, students, tmp_path)
    return {name: grades[f"s{i}"][spec.filename] for i, name in enumerate(learners)}


# the learners in three runs of three to four notebooks, so that the xdist workers stay balanced
BATCHES = {
    "a": list(CTR_WRONG)[:3],
    "b": list(CTR_WRONG)[3:6],
    "c": [*list(CTR_WRONG)[6:], *CTR_HONEST],
}


def test_batches_cover_every_learner():
    named = [student for students in BATCHES.values() for student in students]
    assert sorted(named) == sorted([*CTR_WRONG, *CTR_HONEST])


@pytest.mark.parametrize("batch", list(BATCHES))
def test_ctr_wrong_answers_lose_points_and_honest_ones_keep_them(course, batch, tmp_path):
    groups = {student: {**CTR_WRONG, **CTR_HONEST}[student] for student in BATCHES[batch]}
    learners = {
        student: {
            name: (question, cells, _code(course, CTR, question, *changes))
            for name, (question, cells, *changes) in cases.items()
        }
        for student, cases in groups.items()
    }
    wrong = {name for cases in CTR_WRONG.values() for name in cases}
    grade_learners(course, DAY, CTR, learners, wrong, tmp_path, exempt=tuple(HIST))


def test_feature_store_wrong_answers_lose_points(course, tmp_path):
    learners = {}
    for name, (question, _, change) in STORE_WRONG.items():
        code = (
            _pit_join_on_key(course) if change is None else _code(course, STORE, question, change)
        )
        answers = {question: code}
        for _, also, _, change in STORE_ALSO.get(name, []):
            changes = change if isinstance(change[0], tuple) else (change,)
            answers[also] = _code(course, STORE, also, *changes)
        learners[name] = reference_learner_with(course, DAY, STORE, answers)
    grades = _grade(course, STORE, learners, tmp_path)
    for name, (_, cells, _) in STORE_WRONG.items():
        grade = grades[name]
        assert not grade.error, f"{name}: {grade.error}"
        points = {q.grade_id: q for q in grade.questions}
        also = [c for *_, lost, _ in STORE_ALSO.get(name, []) for c in lost]
        for cell in cells + also:
            assert points[cell].points == 0, f"'{name}' still earns points on {cell}"
            assert points[cell].message, f"'{name}' fails {cell} without a hint"
