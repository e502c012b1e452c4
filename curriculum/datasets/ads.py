"""Ad impressions and clicks for the click-through-rate case (Day 4).

The generating process
----------------------
Advertisers (each in one of eight categories) run campaigns with daily budgets and cost-per-click
bids; each campaign has a few creatives whose headline is a handful of tokens. Most campaigns
started before the period; a share `launch_share` of them launch during it (their creatives appear
then, staggered over a few days), and each creative is rotated out after two to five weeks, so the
log always has ads without history while the mix of ad ages stays steady. Users have an interest
profile over the categories and a personal propensity to click.

A **request** is one feed view: a user, a time, a device, and 1–4 ad slots (as far as the user
scrolled). ``CANDIDATES`` live creatives compete for them (bigger budgets are candidates more
often) and the **logging policy**, an earlier model, ranks them by bid × its pCTR (the creative's
quality as it knew it: no user, no fatigue, some error); the best take the slots from the top.
So the ads in the top slot are not a random sample, and the raw click rate by slot overstates the
slot's own effect. Every shown ad is one impression row. The click probability is logistic::

    logit p = b0 + advertiser + campaign + Σ token effects + creative jitter + user
              + 2.5 × interest(user, category) + position bias + device + hour
              − fatigue × (the creative's own rate) × min(creative age in days, 30)
              + drift(creative, day)

Creative fatigue makes an ad's click rate fall as it ages (some creatives wear out faster than
others) and ``drift`` is a daily random walk of each creative's appeal, so a creative's click
rate measured last week misses today's: historical click rates must be fresh to be right.

with ``b0`` solved so the mean probability equals `ctr`. Clicks are Bernoulli(p). The true ``p`` is
returned in the column ``oracle_p_click``: it is the oracle, never a feature — drop it with
:func:`observable` before building features.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import choice
from curriculum.datasets._logistic import sigmoid, solve_intercept
from curriculum.datasets._validation import (
    check_count,
    check_fraction,
    check_random_state,
    check_start,
    utc_timestamps,
)

CATEGORIES = ("retail", "travel", "finance", "gaming", "food", "auto", "education", "health")
DEVICES = ("mobile", "desktop", "tablet")
DEVICE_SHARE = (0.62, 0.32, 0.06)
DEVICE_EFFECT = np.array([0.0, 0.15, -0.1])
CANDIDATES = 8  # creatives competing for the slots of one request
POSITION_EFFECT = np.array([0.0, -0.45, -0.8, -1.1])  # position bias: lower slots are seen less
#: headline tokens: neutral words, and a few that move the click rate (up or down)
TOKENS = {
    "free": 0.35,
    "sale": 0.25,
    "new": 0.1,
    "today": 0.12,
    "exclusive": 0.15,
    "limited": 0.1,
    "guaranteed": -0.2,
    "click": -0.3,
    "best": 0.05,
    "save": 0.2,
    "offer": 0.08,
    "now": 0.05,
    "deal": 0.18,
    "official": 0.07,
    "premium": -0.05,
    "easy": 0.06,
    "fast": 0.05,
    "trial": 0.12,
}
NEUTRAL_TOKENS = (
    "shop",
    "find",
    "your",
    "plan",
    "get",
    "more",
    "online",
    "store",
    "local",
    "app",
    "home",
    "trip",
    "card",
    "game",
    "meal",
    "car",
    "course",
    "care",
    "style",
    "top",
    "smart",
    "city",
)


def make_ad_impressions(
    n_impressions: int = 50_000,
    *,
    n_users: int = 5_000,
    n_advertisers: int = 60,
    ctr: float = 0.02,
    start: str | pd.Timestamp = "2025-10-01",
    days: int = 14,
    launch_share: float = 0.3,
    fatigue: float = 0.05,
    drift: float = 0.0,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Generate ad impressions with clicks from a known logistic click model.

    Parameters
    ----------
    n_impressions : int, default 50_000
        Number of impressions.
    n_users : int, default 5_000
        Number of users; activity is skewed (a few users see many ads).
    n_advertisers : int, default 60
        Number of advertisers; each runs 1–4 campaigns of 2–5 creatives.
    ctr : float, default 0.02
        Target overall click-through rate, in (0, 0.5).
    start : str or Timestamp, default "2025-10-01"
        First day (UTC).
    days : int, default 14
        Length of the period in days.
    launch_share : float, default 0.3
        Share of campaigns that launch during the period (day 1 or later), in [0, 1).
    fatigue : float, default 0.05
        Mean drop of a creative's click logit per day of age (capped at 30 days), >= 0; each
        creative's own rate is this times a log-normal factor of mean 1.
    drift : float, default 0.0
        Standard deviation of the daily step of each creative's random-walk appeal (in logit), >= 0.
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same int gives the same frame on every machine.

    Returns
    -------
    DataFrame
        One row per impression, sorted by time.

        Columns
        -------
        impression_id : int64
            0, 1, ... in time order (the slots of one request from the top).
        request_id : int64
            The feed request (page view) the impression belongs to; its impressions share a
            timestamp, a user and a device and hold positions 1, 2, ...
        timestamp : datetime64[ns, UTC]
            When the ad was shown.
        user_id : int64
            The viewer.
        advertiser_id, campaign_id, creative_id : int64
            Who advertises, in which campaign, with which creative (ids are global).
        category : category
            The advertiser's category (retail, travel, ...).
        campaign_daily_budget : float64
            The campaign's daily budget in US dollars.
        bid : float64
            The campaign's cost-per-click bid in US dollars (the logging policy ranked by it).
        creative_text : category
            The creative's headline: tokens separated by spaces.
        position : int8
            Slot on the page, 1 (top) to 4.
        device : category
            mobile, desktop or tablet.
        click : int8
            1 if the impression was clicked (the label).
        oracle_p_click : float64
            The true click probability: the oracle, **not a feature**.

    Raises
    ------
    ValueError
        If a size is not a positive int, `ctr` is outside (0, 0.5), `launch_share` outside
        [0, 1), `fatigue` or `drift` negative, `start` is not a date or `random_state` is of the
        wrong type.
    """
    n = check_count("n_impressions", n_impressions)
    n_users = check_count("n_users", n_users)
    n_adv = check_count("n_advertisers", n_advertisers)
    ctr = check_fraction("ctr", ctr, 0.0, 0.5)
    days = check_count("days", days)
    launch_share = check_fraction("launch_share", launch_share, 0.0, 1.0, include_low=True)
    fatigue = check_fraction("fatigue", fatigue, 0.0, math.inf, include_low=True)
    drift = check_fraction("drift", drift, 0.0, math.inf, include_low=True)
    start_ts = check_start("start", start).normalize()
    rng = check_random_state(random_state)

    # the world: advertisers, campaigns, creatives, users
    adv_category = rng.integers(len(CATEGORIES), size=n_adv)
    adv_effect = rng.normal(0.0, 0.6, size=n_adv)
    campaigns_per_adv = rng.integers(1, 5, size=n_adv)
    camp_adv = np.repeat(np.arange(n_adv), campaigns_per_adv)
    n_camp = camp_adv.size
    camp_effect = rng.normal(0.0, 0.2, size=n_camp)
    camp_budget = np.round(rng.lognormal(np.log(500.0), 0.9, size=n_camp), 2)
    camp_bid = np.round(rng.lognormal(np.log(1.0), 0.5, size=n_camp), 2)  # cost per click, USD
    creatives_per_camp = rng.integers(2, 6, size=n_camp)
    cre_camp = np.repeat(np.arange(n_camp), creatives_per_camp)
    n_cre = cre_camp.size
    vocabulary = np.array(list(TOKENS) + list(NEUTRAL_TOKENS))
    weights = np.array(list(TOKENS.values()) + [0.0] * len(NEUTRAL_TOKENS))
    n_tokens = rng.integers(3, 7, size=n_cre)
    token_ids = rng.integers(vocabulary.size, size=(n_cre, 6))
    used = np.arange(6)[None, :] < n_tokens[:, None]
    cre_effect = (weights[token_ids] * used).sum(axis=1) + rng.normal(0.0, 0.15, size=n_cre)
    cre_text = np.array(
        [" ".join(vocabulary[ids[:k]]) for ids, k in zip(token_ids, n_tokens, strict=True)]
    )
    user_interest = rng.dirichlet(np.full(len(CATEGORIES), 0.4), size=n_users)
    user_effect = rng.normal(0.0, 0.6, size=n_users)
    user_activity = rng.pareto(1.5, size=n_users) + 1.0

    # launches: most campaigns are running already; some start during the period, and a
    # campaign's creatives go live over its first days
    launched_in_period = rng.uniform(size=n_camp) < launch_share
    camp_launch = np.where(
        launched_in_period,
        rng.integers(1, max(days, 2), size=n_camp),
        -rng.integers(0, 31, size=n_camp),
    )
    cre_launch = camp_launch[cre_camp] + rng.integers(0, 3, size=n_cre)  # day of the period
    cre_launch[cre_launch >= days] = days - 1  # everything appears before the period ends
    cre_retire = cre_launch + rng.integers(14, 36, size=n_cre)  # creatives are rotated out
    cre_fatigue = rng.lognormal(-0.5 * 0.6**2, 0.6, size=n_cre)  # some wear out faster (mean 1)
    cre_walk = np.cumsum(rng.normal(0.0, drift, size=(n_cre, days)), axis=1)  # day-to-day drift

    # requests: when, who, on which device, and how far down the feed the user scrolled (1-4 ad
    # slots seen, so slot k is seen on (5 - k) / 4 of the requests)
    slots = rng.integers(1, len(POSITION_EFFECT) + 1, size=n)  # more requests than ever needed
    filled = np.cumsum(slots)
    n_req = int(np.searchsorted(filled, n)) + 1
    slots = slots[:n_req]
    slots[-1] -= filled[n_req - 1] - n  # the last request fills exactly the rows asked for
    del filled
    hour_weight = (
        0.4
        + np.exp(-0.5 * ((np.arange(24) - 20.0) / 3.0) ** 2)
        + 0.5 * np.exp(-0.5 * ((np.arange(24) - 12.5) / 2.0) ** 2)
    )
    slot = choice(rng, n_req, np.tile(hour_weight, days) / (hour_weight.sum() * days))
    req_seconds = slot * 3600.0 + np.floor(rng.uniform(0, 3600, size=n_req))
    del slot
    req_seconds.sort()  # requests in time order (whole seconds)
    req_day = (req_seconds // 86400).astype(np.int64)
    req_user = choice(rng, n_req, user_activity / user_activity.sum())
    req_device = rng.choice(len(DEVICES), size=n_req, p=DEVICE_SHARE)

    # the logging policy: each request gets CANDIDATES live creatives (bigger budgets are
    # candidates more often) and an earlier model ranks them by bid x its pCTR, the creative's
    # quality as that model knew it (no user, no fatigue); the best take the slots from the top
    camp_weight = camp_budget / creatives_per_camp
    candidates = np.empty((n_req, CANDIDATES), dtype=np.int64)
    bounds = np.searchsorted(req_day, np.arange(days + 1))
    for d in range(days):  # one draw per day among the creatives live that day
        live = np.where((cre_launch <= d) & (d < cre_retire), camp_weight[cre_camp], 0.0)
        if not live.any():  # a tiny world with every creative retired: keep the launched ones
            live = np.where(cre_launch <= d, camp_weight[cre_camp], 0.0)
        lo, hi = bounds[d], bounds[d + 1]
        candidates[lo:hi] = choice(rng, (hi - lo) * CANDIDATES, live / live.sum()).reshape(
            hi - lo, CANDIDATES
        )
    static = adv_effect[camp_adv[cre_camp]] + camp_effect[cre_camp] + cre_effect
    logged_quality = static + rng.normal(0.0, 0.5, size=n_cre)  # the earlier model's estimate
    candidates.sort(axis=1)  # a creative drawn twice for one request competes once
    score = np.log(camp_bid[cre_camp])[candidates] + logged_quality[candidates]
    score[:, 1:][candidates[:, 1:] == candidates[:, :-1]] = -np.inf
    ranked = np.take_along_axis(candidates, np.argsort(-score, axis=1, kind="stable"), axis=1)
    del candidates, score
    request = np.repeat(np.arange(n_req), slots)
    position = (np.arange(n) - np.repeat(np.cumsum(slots) - slots, slots)).astype(np.int64)
    creative = ranked[request, position]
    del ranked
    seconds = req_seconds[request]
    camp = cre_camp[creative]
    adv = camp_adv[camp]
    user = req_user[request]
    device = req_device[request]
    hour = (seconds // 3600).astype(np.int64) % 24
    age_days = seconds / 86400.0 - cre_launch[creative]  # creative age at the impression

    rest = adv_effect[adv]  # summed in place, left to right: the same sum, fewer temporaries
    rest += camp_effect[camp]
    rest += cre_effect[creative]
    rest += user_effect[user]
    rest += 2.5 * user_interest[user, adv_category[adv]]
    rest += POSITION_EFFECT[position]
    rest += DEVICE_EFFECT[device]
    rest += 0.25 * np.exp(-0.5 * ((hour - 21.0) / 2.5) ** 2)
    rest -= fatigue * cre_fatigue[creative] * np.minimum(age_days, 30.0)
    rest += cre_walk[creative, req_day[request]]
    del hour, age_days
    p = sigmoid(solve_intercept(rest, ctr) + rest)
    click = (rng.uniform(size=n) < p).astype(np.int8)
    return pd.DataFrame(
        {
            "impression_id": np.arange(n, dtype=np.int64),
            "request_id": request.astype(np.int64, copy=False),
            "timestamp": utc_timestamps(start_ts, seconds),
            "user_id": user.astype(np.int64, copy=False),
            "advertiser_id": adv.astype(np.int64, copy=False),
            "campaign_id": camp.astype(np.int64, copy=False),
            "creative_id": creative.astype(np.int64, copy=False),
            "category": pd.Categorical.from_codes(adv_category[adv], categories=list(CATEGORIES)),
            "campaign_daily_budget": camp_budget[camp],
            "bid": camp_bid[camp],
            "creative_text": pd.Categorical.from_codes(creative, categories=cre_text)
            if len(set(cre_text)) == len(cre_text)
            else pd.Categorical(cre_text[creative]),
            "position": (position + 1).astype(np.int8),
            "device": pd.Categorical.from_codes(device, categories=list(DEVICES)),
            "click": click,
            "oracle_p_click": np.round(p, 6, out=p),
        },
        copy=False,  # every column is a fresh array: no second copy at the peak
    )


def oracle_ctr(impressions: pd.DataFrame) -> pd.Series:
    """The true click probability of each impression (the best possible prediction).

    Raises
    ------
    ValueError
        If the frame has no ``oracle_p_click`` column (it was dropped, or the frame was not made
        by :func:`make_ad_impressions`).
    """
    if "oracle_p_click" not in impressions:
        raise ValueError(
            "impressions has no oracle_p_click column: pass the frame from make_ad_impressions"
        )
    return impressions["oracle_p_click"].rename("oracle_ctr")


def baseline_ctr(
    train: pd.DataFrame, test: pd.DataFrame, *, prior_strength: float = 100.0
) -> pd.Series:
    """A first system: each advertiser's historical CTR on `train`, shrunk to the global CTR.

    Parameters
    ----------
    train : DataFrame
        Earlier impressions with clicks (the history).
    test : DataFrame
        Impressions to predict.
    prior_strength : float, default 100
        Pseudo-impressions at the global CTR added to each advertiser (smooths small ones).

    Returns
    -------
    Series
        Predicted click probability, aligned with `test`.
    """
    global_ctr = float(train["click"].mean())
    stats = train.groupby("advertiser_id")["click"].agg(["sum", "count"])
    smoothed = (stats["sum"] + prior_strength * global_ctr) / (stats["count"] + prior_strength)
    pred = test["advertiser_id"].map(smoothed).fillna(global_ctr).astype(float)
    return pred.rename("baseline_ctr")
