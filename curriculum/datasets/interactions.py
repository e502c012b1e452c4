"""Recommendation impressions, clicks and watch time (Day 5).

The generating process
----------------------
Items belong to ten categories; each category has a centre in a 16-dimensional taste space (all
centres the same length, so every seed gives a comparable world) and each item sits near its
category's centre, so the category (content) says something about an item before anyone has
seen it. Items also have a quality with a long tail. Users like one or two categories. The
**true affinity** of user *u* for item *i* is::

    affinity(u, i) = taste_u · position_i + quality_i

The production logger shows items in proportion to ``exp(2 · quality)`` (exposure bias), so the
tail is seldom shown; 10 % of impressions are exploration traffic shown uniformly at random, the
slice on which offline ranking metrics are unbiased. Every impression records the logger's
propensity (for inverse propensity scoring). A shown item is clicked with probability
``sigmoid(affinity − 4.5)``; a click leads to watch time that grows with affinity. New
(**cold-start**) items are released during the last fifth of the period and have few impressions.

The oracle ranks items by true affinity: :func:`oracle_scores` computes it for any users and
items from the latent factors the generator keeps in ``frame.attrs["latent"]``, and
:func:`oracle_click_probability` turns it into the chance of a click — what an online test of a
recommender would measure. The affinity of each logged impression is also in the
``oracle_affinity`` column, which is **not a feature**.

What a learned model can reach (seeds 1-10 at the default size, items released before the last
fifth, trained on the first four fifths): the mean true click probability of each user's top 20
is ~0.04 for random items, ~0.12 for most-popular, ~0.15 for a 16-factor SVD of the click matrix,
~0.21 for user-category CTR x item CTR and ~0.33 for the oracle. Offline on the logged
(popularity) slice most-popular looks better than it is: recall@20 0.72 against 0.55.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import choice, rowwise_dot
from curriculum.datasets._logistic import sigmoid
from curriculum.datasets._validation import (
    check_count,
    check_fraction,
    check_random_state,
    check_start,
    utc_timestamps,
)

CATEGORIES = (
    "action",
    "comedy",
    "drama",
    "documentary",
    "kids",
    "music",
    "sports",
    "news",
    "cooking",
    "travel",
)
N_FACTORS = 16
CENTRE_NORM = 2.0  # every category centre has this length: seeds give comparable worlds
CLICK_OFFSET = 4.5
TASTE_WEIGHT = 1.0
ITEM_NOISE = 0.25  # an item's spread around its category's centre
USER_NOISE = 0.2  # a user's own taste beyond their two categories
BIAS_SCALE = 0.6  # quality: a long tail, but smaller than taste
EXPOSURE_WEIGHT = 2.0  # the production logger shows items ~ exp(2 x quality)
EXPLORE_SHARE = 0.1  # impressions served uniformly at random (exploration traffic)
POLICIES = ("popularity", "random")


def make_interactions(
    n_impressions: int = 100_000,
    *,
    n_users: int = 1_000,
    n_items: int = 500,
    cold_start_share: float = 0.1,
    start: str | pd.Timestamp = "2025-11-01",
    days: int = 28,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Generate logged recommendation impressions with clicks and watch time.

    Parameters
    ----------
    n_impressions : int, default 100_000
        Number of logged impressions.
    n_users : int, default 1_000
        Number of users.
    n_items : int, default 500
        Number of items in the catalogue.
    cold_start_share : float, default 0.1
        Share of items released during the last fifth of the period, in (0, 0.5).
    start : str or Timestamp, default "2025-11-01"
        First day (UTC).
    days : int, default 28
        Length of the period in days.
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same int gives the same frame on every machine.

    Returns
    -------
    DataFrame
        One row per impression, sorted by time. ``frame.attrs["latent"]`` holds the latent
        factors :func:`oracle_scores` needs.

        Columns
        -------
        impression_id : int64
            0, 1, ... in time order.
        timestamp : datetime64[ns, UTC]
            When the item was shown.
        user_id : int64
            The user.
        item_id : int64
            The item shown.
        item_category : category
            The item's category (content known before anyone watches it).
        item_released_at : datetime64[ns, UTC]
            When the item entered the catalogue.
        logging_policy : category
            ``popularity`` (production: popular items shown more) or ``random`` (10 % exploration
            traffic, uniform over released items: unbiased for offline evaluation).
        propensity : float64
            Probability that the logging policy (popularity and exploration mixed) showed this
            item at that moment, as a production logger records it: the weight for inverse
            propensity scoring.
        clicked : int8
            1 if the user clicked (started watching).
        watch_seconds : float64
            Seconds watched (0 without a click).
        oracle_affinity : float64
            True affinity of the user for the item: the oracle, **not a feature**.

    Raises
    ------
    ValueError
        If a size is not a positive int, `cold_start_share` is outside (0, 0.5), `start` is not
        a date or `random_state` is of the wrong type.
    """
    n = check_count("n_impressions", n_impressions)
    n_users = check_count("n_users", n_users)
    n_items = check_count("n_items", n_items, minimum=len(CATEGORIES))
    cold = check_fraction("cold_start_share", cold_start_share, 0.0, 0.5)
    days = check_count("days", days)
    start_ts = check_start("start", start).normalize()
    rng = check_random_state(random_state)

    centres = rng.normal(0.0, 1.0, size=(len(CATEGORIES), N_FACTORS))
    centres *= CENTRE_NORM / np.linalg.norm(centres, axis=1, keepdims=True)
    item_category = rng.integers(len(CATEGORIES), size=n_items)
    item_factors = centres[item_category] + rng.normal(0.0, ITEM_NOISE, size=(n_items, N_FACTORS))
    item_bias = BIAS_SCALE * np.log1p(rng.pareto(1.3, size=n_items)) - 0.5
    period = days * 86_400.0
    is_new = rng.uniform(size=n_items) < cold
    released = np.where(is_new, rng.uniform(0.8 * period, period, size=n_items), 0.0)
    released = np.floor(released)

    favourite = rng.integers(len(CATEGORIES), size=(n_users, 2))
    mix = rng.uniform(0.5, 1.0, size=(n_users, 1))
    user_factors = (
        mix * centres[favourite[:, 0]]
        + (1 - mix) * centres[favourite[:, 1]]
        + rng.normal(0.0, USER_NOISE, size=(n_users, N_FACTORS))
    )
    user_activity = rng.gamma(1.5, 1.0, size=n_users)

    seconds, user, item, explore, propensity = _log_impressions(
        rng, n, days, released, item_bias, user_activity
    )

    # the oracle works from the stored (rounded) factors, so compute affinity from them too
    user_factors, item_factors = np.round(user_factors, 4), np.round(item_factors, 4)
    item_bias = np.round(item_bias, 4)
    affinity = TASTE_WEIGHT * rowwise_dot(user_factors, user, item_factors, item)
    affinity += item_bias[item]
    clicked = rng.uniform(size=n) < _click_probability(affinity)
    mean_watch = 300.0 * np.exp(0.3 * np.clip(affinity - CLICK_OFFSET, -3.0, 3.0))
    watch = np.where(clicked, rng.exponential(mean_watch), 0.0)
    del mean_watch

    frame = pd.DataFrame(
        {
            "impression_id": np.arange(n, dtype=np.int64),
            "timestamp": utc_timestamps(start_ts, seconds),
            "user_id": user,
            "item_id": item,
            "item_category": pd.Categorical.from_codes(
                item_category[item], categories=list(CATEGORIES)
            ),
            "item_released_at": utc_timestamps(start_ts, released[item]),
            "logging_policy": pd.Categorical.from_codes(
                explore.view(np.int8), categories=list(POLICIES)
            ),
            "propensity": np.round(propensity, 8, out=propensity),
            "clicked": clicked.view(np.int8),
            "watch_seconds": np.round(watch, 1, out=watch),
            "oracle_affinity": np.round(affinity, 6, out=affinity),
        },
        copy=False,  # every column is a fresh array: no second copy at the peak
    )
    frame.attrs["latent"] = {
        "user_factors": user_factors.tolist(),
        "item_factors": item_factors.tolist(),
        "item_bias": item_bias.tolist(),
    }
    return frame


def _log_impressions(
    rng: np.random.Generator,
    n: int,
    days: int,
    released: np.ndarray,
    item_bias: np.ndarray,
    user_activity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Times, users and the items the logging policy showed them, with its propensities."""
    hour_weight = 0.3 + np.exp(-0.5 * ((np.arange(24) - 20.0) / 3.0) ** 2)
    slot = choice(rng, n, np.tile(hour_weight, days) / (hour_weight.sum() * days))
    seconds = slot * 3600.0
    del slot
    seconds += np.floor(rng.uniform(0, 3600, size=n))
    seconds.sort()
    user = choice(rng, n, user_activity / user_activity.sum())
    explore = rng.uniform(size=n) < EXPLORE_SHARE
    order = np.argsort(released, kind="stable")
    available = np.searchsorted(released[order], seconds, side="right")  # released by then
    exposure = np.exp(EXPOSURE_WEIGHT * item_bias)  # the production logger favours popular items
    cumulative = np.cumsum(exposure[order])
    total = cumulative[available - 1]
    pick = rng.uniform(size=n) * total
    popular = np.minimum(np.searchsorted(cumulative, pick, side="right"), available - 1)
    del pick
    uniform = np.floor(rng.uniform(size=n) * available).astype(np.int64)
    item = order[np.where(explore, uniform, popular)]
    del uniform, popular
    # what the logger knew: the chance that its mixture policy shows this item at that moment
    propensity = (1.0 - EXPLORE_SHARE) * exposure[item] / total + EXPLORE_SHARE / available
    return seconds, user, item, explore, propensity


def oracle_scores(
    interactions: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray
) -> np.ndarray:
    """True affinity of each user for each item: rank by it for the oracle's recommendations.

    Parameters
    ----------
    interactions : DataFrame
        A frame from :func:`make_interactions` (or a subset of it): its ``attrs["latent"]``
        holds the generating factors.
    user_ids, item_ids : array of int
        Users (rows) and candidate items (columns).

    Returns
    -------
    ndarray of shape (len(user_ids), len(item_ids))

    Raises
    ------
    ValueError
        If the frame does not carry the latent factors (e.g. it was rebuilt from scratch).
    """
    latent = interactions.attrs.get("latent")
    if not latent:
        raise ValueError(
            "interactions carries no latent factors: pass the frame from make_interactions "
            "(or a row subset of it)"
        )
    users = np.asarray(latent["user_factors"])[np.asarray(user_ids)]
    items = np.asarray(latent["item_factors"])[np.asarray(item_ids)]
    bias = np.asarray(latent["item_bias"])[np.asarray(item_ids)]
    return TASTE_WEIGHT * (users @ items.T) + bias[None, :]


def oracle_click_probability(
    interactions: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray
) -> np.ndarray:
    """True probability that each user clicks each item when it is shown.

    The mean over a recommender's top-k items per user is what an online test would measure;
    with the oracle it is noise-free.

    Parameters
    ----------
    interactions : DataFrame
        A frame from :func:`make_interactions` (or a subset of it).
    user_ids, item_ids : array of int
        Users (rows) and candidate items (columns).

    Returns
    -------
    ndarray of shape (len(user_ids), len(item_ids))

    Raises
    ------
    ValueError
        If the frame does not carry the latent factors.
    """
    return _click_probability(oracle_scores(interactions, user_ids, item_ids))


def _click_probability(affinity: np.ndarray) -> np.ndarray:
    return sigmoid(affinity - CLICK_OFFSET)


def baseline_scores(train: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
    """Most popular: every user gets the items ranked by their clicks in `train`."""
    clicks = train.groupby("item_id")["clicked"].sum()
    popularity = clicks.reindex(np.asarray(item_ids), fill_value=0).to_numpy(dtype=float)
    return np.broadcast_to(popularity, (len(np.asarray(user_ids)), popularity.size)).copy()
