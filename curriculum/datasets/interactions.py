"""Recommendation impressions, clicks and watch time over a large catalogue (Day 5).

The generating process
----------------------
Items belong to ten categories, and each category to eight **topics** (80 in all: "comedy-3" is
a kind of comedy). Each topic has a centre in a 16-dimensional taste space: its category's centre
plus a topic offset, so two comedies share more than a comedy and a drama, but one kind of comedy
is not another. An item sits at its topic's centre. Users like one topic in each of two
categories (a mix of the two, plus a taste of their own). The **taste** of user *u* for item *i*
is ``taste_u · centre(topic_i)``: a user's favourite topic scores ~5, another topic of the same
category ~3, other categories ~0.

Every item also has a **quality** (a long tail) and a **click appeal** (its thumbnail and title)
that the content does not show. A shown item is clicked with probability::

    P(click) = sigmoid(taste + quality + appeal - 7)

and a click is watched for a fraction of the item's length with mean::

    completion = sigmoid(taste + quality - 2 * appeal - 4)

so a "clickbait" item (high appeal) draws clicks that are abandoned: the **expected watch time**
of an impression, ``P(click) × completion × length``, rewards taste, quality and length and
punishes appeal. Ranking by click probability is not ranking by watch time.

The production logger already personalises a little: 60 % of its impressions show a popular item
of one of the user's two favourite categories (known from sign-up), the rest a popular item of the
whole catalogue, popular meaning ``exp(2 · (quality + appeal))`` (it was trained on clicks); 10 %
of all impressions are exploration traffic, uniform over the released items. Every impression
records the logger's propensity. New (**cold-start**) items are released during the last fifth
of the period. Most of a 50,000-item catalogue is never clicked: items are placed by their content
(topic, length) and by the few that were.

The catalogue (ids, category, topic, length, release time: what the service knows about every
item, shown or not) is in ``frame.attrs["catalogue"]``; :func:`item_catalogue` makes it a
DataFrame. The oracle: :func:`oracle_expected_watch` (seconds per impression: what a recommender
is graded on), :func:`oracle_click_probability` and :func:`oracle_scores` (the click logit),
computed from ``frame.attrs["latent"]``. The ``oracle_affinity`` column (the click logit of each
logged impression) is **not a feature**.

What models reach (seeds 1-3 and 5005 at the default size, 300 users, trained on the first 90 % of
the period; the share of the gap between most-popular and the oracle's top 20 by expected watch
time): popular items of the user's most clicked category 9-11 %; the oracle's own top 20 by true
click probability 35-39 %; Day 5's reference (500 candidates retrieved by topic taste, ranked by
P(click) x E[watch | click] from two boosted trees) 60-67 %, and 45-49 % when the same model ranks
by click probability alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import FrozenArray, choice
from curriculum.datasets._logistic import sigmoid, sigmoid_in_place
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
TOPICS_PER_CATEGORY = 8
TOPICS = tuple(f"{c}-{k}" for c in CATEGORIES for k in range(TOPICS_PER_CATEGORY))
N_FACTORS = 16
CENTRE_NORM = 2.0  # every category centre has this length: seeds give comparable worlds
TOPIC_NORM = 1.5  # a topic's offset from its category's centre
USER_NOISE = 0.3  # a user's own taste beyond their two topics
QUALITY_SCALE = 0.3  # quality: a long tail, smaller than taste
APPEAL_SCALE = 0.8  # click appeal (thumbnail, title): clicks it draws are abandoned
CLICK_OFFSET = 7.0
COMPLETION_OFFSET = 4.0
BAIT = 2.0  # how much appeal lowers completion
LENGTH_MEDIAN = 480.0  # seconds
LENGTH_SPREAD = 0.3  # log-normal sigma of item length
EXPOSURE_WEIGHT = 2.0  # the production logger shows items ~ exp(2 x (quality + appeal))
PERSONAL_SHARE = 0.6  # logged impressions drawn from one of the user's favourite categories
EXPLORE_SHARE = 0.1  # impressions served uniformly at random (exploration traffic)
POLICIES = ("popularity", "random")


def make_interactions(
    n_impressions: int = 300_000,
    *,
    n_users: int = 1_000,
    n_items: int = 50_000,
    cold_start_share: float = 0.1,
    start: str | pd.Timestamp = "2025-11-01",
    days: int = 28,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Generate logged recommendation impressions with clicks and watch time.

    Parameters
    ----------
    n_impressions : int, default 300_000
        Number of logged impressions.
    n_users : int, default 1_000
        Number of users.
    n_items : int, default 50_000
        Number of items in the catalogue (at least 80, one per topic).
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
        One row per impression, sorted by time. ``frame.attrs["catalogue"]`` lists every item
        (see :func:`item_catalogue`); ``frame.attrs["latent"]`` holds what the oracles need.

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
            The item's category.
        item_topic : category
            The item's topic within its category ("comedy-3"), known at release.
        item_length_seconds : float64
            The item's length, known at release.
        item_released_at : datetime64[ns, UTC]
            When the item entered the catalogue.
        logging_policy : category
            ``popularity`` (production: popular items, partly of the user's favourite categories)
            or ``random`` (10 % exploration traffic, uniform over released items).
        propensity : float64
            Probability that the logging policy showed this item to this user at that moment:
            the weight for inverse propensity scoring.
        clicked : int8
            1 if the user clicked (started watching).
        watch_seconds : float64
            Seconds watched (0 without a click).
        oracle_affinity : float64
            The true click logit of the impression: the oracle, **not a feature**.

    Raises
    ------
    ValueError
        If a size is not a positive int, `cold_start_share` is outside (0, 0.5), `start` is not
        a date or `random_state` is of the wrong type.
    """
    n = check_count("n_impressions", n_impressions)
    n_users = check_count("n_users", n_users)
    n_items = check_count("n_items", n_items, minimum=len(TOPICS))
    cold = check_fraction("cold_start_share", cold_start_share, 0.0, 0.5)
    days = check_count("days", days)
    start_ts = check_start("start", start).normalize()
    rng = check_random_state(random_state)

    centres = rng.normal(0.0, 1.0, size=(len(CATEGORIES), N_FACTORS))
    centres *= CENTRE_NORM / np.linalg.norm(centres, axis=1, keepdims=True)
    offsets = rng.normal(0.0, 1.0, size=(len(TOPICS), N_FACTORS))
    offsets *= TOPIC_NORM / np.linalg.norm(offsets, axis=1, keepdims=True)
    topic_centres = np.round(centres.repeat(TOPICS_PER_CATEGORY, axis=0) + offsets, 4)
    item_topic = rng.integers(len(TOPICS), size=n_items)
    quality = np.round(QUALITY_SCALE * np.log1p(rng.pareto(1.3, size=n_items)) - 0.2, 3)
    appeal = np.round(rng.normal(0.0, APPEAL_SCALE, size=n_items), 3)
    length = np.round(LENGTH_MEDIAN * np.exp(rng.normal(0.0, LENGTH_SPREAD, size=n_items)))
    period = days * 86_400.0
    is_new = rng.uniform(size=n_items) < cold
    released = np.floor(np.where(is_new, rng.uniform(0.8 * period, period, size=n_items), 0.0))

    favourite = np.argsort(rng.uniform(size=(n_users, len(CATEGORIES))), axis=1)[:, :2]
    topic = favourite * TOPICS_PER_CATEGORY + rng.integers(TOPICS_PER_CATEGORY, size=(n_users, 2))
    mix = rng.uniform(0.5, 1.0, size=(n_users, 1))
    user_factors = (
        mix * topic_centres[topic[:, 0]]
        + (1 - mix) * topic_centres[topic[:, 1]]
        + rng.normal(0.0, USER_NOISE, size=(n_users, N_FACTORS))
    )
    user_factors = np.round(user_factors, 4)
    user_activity = rng.gamma(1.5, 1.0, size=n_users)

    seconds, user, item, explore, propensity = _log_impressions(
        rng,
        n,
        days,
        released,
        item_topic // TOPICS_PER_CATEGORY,
        quality + appeal,
        favourite,
        user_activity,
    )
    taste = _taste(user_factors, topic_centres, user, item_topic[item])
    logit = _click_logit(taste, quality[item], appeal[item])
    clicked = rng.uniform(size=n) < sigmoid(logit - CLICK_OFFSET)
    completion = _completion(taste, quality[item], appeal[item])
    del taste
    share = rng.beta(np.maximum(4 * completion, 1e-3), np.maximum(4 * (1 - completion), 1e-3))
    watch = np.where(clicked, np.maximum(np.round(length[item] * share, 1), 0.1), 0.0)
    del completion, share

    frame = pd.DataFrame(
        {
            "impression_id": np.arange(n, dtype=np.int64),
            "timestamp": utc_timestamps(start_ts, seconds),
            "user_id": user,
            "item_id": item,
            "item_category": pd.Categorical.from_codes(
                item_topic[item] // TOPICS_PER_CATEGORY, categories=list(CATEGORIES)
            ),
            "item_topic": pd.Categorical.from_codes(item_topic[item], categories=list(TOPICS)),
            "item_length_seconds": length[item],
            "item_released_at": utc_timestamps(start_ts, released[item]),
            "logging_policy": pd.Categorical.from_codes(
                explore.view(np.int8), categories=list(POLICIES)
            ),
            "propensity": np.round(propensity, 10, out=propensity),
            "clicked": clicked.view(np.int8),
            "watch_seconds": watch,
            "oracle_affinity": np.round(logit, 6, out=logit),
        },
        copy=False,  # every column is a fresh array: no second copy at the peak
    )
    # frozen arrays, not lists: pandas deep-copies attrs into every frame derived from this one
    frame.attrs["catalogue"] = {
        "start": start_ts.isoformat(),
        "item_topic": FrozenArray(item_topic),
        "item_length_seconds": FrozenArray(length),
        "released_seconds": FrozenArray(released),
    }
    frame.attrs["latent"] = {
        "user_factors": FrozenArray(user_factors),
        "topic_centres": FrozenArray(topic_centres),
        "item_quality": FrozenArray(quality),
        "item_appeal": FrozenArray(appeal),
    }
    return frame


def _taste(
    user_factors: np.ndarray, topic_centres: np.ndarray, users: np.ndarray, topics: np.ndarray
) -> np.ndarray:
    """taste_u · centre(topic) for each (user, topic) pair, through the small user x topic table."""
    table = user_factors @ topic_centres.T
    return table[users, topics]


# the two formulas of the generating process, shared by the log and by the oracles (which pass
# a users x items taste and per-item rows: the same arithmetic, broadcast)
def _click_logit(taste: np.ndarray, quality: np.ndarray, appeal: np.ndarray) -> np.ndarray:
    logit = taste + quality  # a new array, summed into in place: the same bytes, less memory
    logit += appeal
    return logit


def _completion(taste: np.ndarray, quality: np.ndarray, appeal: np.ndarray) -> np.ndarray:
    """The mean share of an item watched after a click."""
    z = taste + quality
    z -= BAIT * appeal
    z -= COMPLETION_OFFSET
    return sigmoid_in_place(z)


def _log_impressions(
    rng: np.random.Generator,
    n: int,
    days: int,
    released: np.ndarray,
    item_category: np.ndarray,
    popularity: np.ndarray,
    favourite: np.ndarray,
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
    personal = rng.uniform(size=n) < PERSONAL_SHARE
    chosen = favourite[user, (rng.uniform(size=n) < 0.5).view(np.int8)]
    draw = rng.uniform(size=n)
    exposure = np.exp(EXPOSURE_WEIGHT * popularity)

    def popular_among(members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # the logger's draw among `members` released by then: item, total exposure, count
        order = members[np.argsort(released[members], kind="stable")]
        available = np.searchsorted(released[order], seconds, side="right")
        cumulative = np.cumsum(exposure[order])
        total = cumulative[np.maximum(available - 1, 0)]
        at = np.searchsorted(cumulative, draw * total, side="right")
        return order[np.minimum(at, np.maximum(available - 1, 0))], total, available

    item, total, available = popular_among(np.arange(len(released)))
    category_total = np.zeros((int(item_category.max()) + 1, n))
    for category in range(category_total.shape[0]):
        got, category_total[category], _ = popular_among(np.flatnonzero(item_category == category))
        mine = personal & (chosen == category)
        item[mine] = got[mine]
    order = np.argsort(released, kind="stable")
    uniform = np.minimum(np.floor(rng.uniform(size=n) * available).astype(np.int64), available - 1)
    item = np.where(explore, order[uniform], item)
    del uniform
    # what the logger knew: the chance that its mixture policy shows this item at that moment
    shown_category = item_category[item]
    in_favourite = (favourite[user] == shown_category[:, None]).any(axis=1)
    own = category_total[shown_category, np.arange(n)]
    propensity = (1.0 - EXPLORE_SHARE) * exposure[item] * (
        (1.0 - PERSONAL_SHARE) / total + PERSONAL_SHARE * 0.5 * in_favourite / own
    ) + EXPLORE_SHARE / available
    return seconds, user, item, explore, propensity


def item_catalogue(interactions: pd.DataFrame) -> pd.DataFrame:
    """Every item of the catalogue, shown or not: what the service knows about it at release.

    Parameters
    ----------
    interactions : DataFrame
        A frame from :func:`make_interactions` (or a row subset, or its :func:`observable` copy):
        its ``attrs["catalogue"]`` lists the items.

    Returns
    -------
    DataFrame
        One row per item, by id: ``item_id``, ``item_category``, ``item_topic``,
        ``item_length_seconds``, ``item_released_at`` (the same dtypes as the log's columns).

    Raises
    ------
    ValueError
        If the frame does not carry the catalogue.
    """
    listed = interactions.attrs.get("catalogue")
    if not listed:
        raise ValueError(
            "interactions carries no catalogue: pass the frame from make_interactions "
            "(or a row subset of it)"
        )
    topic = np.asarray(listed["item_topic"], dtype=np.int64)
    return pd.DataFrame(
        {
            "item_id": np.arange(len(topic), dtype=np.int64),
            "item_category": pd.Categorical.from_codes(
                topic // TOPICS_PER_CATEGORY, categories=list(CATEGORIES)
            ),
            "item_topic": pd.Categorical.from_codes(topic, categories=list(TOPICS)),
            "item_length_seconds": np.asarray(listed["item_length_seconds"], dtype=float),
            "item_released_at": utc_timestamps(
                pd.Timestamp(listed["start"]), np.asarray(listed["released_seconds"], dtype=float)
            ),
        }
    )


def _latent(interactions: pd.DataFrame) -> dict:
    latent = interactions.attrs.get("latent")
    if not latent or "catalogue" not in interactions.attrs:
        raise ValueError(
            "interactions carries no latent factors: pass the frame from make_interactions "
            "(or a row subset of it)"
        )
    return latent


def _oracle_parts(
    interactions: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Taste (users x items), quality, appeal and length of the items."""
    latent = _latent(interactions)
    catalogue = interactions.attrs["catalogue"]
    items = np.asarray(item_ids, dtype=np.int64)
    users = np.asarray(user_ids, dtype=np.int64)
    taste = _taste(
        np.asarray(latent["user_factors"]),
        np.asarray(latent["topic_centres"]),
        users[:, None],
        np.asarray(catalogue["item_topic"])[items][None, :],
    )
    return (
        taste,
        np.asarray(latent["item_quality"])[items],
        np.asarray(latent["item_appeal"])[items],
        np.asarray(catalogue["item_length_seconds"])[items],
    )


def oracle_scores(
    interactions: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray
) -> np.ndarray:
    """True click logit of each user for each item (taste + quality + appeal).

    Parameters
    ----------
    interactions : DataFrame
        A frame from :func:`make_interactions` (or a subset of it): its ``attrs`` hold the
        generating factors.
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
    taste, quality, appeal, _ = _oracle_parts(interactions, user_ids, item_ids)
    return _click_logit(taste, quality, appeal)


def oracle_click_probability(
    interactions: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray
) -> np.ndarray:
    """True probability that each user clicks each item when it is shown.

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
    logit = oracle_scores(interactions, user_ids, item_ids)
    logit -= CLICK_OFFSET
    return sigmoid_in_place(logit)


def oracle_expected_watch(
    interactions: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray
) -> np.ndarray:
    """True expected seconds watched when each item is shown to each user.

    ``P(click) × mean completion × length``: the mean over a recommender's top k items per user
    is what an online test of watch time would measure, without noise.

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
    taste, quality, appeal, length = _oracle_parts(interactions, user_ids, item_ids)
    watch = _click_logit(taste, quality, appeal)  # users x items: computed in place, same bytes
    watch -= CLICK_OFFSET
    sigmoid_in_place(watch)  # P(click)
    watch *= _completion(taste, quality, appeal)
    watch *= length
    return watch


def baseline_scores(train: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
    """Most popular: every user gets the items ranked by their clicks in `train`."""
    clicks = train.groupby("item_id")["clicked"].sum()
    popularity = clicks.reindex(np.asarray(item_ids), fill_value=0).to_numpy(dtype=float)
    return np.broadcast_to(popularity, (len(np.asarray(user_ids)), popularity.size)).copy()
