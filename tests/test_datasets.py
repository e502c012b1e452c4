"""Generators: scikit-learn conventions, documented columns, determinism, and each case shows
what its lab teaches, with the oracle beating the baseline and a learned model in between."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss

from curriculum.datasets import (
    baseline_ctr,
    baseline_eta,
    baseline_fraud,
    baseline_scores,
    item_catalogue,
    make_ad_impressions,
    make_eta_trips,
    make_interactions,
    make_transactions,
    observable,
    oracle_click_probability,
    oracle_ctr,
    oracle_eta,
    oracle_expected_watch,
    oracle_fraud,
    oracle_scores,
)
from curriculum.datasets.transactions import point_in_time_features

GENERATORS = {
    make_eta_trips: {"n_trips": 2_000},
    make_ad_impressions: {"n_impressions": 5_000, "n_users": 500},
    make_transactions: {"n_transactions": 5_000, "n_users": 300},
    make_interactions: {"n_impressions": 5_000, "n_users": 300, "n_items": 200},
}
IDS = [g.__name__ for g in GENERATORS]


def documented_columns(generator) -> dict[str, str]:
    """Column name -> documented dtype, from the numpydoc 'Columns' table."""
    doc = generator.__doc__
    block = doc.split("Columns\n")[1].split("Raises\n")[0]
    columns = {}
    for line in block.splitlines():
        match = re.match(r"^\s{8}([a-z_][a-z0-9_, ]*) : (\S+)", line)
        if match:
            for name in match.group(1).split(","):
                columns[name.strip()] = match.group(2)
    return columns


@pytest.mark.parametrize("generator", GENERATORS, ids=IDS)
def test_columns_and_dtypes_are_as_documented(generator):
    frame = generator(**GENERATORS[generator], random_state=1)
    documented = documented_columns(generator)
    assert list(frame.columns) == list(documented), "columns differ from the docstring"
    for name, dtype in documented.items():
        actual = str(frame[name].dtype)
        assert actual == dtype or actual.startswith(dtype), f"{name}: {actual}, documented {dtype}"
    for name in frame.columns:
        if str(frame[name].dtype).startswith("datetime64"):
            assert str(frame[name].dt.tz) == "UTC", f"{name} must be timezone-aware UTC"


@pytest.mark.parametrize("generator", GENERATORS, ids=IDS)
def test_same_seed_same_frame_different_seed_different_frame(generator):
    kwargs = GENERATORS[generator]
    a = generator(**kwargs, random_state=7)
    pd.testing.assert_frame_equal(a, generator(**kwargs, random_state=7))
    pd.testing.assert_frame_equal(a, generator(**kwargs, random_state=np.random.default_rng(7)))
    assert not a.equals(generator(**kwargs, random_state=8))
    assert len(generator(**kwargs, random_state=None)) == len(a)


@pytest.mark.parametrize(
    ("generator", "bad", "name"),
    [
        (make_eta_trips, {"n_trips": -5}, "n_trips"),
        (make_eta_trips, {"n_trips": 10.5}, "n_trips"),
        (make_eta_trips, {"days": 0}, "days"),
        (make_eta_trips, {"start": "not a date"}, "start"),
        (make_eta_trips, {"random_state": "seed"}, "random_state"),
        (make_ad_impressions, {"n_impressions": 0}, "n_impressions"),
        (make_ad_impressions, {"ctr": 0.7}, "ctr"),
        (make_ad_impressions, {"ctr": True}, "ctr"),
        (make_ad_impressions, {"n_users": -1}, "n_users"),
        (make_ad_impressions, {"random_state": -3}, "random_state"),
        (make_transactions, {"fraud_rate": 0.2}, "fraud_rate"),
        (make_transactions, {"n_transactions": 0}, "n_transactions"),
        (make_transactions, {"holiday": ("2025-12-31", "2025-12-01")}, "holiday"),
        (make_transactions, {"holiday": "yes"}, "holiday"),
        (make_interactions, {"cold_start_share": 0.9}, "cold_start_share"),
        (make_interactions, {"n_items": 3}, "n_items"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(generator, bad, name):
    with pytest.raises(ValueError, match=name):
        generator(**bad)


# -- ETA -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trips():
    return make_eta_trips(30_000, random_state=11)


def _mae(y, p):
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(p))))


def test_eta_demand_has_weekday_rush_hours(trips):
    weekday = trips[trips["request_time"].dt.day_of_week < 5]
    per_hour = weekday.groupby(weekday["request_time"].dt.hour).size()
    assert per_hour.loc[[8, 17, 18]].min() > 2 * per_hour.loc[[3, 4]].max()


def test_eta_routing_engine_misses_rush_hour_congestion(trips):
    ratio = trips["duration_s"] / trips["routing_eta_s"]
    hour = trips["request_time"].dt.hour
    weekday = trips["request_time"].dt.day_of_week < 5
    rush = ratio[weekday & hour.isin([8, 17, 18])].median()
    night = ratio[hour.isin([2, 3, 4])].median()
    assert rush > night + 0.15, (rush, night)
    assert (trips["completed_at"] > trips["request_time"]).all()


def test_eta_oracle_beats_baseline_and_p90_covers_90_percent(trips):
    y = trips["duration_s"]
    assert _mae(y, oracle_eta(trips)) < 0.6 * _mae(y, baseline_eta(trips))
    assert _mae(y, oracle_eta(trips)) <= _mae(y, oracle_eta(trips, statistic="mean"))
    coverage = float(np.mean(y <= oracle_eta(trips, statistic=0.9)))
    assert 0.88 < coverage < 0.92, coverage
    with pytest.raises(ValueError, match="statistic"):
        oracle_eta(trips, statistic="p90")


def test_eta_learned_residual_lands_between_baseline_and_oracle(trips):
    t = trips["request_time"]
    features = pd.DataFrame(
        {
            "hour": t.dt.hour + t.dt.minute / 60,
            "weekday": t.dt.day_of_week,
            "weather": trips["weather"].cat.codes,
            **{
                c: trips[c]
                for c in [
                    "pickup_lat",
                    "pickup_lng",
                    "dropoff_lat",
                    "dropoff_lng",
                    "route_distance_km",
                    "routing_eta_s",
                ]
            },
        }
    )
    train = t < t.quantile(0.75)
    residual = trips["duration_s"] - trips["routing_eta_s"]
    model = HistGradientBoostingRegressor(loss="absolute_error", max_iter=200, random_state=0)
    model.fit(features[train], residual[train])
    test = trips[~train]
    learned = _mae(test["duration_s"], test["routing_eta_s"] + model.predict(features[~train]))
    base, best = (
        _mae(test["duration_s"], baseline_eta(test)),
        _mae(test["duration_s"], oracle_eta(test)),
    )
    assert best < learned < base, (base, learned, best)
    assert (base - learned) / (base - best) > 0.5, "the residual should be learnable"


def test_eta_hotspots_differ_by_city_and_only_place_features_reveal_them(trips):
    other = make_eta_trips(2_000, random_state=12)
    hotspots = trips.attrs["latent"]["eta_places"]["hotspots"]
    assert len(hotspots) >= 5 and hotspots != other.attrs["latent"]["eta_places"]["hotspots"]
    t = trips["request_time"]
    common = pd.DataFrame(
        {
            "hour": t.dt.hour + t.dt.minute / 60,
            "weekday": t.dt.day_of_week,
            "weather": trips["weather"].cat.codes,
            "route_distance_km": trips["route_distance_km"],
            "routing_eta_s": trips["routing_eta_s"],
        }
    )
    place = trips[["pickup_lat", "pickup_lng", "dropoff_lat", "dropoff_lng"]]
    train = (t < t.quantile(0.75)).to_numpy()
    residual = trips["duration_s"] - trips["routing_eta_s"]
    y, base = (
        trips["duration_s"][~train],
        _mae(trips["duration_s"][~train], baseline_eta(trips)[~train]),
    )
    best = _mae(y, oracle_eta(trips)[~train])

    def closed(x):
        model = HistGradientBoostingRegressor(loss="absolute_error", max_iter=200, random_state=0)
        model.fit(x[train], residual[train])
        return (base - _mae(y, trips["routing_eta_s"][~train] + model.predict(x[~train]))) / (
            base - best
        )

    with_place, without = closed(common.join(place)), closed(common)
    assert with_place > without + 0.08, (with_place, without)


def test_eta_closure_slows_trips_near_it_from_its_start_only(trips):
    from curriculum.datasets.eta import _ends_near, _to_km

    east, north, radius, strength, start_s = trips.attrs["latent"]["eta_places"]["closure"]
    pe, pn = _to_km(trips["pickup_lat"].to_numpy(), trips["pickup_lng"].to_numpy())
    de, dn = _to_km(trips["dropoff_lat"].to_numpy(), trips["dropoff_lng"].to_numpy())
    near = _ends_near(pe, pn, de, dn, east, north, radius) > 0.3
    start = trips["request_time"].min().normalize() + pd.Timedelta(seconds=start_s)
    after = (trips["request_time"] >= start).to_numpy()
    ratio = (trips["duration_s"] / trips["routing_eta_s"]).to_numpy()
    jump_near = np.median(ratio[near & after]) / np.median(ratio[near & ~after])
    jump_far = np.median(ratio[~near & after]) / np.median(ratio[~near & ~after])
    assert jump_near > 1.2 and 0.9 < jump_far < 1.1, (jump_near, jump_far)
    assert (trips["request_time"].max() - start) > pd.Timedelta(
        days=7
    )  # it runs through the test week
    from curriculum.datasets.eta import closure_slowdown

    slowdown = closure_slowdown(trips).to_numpy()
    assert np.all(slowdown[~after] == 0) and np.all(slowdown >= 0)
    assert np.median(slowdown[near & after]) > 0.2 and np.median(slowdown[~near & after]) < 0.1
    short = make_eta_trips(500, days=7, random_state=1)  # too short a period for a closure
    assert (closure_slowdown(short) == 0).all()


def test_eta_oracle_needs_the_city_latent_places(trips):
    with pytest.raises(ValueError, match="latent"):
        oracle_eta(observable(trips.head()))
    assert oracle_eta(trips.head()).notna().all()  # a subset keeps the city's places


# -- Ads -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def impressions():
    return make_ad_impressions(120_000, random_state=5)


def _normalized_entropy(y, p):
    base = float(np.mean(y))
    return log_loss(y, p) / -(base * np.log(base) + (1 - base) * np.log(1 - base))


@pytest.mark.parametrize("ctr", [0.01, 0.03])
def test_ads_overall_ctr_follows_the_parameter(ctr):
    frame = make_ad_impressions(40_000, ctr=ctr, random_state=2)
    assert frame["oracle_p_click"].mean() == pytest.approx(ctr, rel=1e-6)
    assert frame["click"].mean() == pytest.approx(ctr, rel=0.15)


def test_ads_position_bias_lowers_ctr_down_the_page(impressions):
    by_position = impressions.groupby("position")["oracle_p_click"].mean()
    assert list(by_position.index) == [1, 2, 3, 4]
    assert by_position.is_monotonic_decreasing


def test_ads_requests_fill_slots_from_the_top(impressions):
    requests = impressions.groupby("request_id")
    assert (requests["position"].min() == 1).all(), "every request starts at the top slot"
    size, top = requests["position"].size(), requests["position"].max()
    assert (top == size).all(), "a request's slots are 1..k with no gap"
    shared = requests[["timestamp", "user_id", "device"]].nunique()
    assert (shared == 1).all().all(), "the ads of one request share its time, user and device"
    assert not requests["creative_id"].apply(lambda c: c.duplicated().any()).any()
    # each deeper slot is seen on fewer requests: 1-4 slots, each as often
    share = impressions["position"].value_counts(normalize=True).sort_index()
    assert np.allclose(share.to_numpy(), [0.4, 0.3, 0.2, 0.1], atol=0.01)


def test_ads_logging_policy_puts_better_ads_on_top(impressions):
    """The earlier model ranked by bid x its pCTR: the raw slot CTRs overstate the slot's effect."""
    from curriculum.datasets.ads import POSITION_EFFECT

    slot = impressions["position"].to_numpy()
    quality = impressions["oracle_p_click"] / np.exp(POSITION_EFFECT[slot - 1])  # slot removed
    by_slot = quality.groupby(slot).mean()
    assert by_slot[1] > 1.2 * by_slot[4], "the ads shown at the top are better ads"
    raw = impressions.groupby("position")["click"].mean()
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(raw[4]) - logit(raw[1]) < POSITION_EFFECT[3] - POSITION_EFFECT[0] - 0.1


def test_ads_drift_moves_each_creative_apart_from_the_rest():
    """With drift, a creative's true click rate wanders from day to day around the common level."""

    def spread(drift):
        frame = make_ad_impressions(60_000, days=21, drift=drift, fatigue=0.0, random_state=4)
        daily = frame.groupby(["creative_id", frame["timestamp"].dt.floor("D")])["oracle_p_click"]
        logit = np.log(daily.mean()).unstack()
        change = (logit.iloc[:, 14] - logit.iloc[:, 7]).dropna()
        return float((change - change.mean()).std())

    # a week of daily steps of sd 0.2 adds about 7 x 0.2^2 = 0.28 to the variance of the change
    # (the change also varies without drift: each day's users differ)
    assert 0.15 < spread(0.2) ** 2 - spread(0.0) ** 2 < 0.45


@pytest.mark.parametrize(
    "bad, name",
    [
        ({"launch_share": 1.0}, "launch_share"),
        ({"fatigue": -0.1}, "fatigue"),
        ({"launch_share": True}, "launch_share"),
        ({"fatigue": "x"}, "fatigue"),
        ({"drift": -0.2}, "drift"),
    ],
)
def test_ads_world_parameters_are_checked(bad, name):
    with pytest.raises(ValueError, match=name):
        make_ad_impressions(1_000, **bad, random_state=0)


def test_ads_creatives_launch_during_the_period_and_wear_out():
    frame = make_ad_impressions(60_000, days=21, launch_share=0.4, fatigue=0.08, random_state=3)
    first = frame.groupby("creative_id")["timestamp"].min()
    late = (first >= frame["timestamp"].min().normalize() + pd.Timedelta(days=7)).sum()
    assert late >= 20, "campaigns launch during the period: some creatives appear late"
    # a creative's true click rate falls as it ages (compare its first and its last days)
    days = frame["timestamp"].dt.floor("D")
    daily = frame.groupby(["creative_id", days])["oracle_p_click"].mean().reset_index()
    spans = daily.groupby("creative_id").filter(lambda g: len(g) >= 8).groupby("creative_id")
    drop = spans["oracle_p_click"].agg(lambda s: s.iloc[-3:].mean() / s.iloc[:3].mean())
    assert drop.median() < 0.8, "creative fatigue: a creative is clicked less as it ages"
    flat = make_ad_impressions(60_000, days=21, fatigue=0.0, random_state=3)
    flat_daily = flat.groupby(["creative_id", flat["timestamp"].dt.floor("D")])["oracle_p_click"]
    flat_spans = (
        flat_daily.mean().reset_index().groupby("creative_id").filter(lambda g: len(g) >= 8)
    )
    flat_drop = flat_spans.groupby("creative_id")["oracle_p_click"].agg(
        lambda s: s.iloc[-3:].mean() / s.iloc[:3].mean()
    )
    assert abs(flat_drop.median() - 1) < 0.1, "without fatigue nothing wears out"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ads_fresh_historical_ctr_beats_stale_ctr(seed):
    """The lesson of Day 4's freshness: yesterday's CTR of a creative predicts today's clicks
    better than the CTR frozen at the end of training (launches and fatigue)."""
    frame = make_ad_impressions(80_000, days=21, launch_share=0.4, fatigue=0.08, random_state=seed)
    cut = frame["timestamp"].min().normalize() + pd.Timedelta(days=14)
    train, test = frame[frame["timestamp"] < cut], frame[frame["timestamp"] >= cut]
    prior = train["click"].mean()

    def smoothed(log, rows):
        stats = log.groupby("creative_id")["click"].agg(["sum", "count"])
        s = rows["creative_id"].map(stats["sum"]).fillna(0)
        n = rows["creative_id"].map(stats["count"]).fillna(0)
        return ((s + 20 * prior) / (n + 20)).to_numpy()

    days = test["timestamp"].dt.floor("D")
    fresh = np.concatenate(
        [
            smoothed(
                frame[(frame["timestamp"] < d) & (frame["timestamp"] >= d - pd.Timedelta(days=3))],
                rows,
            )
            for d, rows in test.groupby(days)
        ]
    )
    order = np.concatenate([rows.index.to_numpy() for _, rows in test.groupby(days)])
    y = test.loc[order, "click"].to_numpy()
    stale = smoothed(train, test.loc[order])
    assert _normalized_entropy(y, fresh) < _normalized_entropy(y, stale) - 0.005


def test_ads_oracle_beats_baseline_and_a_model_lands_between(impressions):
    cut = impressions["timestamp"].quantile(0.7)
    train, test = (
        impressions[impressions["timestamp"] < cut],
        impressions[impressions["timestamp"] >= cut],
    )
    columns = ["user_id", "advertiser_id", "creative_id", "position", "device", "category"]

    def features(frame):
        x = observable(frame)[columns].copy()
        for c in ["device", "category"]:
            x[c] = x[c].cat.codes
        return x

    model = HistGradientBoostingClassifier(
        max_iter=150, random_state=0, categorical_features=["advertiser_id", "category"]
    )
    model.fit(features(train), train["click"])
    y = test["click"]
    base = _normalized_entropy(y, baseline_ctr(train, test))
    best = _normalized_entropy(y, oracle_ctr(test))
    learned = _normalized_entropy(y, model.predict_proba(features(test))[:, 1])
    assert best < base - 0.04, (best, base)
    assert best - 0.005 < learned < base + 0.005, (base, learned, best)
    assert "oracle_p_click" not in observable(test)
    with pytest.raises(ValueError, match="oracle_p_click"):
        oracle_ctr(observable(test))


# -- Card transactions ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transactions():
    return make_transactions(100_000, n_users=4_000, n_merchants=1_000, random_state=3)


@pytest.fixture(scope="module")
def transaction_features(transactions):
    return _pit_features(transactions)


def _pit_features(frame):
    d = frame.sort_values(["user_id", "timestamp"], kind="stable")
    seconds = d["timestamp"].astype("int64").to_numpy() // 10**9
    f = point_in_time_features(
        d["user_id"].to_numpy(),
        seconds.astype(float),
        d["amount"].to_numpy(),
        d["merchant_country"].cat.codes.to_numpy(),
    )
    out = pd.DataFrame(f, index=d.index)
    out["abroad"] = d["merchant_country"].astype(str) != d["card_country"].astype(str)
    out["category"] = d["merchant_category"].cat.codes
    out["log_amount"] = np.log(d["amount"])
    out["hour"] = d["timestamp"].dt.hour
    return out.loc[frame.index]


@pytest.mark.parametrize("rate", [0.002, 0.01, 0.04])
def test_fraud_rate_follows_the_parameter_and_the_oracle_is_calibrated(rate):
    frame = make_transactions(60_000, fraud_rate=rate, holiday=False, random_state=4)
    assert len(frame) == 60_000
    assert frame["is_fraud"].mean() == pytest.approx(rate, rel=0.35)
    assert frame["oracle_p_fraud"].mean() == pytest.approx(frame["is_fraud"].mean(), rel=0.15)
    high = frame["oracle_p_fraud"] > 0.5
    assert frame.loc[high, "is_fraud"].mean() == pytest.approx(
        frame.loc[high, "oracle_p_fraud"].mean(), abs=0.08
    )


def test_the_period_ends_near_the_requested_length():
    for days in (20, 92, 163):
        frame = make_transactions(20_000, n_users=700, days=days, holiday=False, random_state=2)
        span = (frame["timestamp"].max() - frame["timestamp"].min()) / pd.Timedelta(days=1)
        assert days - 3 < span < days + 3, (days, span)


def _chains(frame):
    """Cardholders' payments (not card tests), by card and time, with the previous payment."""
    d = frame[frame["user_id"] < 4_000]  # the fixture's cardholders
    d = d.sort_values(["user_id", "timestamp"], kind="stable")
    same = d["user_id"].eq(d["user_id"].shift())
    gap = (d["timestamp"] - d["timestamp"].shift()).dt.total_seconds().where(same)
    return d.assign(gap=gap, previous_fraud=d["is_fraud"].shift().where(same))


def test_attacks_are_bursts_labelled_as_wholes(transactions):
    d = _chains(transactions)
    after_fraud = d[(d["previous_fraud"] == 1) & (d["gap"] < 3_600)]
    quiet = d[d["previous_fraud"] == 0]
    # an attacker's next payment comes within the hour and is the attacker's again, most times
    assert after_fraud["is_fraud"].mean() > 0.5 > 20 * quiet["is_fraud"].mean()
    # attack payments look like attacks: risky categories and larger amounts than the card's own
    fraud, legit = d[d["is_fraud"] == 1], d[d["is_fraud"] == 0]
    risky = ["electronics", "online_services", "gift_cards"]
    assert (
        fraud["merchant_category"].isin(risky).mean()
        > 2 * legit["merchant_category"].isin(risky).mean()
    )
    # fraud rings: a few merchants hold a large share of the attacks
    by_merchant = fraud["merchant_id"].value_counts()
    assert by_merchant.iloc[: max(3, transactions["merchant_id"].nunique() // 100)].sum() > (
        0.2 * len(fraud)
    )


def test_card_testing_is_many_unknown_cards_at_one_merchant_in_the_holiday(transactions):
    tests = transactions[transactions["user_id"] >= 4_000]
    assert len(tests) > 0 and tests["holiday"].all() and (tests["is_fraud"] == 1).all()
    assert (tests["amount"] <= 5.0).all()
    per_merchant = tests.groupby("merchant_id")["user_id"].nunique()
    assert per_merchant.max() >= 5  # many cards at one merchant
    # test charges are rarely charged back
    assert 0.6 < tests["chargeback_at"].isna().mean() < 0.95


def test_chargebacks_arrive_days_to_months_later_and_some_never(transactions):
    fraud = transactions[transactions["is_fraud"] == 1]
    reported = fraud[fraud["chargeback_at"].notna()]
    delay = (reported["chargeback_at"] - reported["timestamp"]).dt.total_seconds() / 86_400
    assert delay.min() >= 2 and delay.max() <= 120 and 10 < delay.median() < 40
    assert (delay > 75).mean() > 0.01  # a tail beyond the first two and a half months
    assert 0.05 < fraud["chargeback_at"].isna().mean() < 0.4  # some fraud is never reported
    assert transactions.loc[transactions["is_fraud"] == 0, "chargeback_at"].isna().all()


def test_point_in_time_features_do_not_look_ahead(transactions):
    sample = transactions.iloc[:20_000]
    cut = sample["timestamp"].quantile(0.5)
    before = _pit_features(sample)
    future = sample.copy()
    later = future["timestamp"] > cut
    future.loc[later, "amount"] *= 10
    future.loc[later, "timestamp"] -= pd.Timedelta(minutes=30)
    after = _pit_features(future)
    early = sample["timestamp"] <= cut - pd.Timedelta(hours=1)
    pd.testing.assert_frame_equal(before[early], after[early])


def test_holiday_shifts_inputs_and_the_concept(transactions, transaction_features):
    pre, hol = transactions[~transactions["holiday"]], transactions[transactions["holiday"]]
    assert 0.2 < transactions["holiday"].mean() < 0.7
    assert hol["amount"].median() > 1.15 * pre["amount"].median()  # p(x) moves
    assert hol["is_fraud"].mean() > 1.2 * pre["is_fraud"].mean()  # more fraud in the holiday
    features = transaction_features
    cut = pre["timestamp"].quantile(0.7)
    train = pre[pre["timestamp"] < cut]
    valid = pre[pre["timestamp"] >= cut]
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    model.fit(features.loc[train.index], train["is_fraud"])

    def closed(part):  # share of the rule-to-oracle PR-AUC gap the pre-holiday model closes
        from sklearn.metrics import average_precision_score as ap

        y = part["is_fraud"]
        base, best = ap(y, baseline_fraud(part)), ap(y, oracle_fraud(part))
        return (ap(y, model.predict_proba(features.loc[part.index])[:, 1]) - base) / (best - base)

    assert closed(hol) < 0.75 * closed(valid), (closed(valid), closed(hol))  # p(y|x) moves


def test_oracle_beats_rule_and_velocity_features_matter(transactions, transaction_features):
    from sklearn.metrics import average_precision_score

    pre = transactions[~transactions["holiday"]]
    cut = pre["timestamp"].quantile(0.6)
    train, test = pre[pre["timestamp"] < cut], pre[pre["timestamp"] >= cut]
    features = transaction_features
    static = ["category", "log_amount", "hour", "abroad"]
    y = test["is_fraud"]

    def pr_auc(columns):
        model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
        model.fit(features.loc[train.index, columns], train["is_fraud"])
        return average_precision_score(
            y, model.predict_proba(features.loc[test.index, columns])[:, 1]
        )

    rule = average_precision_score(y, baseline_fraud(test))
    best = average_precision_score(y, oracle_fraud(test))
    with_velocity = pr_auc(list(features.columns))
    assert best > 5 * rule
    assert pr_auc(static) + 0.05 < with_velocity <= best + 0.05, (
        pr_auc(static),
        with_velocity,
        best,
    )


# -- Recommendations -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def interactions():
    return make_interactions(random_state=1)  # default size, a seed other than the committed one


def test_interactions_show_popularity_skew_exploration_and_cold_start(interactions):
    counts = interactions["item_id"].value_counts()
    assert counts.iloc[: len(counts) // 10].sum() > 0.4 * len(interactions)  # a long tail
    explore = interactions["logging_policy"] == "random"
    assert 0.08 < explore.mean() < 0.12
    new = interactions["item_released_at"] > interactions["timestamp"].min()
    period = interactions["timestamp"].max() - interactions["timestamp"].min()
    assert (
        new.any()
        and (
            interactions.loc[new, "item_released_at"]
            >= interactions["timestamp"].min() + 0.75 * period
        ).all()
    )
    assert (interactions["timestamp"] >= interactions["item_released_at"]).all(), (
        "shown before release"
    )
    new_items = interactions.loc[new, "item_id"].unique()
    assert counts.reindex(new_items).median() < counts.median()
    clicked = interactions["clicked"] == 1
    assert (interactions.loc[~clicked, "watch_seconds"] == 0).all()
    assert (interactions.loc[clicked, "watch_seconds"] > 0).mean() > 0.99
    assert 0.03 < interactions["clicked"].mean() < 0.3
    # exposure bias: the logger shows what people click anyway, so logged CTR flatters it
    logged_ctr = interactions.loc[~explore, "clicked"].mean()
    explore_ctr = interactions.loc[explore, "clicked"].mean()
    assert logged_ctr > 1.5 * explore_ctr


def test_propensities_are_the_loggers_probabilities(interactions):
    """Self-normalised inverse propensity weighting of the logged clicks recovers a uniform
    policy's CTR, which the exploration slice measures directly."""
    weights = 1.0 / interactions["propensity"]
    snips = (weights * interactions["clicked"]).sum() / weights.sum()
    explore = interactions.loc[interactions["logging_policy"] == "random", "clicked"]
    assert abs(snips - explore.mean()) < 3 * explore.std() / np.sqrt(len(explore)), (
        snips,
        explore.mean(),
    )
    assert interactions["propensity"].between(0, 1, inclusive="right").all()
    # the unweighted mean does not: that is the bias the weights remove
    assert interactions["clicked"].mean() > 1.5 * explore.mean()


def test_cold_start_items_are_reached_through_their_content(interactions):
    """New items have too few clicks for popularity; the user's taste for the item's topic
    (content known at release) ranks them far better, and the oracle better still."""
    catalogue = item_catalogue(interactions)
    new = catalogue["item_released_at"] > interactions["timestamp"].min()
    new_items = catalogue.loc[new, "item_id"].to_numpy()
    users = np.sort(np.random.default_rng(0).choice(interactions["user_id"].unique(), 300))
    topics = catalogue["item_topic"].cat.codes.to_numpy()[new_items]
    content = _smoothed_user_ctr(interactions, users, "item_topic", 80)[:, topics]
    click = oracle_click_probability(interactions, users, new_items)
    online = {
        name: _top_k_mean(click, scores, k=5)
        for name, scores in {
            "content": content,
            "popular": baseline_scores(interactions, users, new_items),
            "oracle": oracle_scores(interactions, users, new_items),
        }.items()
    }
    assert len(new_items) >= 20
    assert online["content"] > 1.3 * online["popular"], online
    assert online["content"] < online["oracle"], online


def _recall_at(scores, users, positives, k=20):
    top = np.argsort(-scores, axis=1)[:, :k]
    hits = total = 0
    for row, user in enumerate(users):
        liked = positives.get(user, set())
        hits += len(liked & set(top[row].tolist()))
        total += len(liked)
    return hits / total


def _top_k_mean(truth, scores, k=20):
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return float(np.take_along_axis(truth, top, axis=1).mean())


def _smoothed_user_ctr(train, users, key, n_columns):
    """Each user's CTR on each code of `key` (category or topic), shrunk to the overall CTR."""
    overall = train["clicked"].mean()
    counts = train.groupby(["user_id", train[key].cat.codes])["clicked"].agg(["sum", "count"])
    return (
        ((counts["sum"] + 5 * overall) / (counts["count"] + 5))
        .unstack(fill_value=overall)
        .reindex(index=users, columns=range(n_columns), fill_value=overall)
        .to_numpy()
    )


def test_watch_time_rewards_taste_within_categories_and_punishes_clickbait(interactions):
    """Judged by the true expected watch time of each user's top 20 (noise-free): ranking by true
    click probability leaves most of it (clickbait), taste by topic beats taste by category, and
    most-popular items are clickable but barely watched. Offline on the logged slice, exposure
    bias flatters most-popular."""
    cut = interactions["timestamp"].quantile(0.8)
    train = interactions[interactions["timestamp"] < cut]
    catalogue = item_catalogue(interactions)
    items = catalogue.loc[catalogue["item_released_at"] < cut, "item_id"].to_numpy()
    users = np.sort(np.random.default_rng(0).choice(train["user_id"].unique(), 300, replace=False))
    watch = oracle_expected_watch(interactions, users, items)
    click = oracle_click_probability(interactions, users, items)
    overall = train["clicked"].mean()
    by_item = train.groupby("item_id")["clicked"].agg(["sum", "count"]).reindex(items, fill_value=0)
    item_ctr = ((by_item["sum"] + 20 * overall) / (by_item["count"] + 20)).to_numpy()
    category = catalogue["item_category"].cat.codes.to_numpy()[items]
    topic = catalogue["item_topic"].cat.codes.to_numpy()[items]
    by_category = _smoothed_user_ctr(train, users, "item_category", 10)[:, category]
    by_topic = _smoothed_user_ctr(train, users, "item_topic", 80)[:, topic]
    rankers = {
        "oracle": watch,
        "oracle by click": click,
        "popular": baseline_scores(train, users, items),
        "category_ctr": by_category * item_ctr,
        "topic_ctr": by_topic * item_ctr,
        "random": np.random.default_rng(0).uniform(size=watch.shape),
    }
    watched = {name: _top_k_mean(watch, scores) for name, scores in rankers.items()}
    clicked = {name: _top_k_mean(click, scores) for name, scores in rankers.items()}
    assert clicked["popular"] > 3 * clicked["random"], clicked
    assert watched["oracle by click"] < 0.6 * watched["oracle"], watched  # clickbait
    assert clicked["oracle by click"] > 1.3 * clicked["oracle"], clicked
    assert watched["topic_ctr"] > 1.3 * watched["category_ctr"], watched  # taste within categories
    assert watched["category_ctr"] > 5 * watched["popular"], watched
    assert max(watched["topic_ctr"], watched["category_ctr"]) < watched["oracle"], watched

    # offline on the logged slice, the oracle looks worst: the logger never showed what it picks
    test = interactions[interactions["timestamp"] >= cut]
    logged = test[
        (test["logging_policy"] == "popularity")
        & (test["clicked"] == 1)
        & test["user_id"].isin(users)
        & test["item_id"].isin(items)
    ]
    column = np.searchsorted(items, logged["item_id"])  # items are sorted
    positives = pd.Series(column).groupby(logged["user_id"].to_numpy()).agg(set).to_dict()
    rows = np.searchsorted(users, list(positives))
    on_logged = {
        name: _recall_at(rankers[name][rows], list(positives), positives)
        for name in ("popular", "category_ctr", "topic_ctr", "oracle")
    }
    assert on_logged["oracle"] < 0.5 * min(on_logged["popular"], on_logged["category_ctr"]), (
        on_logged,
        watched,
    )
    stripped = interactions.copy()
    stripped.attrs = {}
    for oracle in (oracle_scores, oracle_click_probability, oracle_expected_watch):
        with pytest.raises(ValueError, match="latent"):
            oracle(stripped, users, items)
    with pytest.raises(ValueError, match="catalogue"):
        item_catalogue(stripped)


def test_the_catalogue_lists_every_item_with_what_the_log_says_of_it(interactions):
    catalogue = item_catalogue(observable(interactions))
    assert catalogue["item_id"].tolist() == list(range(len(catalogue)))
    assert len(catalogue) == 50_000 > interactions["item_id"].nunique()
    shown = catalogue.set_index("item_id").loc[interactions["item_id"]]
    for column in ("item_category", "item_topic", "item_length_seconds", "item_released_at"):
        assert (shown[column].to_numpy() == interactions[column].to_numpy()).all(), column
    topic_category = catalogue["item_topic"].astype(str).str.split("-").str[0]
    assert (topic_category == catalogue["item_category"].astype(str)).all()


def test_observable_drops_the_answer_key_columns_and_latent_factors():
    frame = make_interactions(2_000, n_users=50, n_items=100, random_state=0)
    seen = observable(frame)
    assert not [c for c in seen.columns if c.startswith("oracle_")]
    assert "latent" not in seen.attrs and "latent" in frame.attrs
    assert "catalogue" in seen.attrs  # what the service knows of its items is not the answer key
    with pytest.raises(ValueError, match="latent"):
        oracle_scores(seen, [0], [0])


def test_oracles_computed_in_place_are_the_generating_formulas(interactions):
    """The users x items oracles sum and squash in place to save memory: the same bytes as the
    formulas written plainly, and the in-place sigmoid overwrites (and returns) its input."""
    from curriculum.datasets import interactions as world
    from curriculum.datasets._logistic import sigmoid, sigmoid_in_place

    users = np.sort(interactions["user_id"].unique())[:40]
    items = np.sort(interactions["item_id"].unique())[:700]
    taste, quality, appeal, length = world._oracle_parts(interactions, users, items)
    click = sigmoid(taste + quality + appeal - world.CLICK_OFFSET)
    completion = sigmoid(taste + quality - world.BAIT * appeal - world.COMPLETION_OFFSET)
    assert np.array_equal(oracle_scores(interactions, users, items), taste + quality + appeal)
    assert np.array_equal(oracle_click_probability(interactions, users, items), click)
    watch = oracle_expected_watch(interactions, users, items)
    assert np.array_equal(watch, click * completion * length)
    x = np.array([-30.0, -3.0, 0.0, 2.5, 30.0])
    want = sigmoid(x)
    got = sigmoid_in_place(x)
    assert got is x and np.array_equal(got, want)
