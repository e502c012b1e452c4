"""Card transactions with fraud, late chargebacks and a holiday shift (Day 3).

The generating process
----------------------
Cardholders shop mostly at a few favourite merchants in their own country, with a personal
typical amount. Attackers take over cards and spend them in **bursts**: several transactions
within hours, at risky merchants (electronics, gift cards, online services), often abroad and
for more than the cardholder usually spends; a few compromised merchants are hit by many cards
(fraud rings). Whether a transaction is fraud is then drawn from a known probability that
depends only on what a bank sees *at authorisation time* — the card's point-in-time history::

    logit p = b0 + w1·log1p(#tx in the previous 1 h) + w2·log1p(#tx in the previous 24 h)
              + w3·(log amount − mean log amount of the card's earlier transactions)
              + w4·[first transaction in this merchant country] + w5·[abroad]
              + merchant-category risk + w6·[night] (+ card testing in the holiday)

so the oracle, ``oracle_p_fraud``, is exactly the best score from those observables, and it is
only learnable with point-in-time velocity features. ``b0`` is solved so that the mean fraud
probability equals `fraud_rate`. A fraud's chargeback arrives days to weeks later
(``chargeback_at``); until then it looks legitimate.

**The holiday period** changes both the inputs and the concept: cardholders spend more, more
often, at new and foreign merchants (so p(x) shifts), large and new-country purchases become a
weaker sign of fraud, and fraudsters switch to *card testing* — bursts of tiny amounts (so
p(y|x) shifts). A model trained before the holiday loses precision during it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import choice, stable_argsort
from curriculum.datasets._logistic import sigmoid, solve_intercept
from curriculum.datasets._validation import (
    check_count,
    check_fraction,
    check_random_state,
    check_start,
    utc_timestamps,
)

CATEGORIES = (
    "grocery",
    "restaurant",
    "fuel",
    "retail",
    "travel",
    "electronics",
    "online_services",
    "gift_cards",
)
#: share of merchants, typical amount (USD), fraud risk (logit), attacker preference
CATEGORY_TABLE = {
    "grocery": (0.22, 45.0, -0.6, 0.02),
    "restaurant": (0.22, 35.0, -0.5, 0.03),
    "fuel": (0.12, 50.0, -0.2, 0.05),
    "retail": (0.18, 70.0, 0.0, 0.15),
    "travel": (0.06, 350.0, 0.3, 0.10),
    "electronics": (0.08, 250.0, 0.8, 0.30),
    "online_services": (0.08, 25.0, 0.5, 0.20),
    "gift_cards": (0.04, 100.0, 1.0, 0.15),
}
COUNTRIES = ("US", "CA", "MX", "GB", "DE", "FR", "BR", "IN", "NG", "CN")
HOME_SHARE = (0.80, 0.06, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01, 0.005, 0.005)
MERCHANT_COUNTRY_SHARE = (0.70, 0.05, 0.04, 0.05, 0.04, 0.03, 0.02, 0.03, 0.02, 0.02)

#: logit weights before and during the holiday (the concept that drifts)
WEIGHTS = {
    "normal": {
        "n_1h": 2.6,
        "n_24h": 0.8,
        "amount_z": 1.1,
        "new_country": 2.6,
        "abroad": 1.0,
        "night": 1.0,
        "card_testing": 0.0,
    },
    "holiday": {
        "n_1h": 2.0,
        "n_24h": 0.4,
        "amount_z": 0.4,
        "new_country": 1.0,
        "abroad": 0.4,
        "night": 1.0,
        "card_testing": 6.0,
    },
}
DEFAULT_HOLIDAY = ("2025-11-24", "2026-01-01")  # Thanksgiving week to New Year (exclusive)


def point_in_time_features(
    user: np.ndarray, seconds: np.ndarray, amount: np.ndarray, country: np.ndarray
) -> dict[str, np.ndarray]:
    """The generator's point-in-time card features, for rows sorted by (user, time).

    Every feature of a row uses only the same card's transactions strictly before it:
    counts in the previous hour and day (window ``[t - w, t)``), the mean log amount of all earlier
    transactions, and whether the merchant country is new for the card.
    """
    key = user.astype(np.float64) * 1e10 + seconds  # one sorted axis: card, then time
    now = np.searchsorted(key, key, side="left")
    n_1h = now - np.searchsorted(key, key - 3_600, side="left")
    n_24h = now - np.searchsorted(key, key - 86_400, side="left")
    del key, now
    first = np.r_[True, user[1:] != user[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(user.size), 0))
    del first
    previous = np.arange(user.size) - start  # earlier transactions of the card (by order)
    log_amount = np.log(amount)
    cumulative = np.cumsum(log_amount)
    before = cumulative - log_amount
    before -= np.where(start > 0, cumulative[start - 1], 0.0)
    del cumulative, start
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_before = np.where(previous > 0, before / np.maximum(previous, 1), np.nan)
    del before
    amount_z = np.where(previous > 0, log_amount - mean_before, 0.0)
    del mean_before, log_amount
    pair = user.astype(np.int64) * len(COUNTRIES) + country
    order = stable_argsort(pair)
    sorted_pair = pair[order]
    del pair
    first_of_pair = np.r_[True, sorted_pair[1:] != sorted_pair[:-1]]
    del sorted_pair
    new_country = np.zeros(user.size, dtype=bool)
    new_country[order] = first_of_pair
    new_country &= previous > 0
    return {"n_1h": n_1h, "n_24h": n_24h, "amount_z": amount_z, "new_country": new_country}


def make_transactions(
    n_transactions: int = 50_000,
    *,
    n_users: int = 2_000,
    n_merchants: int = 600,
    fraud_rate: float = 0.005,
    start: str | pd.Timestamp = "2025-10-01",
    days: int = 92,
    holiday: bool | tuple[str, str] = True,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Generate card transactions with fraud labels that arrive late.

    Parameters
    ----------
    n_transactions : int, default 50_000
        Number of transactions (legitimate and fraudulent).
    n_users : int, default 2_000
        Number of cards (one per cardholder).
    n_merchants : int, default 600
        Number of merchants.
    fraud_rate : float, default 0.005
        Mean fraud probability, in [0.001, 0.05] (0.1 %–5 %).
    start : str or Timestamp, default "2025-10-01"
        First day (UTC).
    days : int, default 92
        Length of the period in days.
    holiday : bool or (start, end), default True
        True: the holiday period 2025-11-24 to 2025-12-31 (when it overlaps the period);
        a pair of dates sets it; False: no holiday.
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same int gives the same frame on every machine.

    Returns
    -------
    DataFrame
        One row per transaction, sorted by time.

        Columns
        -------
        transaction_id : int64
            0, 1, ... in time order.
        timestamp : datetime64[ns, UTC]
            Authorisation time.
        user_id : int64
            The card (one per cardholder).
        card_country : category
            Country that issued the card (the cardholder's home).
        merchant_id : int64
            The merchant.
        merchant_category : category
            grocery, restaurant, fuel, retail, travel, electronics, online_services, gift_cards.
        merchant_country : category
            The merchant's country.
        amount : float64
            Amount in US dollars (cents).
        holiday : bool
            Whether the transaction falls in the holiday period.
        is_fraud : int8
            1 for fraud (the label; known only once the chargeback arrives).
        chargeback_at : datetime64[ns, UTC]
            When the chargeback (the fraud label) arrives: 2–75 days later; NaT for legitimate
            transactions.
        oracle_p_fraud : float64
            The true fraud probability: the oracle, **not a feature**.

    Raises
    ------
    ValueError
        If a size is not a positive int, `fraud_rate` is outside [0.001, 0.05], a date is not a
        date, `holiday` is malformed or `random_state` is of the wrong type.
    """
    n = check_count("n_transactions", n_transactions, minimum=10)
    n_users = check_count("n_users", n_users)
    n_merchants = check_count("n_merchants", n_merchants, minimum=len(CATEGORIES))
    fraud_rate = check_fraction("fraud_rate", fraud_rate, 0.0009999, 0.0500001)
    days = check_count("days", days)
    start_ts = check_start("start", start).normalize()
    holiday_start, holiday_end = _holiday_window(holiday, start_ts)
    rng = check_random_state(random_state)

    # the world: merchants and cardholders
    shares = np.array([v[0] for v in CATEGORY_TABLE.values()])
    merchant_category = rng.choice(len(CATEGORIES), size=n_merchants, p=shares / shares.sum())
    merchant_country = rng.choice(len(COUNTRIES), size=n_merchants, p=MERCHANT_COUNTRY_SHARE)
    merchant_popularity = rng.pareto(1.2, size=n_merchants) + 1.0
    user_country = rng.choice(len(COUNTRIES), size=n_users, p=HOME_SHARE)
    user_activity = rng.gamma(2.0, 1.0, size=n_users)
    user_level = rng.normal(0.0, 0.45, size=n_users)  # log spending level vs the category
    domestic = [np.flatnonzero(merchant_country == c) for c in range(len(COUNTRIES))]
    favourites = np.stack(
        [
            rng.choice(domestic[c] if domestic[c].size else np.arange(n_merchants), size=8)
            for c in user_country
        ]
    )

    period = days * 86_400.0
    h_start = (holiday_start - start_ts).total_seconds() if holiday_start is not None else period
    h_end = (holiday_end - start_ts).total_seconds() if holiday_end is not None else period

    # attacks: a card is taken over at some moment and spent in a burst
    n_attack_rows = max(1, int(round(1.2 * fraud_rate * n)))
    burst = 2 + rng.poisson(2.5, size=n_attack_rows)
    n_attacks = int(np.searchsorted(np.cumsum(burst), n_attack_rows) + 1)
    burst = burst[:n_attacks]
    attack_rows = int(burst.sum())
    n_legit = n - attack_rows
    if n_legit < n // 2:
        raise ValueError("fraud_rate is too high for n_transactions")

    # legitimate transactions: time from a diurnal intensity (busier in the holiday)
    hours = np.arange(days * 24)
    hour_of_day = hours % 24
    intensity = 0.15 + np.exp(-0.5 * ((hour_of_day - 13.0) / 4.0) ** 2)
    in_holiday_hour = (hours * 3600.0 >= h_start) & (hours * 3600.0 < h_end)
    intensity = intensity * np.where(in_holiday_hour, 1.5, 1.0)
    slot = choice(rng, n_legit, intensity / intensity.sum())
    legit_seconds = slot * 3600.0 + np.floor(rng.uniform(0, 3600, size=n_legit))
    legit_holiday = (legit_seconds >= h_start) & (legit_seconds < h_end)
    legit_user = choice(rng, n_legit, user_activity / user_activity.sum())
    explore = rng.uniform(size=n_legit) < np.where(legit_holiday, 0.35, 0.12)
    popular = choice(rng, n_legit, merchant_popularity / merchant_popularity.sum())
    legit_merchant = np.where(
        explore, popular, favourites[legit_user, rng.integers(0, 8, size=n_legit)]
    )
    typical = np.log([v[1] for v in CATEGORY_TABLE.values()])
    legit_log_amount = (
        typical[merchant_category[legit_merchant]]
        + user_level[legit_user]
        + rng.normal(0.0, 0.6, size=n_legit)
        + np.where(legit_holiday, 0.3, 0.0)
    )

    # fraudulent bursts: risky merchants, often abroad, larger amounts; card testing in holidays
    attack_user = rng.integers(0, n_users, size=n_attacks)
    attack_start = rng.uniform(0, period - 6 * 3600, size=n_attacks)
    attack_holiday = (attack_start >= h_start) & (attack_start < h_end)
    card_testing = attack_holiday & (rng.uniform(size=n_attacks) < 0.6)
    row_attack = np.repeat(np.arange(n_attacks), burst)
    gaps = rng.exponential(np.where(card_testing[row_attack], 120.0, 1_200.0))
    first_row = np.r_[0, np.cumsum(burst)[:-1]]
    offsets = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first_row] - gaps[first_row], burst)
    fraud_seconds = np.floor(attack_start[row_attack] + offsets)
    preference = np.array([v[3] for v in CATEGORY_TABLE.values()])
    merchant_weight = preference[merchant_category] * np.where(merchant_country == 0, 1.0, 2.5)
    ring = rng.choice(
        n_merchants, size=max(1, n_attacks // 15), p=merchant_weight / merchant_weight.sum()
    )
    use_ring = rng.uniform(size=n_attacks) < 0.3
    attack_merchant = choice(rng, attack_rows, merchant_weight / merchant_weight.sum())
    attack_merchant = np.where(
        use_ring[row_attack],
        ring[rng.integers(0, ring.size, size=n_attacks)][row_attack],
        attack_merchant,
    )
    fraud_log_amount = np.where(
        card_testing[row_attack],
        np.log(rng.uniform(1.0, 5.0, size=attack_rows)),
        typical[merchant_category[attack_merchant]] + 0.8 + rng.normal(0.0, 0.5, size=attack_rows),
    )

    # all rows, sorted by card then time, for the point-in-time features
    user = np.concatenate([legit_user, attack_user[row_attack]])
    seconds = np.minimum(np.concatenate([legit_seconds, fraud_seconds]), period - 1)
    merchant = np.concatenate([legit_merchant, attack_merchant])
    amount = np.round(np.exp(np.concatenate([legit_log_amount, fraud_log_amount])), 2)
    amount = np.maximum(amount, 0.5)
    del legit_user, legit_seconds, legit_merchant, legit_log_amount, legit_holiday, explore
    del popular, fraud_seconds, attack_merchant, fraud_log_amount, gaps, offsets, row_attack
    # seconds are whole numbers in [0, period): one integer key sorts by card, then time
    order = stable_argsort(user * int(period) + seconds.astype(np.int64))
    user, seconds, merchant, amount = user[order], seconds[order], merchant[order], amount[order]
    del order
    in_holiday = (seconds >= h_start) & (seconds < h_end)
    p = _fraud_probability(
        user,
        seconds,
        amount,
        merchant_country[merchant],
        in_holiday,
        risk=np.array([v[2] for v in CATEGORY_TABLE.values()])[merchant_category[merchant]],
        home=user_country[user],
        fraud_rate=fraud_rate,
    )
    is_fraud = rng.uniform(size=n) < p
    delay_days = np.clip(rng.lognormal(np.log(21.0), 0.6, size=n), 2.0, 75.0)

    by_time = stable_argsort(seconds.astype(np.int64) * n_users + user)
    chargeback_at = _chargebacks(start_ts, seconds[by_time], is_fraud[by_time], delay_days[by_time])
    del delay_days
    m = merchant[by_time]
    del merchant
    u = user[by_time]
    del user
    return pd.DataFrame(
        {
            "transaction_id": np.arange(n, dtype=np.int64),
            "timestamp": utc_timestamps(start_ts, seconds[by_time]),
            "user_id": u,
            "card_country": pd.Categorical.from_codes(user_country[u], categories=list(COUNTRIES)),
            "merchant_id": m,
            "merchant_category": pd.Categorical.from_codes(
                merchant_category[m], categories=list(CATEGORIES)
            ),
            "merchant_country": pd.Categorical.from_codes(
                merchant_country[m], categories=list(COUNTRIES)
            ),
            "amount": amount[by_time],
            "holiday": in_holiday[by_time],
            "is_fraud": is_fraud[by_time].view(np.int8),
            "chargeback_at": chargeback_at,
            "oracle_p_fraud": np.round(p[by_time], 6),
        },
        copy=False,  # every column is a fresh array: no second copy at the peak
    )


def _fraud_probability(
    user: np.ndarray,
    seconds: np.ndarray,
    amount: np.ndarray,
    country: np.ndarray,
    in_holiday: np.ndarray,
    *,
    risk: np.ndarray,
    home: np.ndarray,
    fraud_rate: float,
) -> np.ndarray:
    """True fraud probability of rows sorted by (card, time), from the regime's weights.

    `risk` (the merchant category's base logit per row) is the working buffer: it is updated in
    place, so pass an array nobody else holds.
    """
    features = point_in_time_features(user, seconds, amount, country)
    hour = (seconds % 86_400) // 3600
    rest = risk
    for regime, mask in (("normal", ~in_holiday), ("holiday", in_holiday)):
        w = WEIGHTS[regime]
        rest[mask] += (
            w["n_1h"] * np.log1p(features["n_1h"][mask])
            + w["n_24h"] * np.log1p(features["n_24h"][mask])
            + w["amount_z"] * np.clip(features["amount_z"][mask], -2.0, 4.0)
            + w["new_country"] * features["new_country"][mask]
            + w["abroad"] * (country[mask] != home[mask])
            + w["night"] * (hour[mask] < 5)
            + w["card_testing"] * ((features["n_1h"][mask] >= 1) & (amount[mask] < 5.0))
        )
    return sigmoid(solve_intercept(rest, fraud_rate) + rest)


def _chargebacks(
    start: pd.Timestamp, seconds: np.ndarray, is_fraud: np.ndarray, delay_days: np.ndarray
) -> pd.Series:
    """When each fraud's chargeback arrives (NaT for legitimate rows)."""
    chargeback = np.where(is_fraud, seconds + np.round(delay_days * 86_400.0), np.nan)
    return utc_timestamps(start, chargeback)


def _holiday_window(
    holiday: bool | tuple[str, str], start: pd.Timestamp
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if holiday is False:
        return None, None
    if holiday is True:
        holiday = DEFAULT_HOLIDAY
    if not (isinstance(holiday, tuple | list) and len(holiday) == 2):
        raise ValueError(f"holiday must be True, False or a (start, end) pair, got {holiday!r}")
    begin, end = check_start("holiday", holiday[0]), check_start("holiday", holiday[1])
    if end <= begin:
        raise ValueError(f"holiday must end after it starts, got {holiday!r}")
    return begin, end


def oracle_fraud(transactions: pd.DataFrame) -> pd.Series:
    """The true fraud probability of each transaction (the best possible score).

    Raises
    ------
    ValueError
        If the frame has no ``oracle_p_fraud`` column.
    """
    if "oracle_p_fraud" not in transactions:
        raise ValueError(
            "transactions has no oracle_p_fraud column: pass the frame from make_transactions"
        )
    return transactions["oracle_p_fraud"].rename("oracle_fraud")


def baseline_fraud(transactions: pd.DataFrame, *, threshold: float = 500.0) -> pd.Series:
    """A first rule: flag every transaction above `threshold` dollars (score 1.0, else 0.0)."""
    return (transactions["amount"] > threshold).astype(float).rename("baseline_fraud")
