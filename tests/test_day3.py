"""Day 3: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers every question like the reference solution except for a few plausible mistakes
on questions that do not feed each other (a window that includes the current payment or leaves out
the payment exactly at its start, a chargeback arriving at as_of read as unknown, a median over the
card's whole history, labels read from the future, no wait for label maturity, oversampling before
the split, accuracy sold as PR-AUC, one score threshold for every amount, no step-up, false
declines counted over fraud too or over unused categories, drift decided by a p-value, KS on flags
and counts, PSI on separate histograms, a monitor that peeks at the day it reports, assumes sorted
input, waits a month or pages on noise, no velocity features, a merchant fraud rate fitted on the
notebook's payments inside the model, a rebalanced or immature model that is not calibrated, a
design that does not say where its label comes from), so a
lost point can only come from a mistake: every other autograded cell keeps full marks. Honest
alternatives keep every point. Learners are graded in a few batches (one nbgrader run each) to keep
the suite fast.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import (
    answer_variant,
    grade_learners,
    reference_answer,
)

DAY = get_day("day3")
SPEC = DAY.notebook("fraud.ipynb")
VELOCITY = ["velocity_features_test", "velocity_no_leakage"]
QUALITY = ["fraud_quality_beats_rule", "fraud_quality_half_gap", "fraud_quality_strong"]

OVERSAMPLE_FIRST = '''def split_and_oversample(
    features, labels, timestamps, cutoff, fraud_share=0.2, random_state=0
):
    """Oversample the frauds, then split (the classic mistake)."""
    fraud = labels.index[labels == 1]
    n_extra = int(np.ceil(fraud_share * (labels == 0).sum() / (1 - fraud_share))) - len(fraud)
    extra = np.random.default_rng(random_state).choice(fraud, size=max(n_extra, 0), replace=True)
    features = pd.concat([features, features.loc[extra]])
    labels = pd.concat([labels, labels.loc[extra]])
    timestamps = pd.concat([timestamps, timestamps.loc[extra]])
    train = (timestamps < cutoff).to_numpy()
    return features[train], labels[train], features[~train], labels[~train]
'''
DECIDE_BY_THRESHOLD = """DECLINE_COST, STEPUP_COST, STEPUP_CATCH = 10.0, 1.0, 0.9


def decide(
    p, amount, decline_cost=DECLINE_COST, stepup_cost=STEPUP_COST, stepup_catch=STEPUP_CATCH
):
    # one score threshold for every payment, whatever its amount
    return np.where(np.asarray(p, dtype=float) >= 0.1, "decline", "approve")
"""
DECIDE_LOOP = """DECLINE_COST, STEPUP_COST, STEPUP_CATCH = 10.0, 1.0, 0.9


def decide(
    p, amount, decline_cost=DECLINE_COST, stepup_cost=STEPUP_COST, stepup_catch=STEPUP_CATCH
):
    out = []
    for risk, dollars in zip(np.ravel(p), np.ravel(amount)):
        costs = {
            "approve": risk * dollars,
            "step_up": (1 - risk) * stepup_cost + risk * (1 - stepup_catch) * dollars,
            "decline": (1 - risk) * decline_cost,
        }
        out.append(min(costs, key=costs.get))  # dicts keep order: the mildest wins a tie
    return np.array(out)
"""
VELOCITY_SEARCHSORTED = """WINDOWS = {"1h": 3_600, "24h": 86_400, "7d": 7 * 86_400}


def velocity_features(tx):
    df = tx.sort_values(["user_id", "timestamp"], kind="stable")
    seconds = (df["timestamp"] - df["timestamp"].min()).dt.total_seconds().to_numpy()
    key = df["user_id"].to_numpy() * 1e9 + seconds  # one sorted axis: card, then time
    total = np.r_[0.0, np.cumsum(df["amount"].to_numpy())]
    now = np.searchsorted(key, key, side="left")  # first row at this instant: excluded
    out = pd.DataFrame(index=df.index)
    for name, width in WINDOWS.items():
        start = np.searchsorted(key, key - width, side="left")
        out[f"n_{name}"] = now - start
        out[f"sum_{name}"] = total[now] - total[start]
    seen = df.groupby(["user_id", "merchant_country"], observed=True).cumcount() > 0
    history = df.groupby("user_id").cumcount() > 0
    out["new_merchant_country"] = (history & ~seen).astype(int)
    median = df.groupby("user_id")["amount"].transform(lambda s: s.expanding().median().shift())
    out["amount_vs_median"] = df["amount"] / median
    return out.reindex(tx.index)
"""
FRICTION_CROSSTAB = '''def friction_by_group(is_fraud, actions, groups):
    """Shares from a crosstab of the legitimate payments, normalised by group."""
    legit = ~np.asarray(is_fraud).astype(bool)
    g, a = np.asarray(groups, dtype=object)[legit], np.asarray(actions)[legit]
    shares = pd.crosstab(g, a, normalize="index")
    out = pd.DataFrame({"legit": pd.Series(g).value_counts()})
    for column, action in (("declined", "decline"), ("stepped_up", "step_up")):
        out[column] = shares[action] if action in shares else 0.0
    return out
'''
PSI_PANDAS = """def psi(expected, actual, bins=10):
    expected, actual = pd.Series(expected, dtype=float), pd.Series(actual, dtype=float)
    if expected.nunique() <= bins:  # a discrete feature: one bin per value
        values = pd.Index(expected.unique()).union(actual.unique())
        e = expected.value_counts(normalize=True).reindex(values, fill_value=0)
        a = actual.value_counts(normalize=True).reindex(values, fill_value=0)
    else:
        edges = np.unique(expected.quantile(np.linspace(0, 1, bins + 1)).to_numpy())
        edges[0], edges[-1] = -np.inf, np.inf
        e = pd.cut(expected, edges).value_counts(normalize=True, sort=False)
        a = pd.cut(actual, edges).value_counts(normalize=True, sort=False)
    e, a = np.clip(e.to_numpy(), 1e-4, None), np.clip(a.to_numpy(), 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))
"""


def _psi_variant(course, psi_code: str) -> str:
    """The reference psi/drift_report cell with `psi` replaced by `psi_code`."""
    ref = reference_answer(course, DAY, SPEC, "psi_and_drift_report")
    return psi_code + "\n\n" + ref[ref.index("def drift_report") :]


# name -> (question, test cells that must score 0 / keep full marks, the answer)
def _wrong(course):
    v = lambda q, *changes: answer_variant(course, DAY, SPEC, q, *changes)  # noqa: E731
    return {
        "the label's source left out of the design": (
            "fraud_design",
            ["fraud_design_grounded"],
            v(
                "fraud_design",
                ('\n        label_source="tx.is_fraud, known at tx.chargeback_at",', ""),
            ),
        ),
        "window includes the current payment": (
            "velocity_features",
            VELOCITY,
            v("velocity_features", ('closed="left"', 'closed="both"')),
        ),
        "median over the card's whole history": (
            "velocity_features",
            VELOCITY,
            v(
                "velocity_features",
                (
                    '    running_median = df.groupby("user_id")["amount"].expanding().median()\n',
                    "",
                ),
                (
                    'running_median.groupby(level="user_id").shift().to_numpy()',
                    'df.groupby("user_id")["amount"].transform("median").to_numpy()',
                ),
            ),
        ),
        "labels read from is_fraud": (
            "delayed_labels",
            ["delayed_labels_test"],
            v(
                "delayed_labels",
                (
                    'return (seen["chargeback_at"].notna() & (seen["chargeback_at"] <= as_of))'
                    ".astype(int)",
                    'return seen["is_fraud"].astype(int)',
                ),
            ),
        ),
        "a chargeback that arrives at as_of read as not yet known": (
            "delayed_labels",
            ["delayed_labels_test"],
            v(
                "delayed_labels",
                ('(seen["chargeback_at"] <= as_of)', '(seen["chargeback_at"] < as_of)'),
            ),
        ),
        "windows open at their start: a payment exactly 1 h old left out": (
            "velocity_features",
            ["velocity_features_test"],
            v("velocity_features", ('closed="left"', 'closed="neither"')),
        ),
        "oversampling before the split": (
            "split_and_oversample",
            ["oversample_test"],
            OVERSAMPLE_FIRST,
        ),
        "accuracy reported as PR-AUC": (
            "fraud_metrics",
            ["fraud_metrics_test"],
            v(
                "fraud_metrics",
                (
                    '"pr_auc": float(average_precision_score(y_true, scores))',
                    '"pr_auc": float(np.mean((np.asarray(scores) >= 0.5) == np.asarray(y_true)))',
                ),
            ),
        ),
        "one score threshold for every amount": (
            "payment_decisions",
            ["payment_decisions_test"],
            DECIDE_BY_THRESHOLD,
        ),
        "approve or decline, never step up": (
            "payment_decisions",
            ["payment_decisions_test"],
            v(
                "payment_decisions",
                (
                    "(1 - p) * stepup_cost + p * (1 - stepup_catch) * amount,",
                    "np.full(p.shape, np.inf),  # never step up",
                ),
            ),
        ),
        "fraud counted among the false declines": (
            "friction_by_group",
            ["friction_by_group_test"],
            v("friction_by_group", ('    legit = frame[~frame["fraud"]]', "    legit = frame")),
        ),
        "unused categories reported as groups": (
            "friction_by_group",
            ["friction_by_group_test"],
            v(
                "friction_by_group",
                (
                    '"group": groups.to_numpy() if isinstance(groups, pd.Series) else groups}',
                    '"group": groups}',
                ),
                ('groupby("group", observed=True)', 'groupby("group", observed=False)'),
            ),
        ),
        "no wait for label maturity": (
            "delayed_labels",
            ["delayed_labels_test"],
            v(
                "delayed_labels",
                (
                    "def training_set(tx, as_of, maturity_days=60):",
                    "def training_set(tx, as_of, maturity_days=0):",
                ),
            ),
        ),
        "a model trained on immature labels": (
            "fraud_model",
            ["fraud_calibration"],
            v(
                "fraud_model",
                (
                    "def build_fraud_model(history, as_of, maturity_days=60):",
                    "def build_fraud_model(history, as_of, maturity_days=0):",
                ),
            ),
        ),
        "a rebalanced model left uncalibrated": (
            "fraud_model",
            ["fraud_calibration"],
            v(
                "fraud_model",
                (
                    "min_samples_leaf=20, random_state=0)",
                    'min_samples_leaf=20, class_weight="balanced",\n'
                    + " " * 43
                    + "random_state=0)",
                ),
            ),
        ),
        "a monitor that peeks at the day it reports": (
            "drift_monitor",
            ["drift_monitor_test"],
            v(
                "drift_monitor",
                (
                    "(when < day)",
                    "(when < day + pd.Timedelta(days=1))",
                ),
            ),
        ),
        "a monitor on a hair trigger": (
            "drift_monitor",
            ["drift_monitor_test"],
            v(
                "drift_monitor",
                (
                    '"alert": bool(value >= 0.1 or rate >= 1.5 * reference_flags)',
                    '"alert": bool(value >= 0.02 or rate > reference_flags)',
                ),
            ),
        ),
        "a monitor that assumes the payments come sorted by time": (
            "drift_monitor",
            ["drift_monitor_test"],
            v(
                "drift_monitor",
                (
                    "window = (when >= day - pd.Timedelta(days=window_days)) & (when < day)\n",
                    "lo = when.searchsorted(day - pd.Timedelta(days=window_days))  # sorted?\n"
                    "        window = np.zeros(len(when), dtype=bool)\n"
                    "        window[lo : when.searchsorted(day)] = True\n",
                ),
            ),
        ),
        "a monitor over a month-long window": (
            "drift_monitor",
            ["drift_monitor_test"],
            v(
                "drift_monitor",
                ("reference_days=28, window_days=3)", "reference_days=28, window_days=28)"),
            ),
        ),
        "drift decided by the p-value": (
            "psi_and_drift_report",
            ["drift_report_test"],
            v(
                "psi_and_drift_report",
                (
                    'band = "stable" if value < 0.1 else "moderate" if value < 0.25 else "major"',
                    'band = "major" if pvalue < 0.01 else "stable"',
                ),
            ),
        ),
        "PSI on separate histograms": (
            "psi_and_drift_report",
            ["psi_test", "drift_report_test"],
            _psi_variant(
                course,
                "def psi(expected, actual, bins=10):\n"
                "    e = np.histogram(expected, bins=bins)[0] / len(expected)\n"
                "    a = np.histogram(actual, bins=bins)[0] / len(actual)\n"
                "    e, a = np.clip(e, 1e-4, None), np.clip(a, 1e-4, None)\n"
                "    return float(np.sum((a - e) * np.log(a / e)))\n",
            ),
        ),
        "KS for every feature, flags and counts too": (
            "psi_and_drift_report",
            ["drift_report_test"],
            v(
                "psi_and_drift_report",
                (
                    "if np.unique(ref).size <= DISCRETE_MAX_VALUES:",
                    "if False:  # one test for every feature",
                ),
            ),
        ),
        "PSI that keeps missing values": (
            "psi_and_drift_report",
            ["psi_test"],
            v(
                "psi_and_drift_report",
                (
                    "    expected, actual = expected[~np.isnan(expected)], "
                    "actual[~np.isnan(actual)]  # ignore missing\n",
                    "",
                ),
            ),
        ),
        "a merchant fraud rate from the notebook's tx inside the model": (
            "fraud_model",
            QUALITY + ["fraud_calibration"],
            v(
                "fraud_model",
                (
                    "    x = fraud_features(history).loc[rows.index]\n",
                    '    rate = tx.groupby("merchant_id")["is_fraud"].mean()  # all labels\n'
                    "    features = lambda frame: fraud_features(frame).assign(\n"
                    '        merchant_rate=frame["merchant_id"].map(rate).fillna(0.0).to_numpy()\n'
                    "    )\n"
                    "    x = features(history).loc[rows.index]\n",
                ),
                (
                    "lambda tx: model.predict_proba(fraud_features(tx)[x.columns])",
                    "lambda frame: model.predict_proba(features(frame)[x.columns])",
                ),
            ),
        ),
        "a model without velocity features": (
            "fraud_model",
            ["fraud_quality_half_gap", "fraud_quality_strong"],
            v(
                "fraud_model",
                (
                    "x = fraud_features(history).loc[rows.index]",
                    'x = fraud_features(history).loc[rows.index, ["amount", "category", "abroad", '
                    '"hour", "night"]]',
                ),
            ),
        ),
    }


def _honest(course):
    return {
        "velocity with numpy searchsorted": (
            "velocity_features",
            VELOCITY,
            VELOCITY_SEARCHSORTED,
        ),
        "decisions by a loop over payments": (
            "payment_decisions",
            ["payment_decisions_test"],
            DECIDE_LOOP,
        ),
        "friction from a normalised crosstab": (
            "friction_by_group",
            ["friction_by_group_test"],
            FRICTION_CROSSTAB,
        ),
        "a monitor on the score PSI alone": (
            "drift_monitor",
            ["drift_monitor_test"],
            answer_variant(
                course,
                DAY,
                SPEC,
                "drift_monitor",
                (
                    '"alert": bool(value >= 0.1 or rate >= 1.5 * reference_flags)',
                    '"alert": bool(value >= 0.1)',
                ),
            ),
        ),
        "PSI with pandas bins": (
            "psi_and_drift_report",
            ["psi_test", "drift_report_test"],
            _psi_variant(course, PSI_PANDAS),
        ),
        "chi-square table from pd.crosstab": (
            "psi_and_drift_report",
            ["psi_test", "drift_report_test"],
            answer_variant(
                course,
                DAY,
                SPEC,
                "psi_and_drift_report",
                (
                    "table = np.array([pd.Series(x).value_counts().reindex(values, fill_value=0)"
                    ".to_numpy()\n                              for x in (ref, cur)])",
                    "table = pd.crosstab(np.r_[np.zeros(ref.size), np.ones(cur.size)], "
                    "np.r_[ref, cur]).to_numpy()",
                ),
            ),
        ),
        "extra-trees model": (
            "fraud_model",
            QUALITY + ["fraud_calibration"],
            answer_variant(
                course,
                DAY,
                SPEC,
                "fraud_model",
                (
                    "model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, "
                    "max_leaf_nodes=15,\n" + " " * 43 + "min_samples_leaf=20, random_state=0)",
                    "from sklearn.ensemble import ExtraTreesClassifier\n"
                    "    model = ExtraTreesClassifier(n_estimators=200, min_samples_leaf=3, "
                    "random_state=0)",
                ),
                ("model.fit(x, labels)", "model.fit(x.fillna(-1), labels)"),
                ("[x.columns])[:, 1]", "[x.columns].fillna(-1))[:, 1]"),
            ),
        ),
    }


# Each learner carries several mistakes on different questions that do not feed each other (a
# broken psi stays away from the monitor's own mistakes, one model change per learner), so a few
# nbgrader runs prove every case; each batch is one run, batches run on the xdist workers.
BATCHES = {
    "a": [
        [
            "window includes the current payment",
            "labels read from is_fraud",
            "oversampling before the split",
            "accuracy reported as PR-AUC",
            "one score threshold for every amount",
            "KS for every feature, flags and counts too",
            "a monitor that peeks at the day it reports",
        ],
        [
            "median over the card's whole history",
            "no wait for label maturity",
            "approve or decline, never step up",
            "PSI on separate histograms",
            "fraud counted among the false declines",
        ],
        [
            "velocity with numpy searchsorted",
            "decisions by a loop over payments",
            "chi-square table from pd.crosstab",
            "a monitor on the score PSI alone",
            "extra-trees model",
            "friction from a normalised crosstab",
        ],
    ],
    "b": [
        [
            "drift decided by the p-value",
            "a monitor over a month-long window",
            "a model without velocity features",
            "a chargeback that arrives at as_of read as not yet known",
            "the label's source left out of the design",
        ],
        [
            "PSI that keeps missing values",
            "a monitor on a hair trigger",
            "a model trained on immature labels",
        ],
        [
            "a rebalanced model left uncalibrated",
            "a monitor that assumes the payments come sorted by time",
            "unused categories reported as groups",
        ],
        ["PSI with pandas bins"],
        [
            "a merchant fraud rate from the notebook's tx inside the model",
            "windows open at their start: a payment exactly 1 h old left out",
        ],
    ],
}


def test_batches_cover_every_case(course):
    named = [name for learners in BATCHES.values() for cases in learners for name in cases]
    assert sorted(named) == sorted(set(_wrong(course)) | set(_honest(course)))


@pytest.mark.parametrize("batch", list(BATCHES))
def test_wrong_answers_lose_points_and_honest_ones_keep_them(course, batch, tmp_path):
    wrong, honest = _wrong(course), _honest(course)
    cases = wrong | honest
    learners = {", ".join(names): {n: cases[n] for n in names} for names in BATCHES[batch]}
    grade_learners(course, DAY, SPEC, learners, set(wrong), tmp_path)
