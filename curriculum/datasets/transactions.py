"""Card transactions with attack bursts, card testing, late chargebacks and a holiday (Day 3).

The generating process
----------------------
Cardholders shop mostly at a few favourite merchants in their own country, with a personal
typical amount. Each card's payments form one sequence in time, and every payment is, as a
whole, either the cardholder's or an attacker's who has taken the card over:

* Whether payment *t* of a card is the attacker's is drawn from a **prior** that depends only on
  what the bank sees before it — the card's velocity::

      logit prior = b0 + 0.4·log1p(#tx in the previous 24 h)        (no payment in the last hour)
                  = 0.5 + 0.3·log1p(#tx in the previous 1 h)         (a payment in the last hour)

  so an attack, once started, goes on in a **burst** (each next payment comes minutes later and is
  the attacker's again about two times in three), labelled fraud from its first payment to its
  last. ``b0`` is set so that about `fraud_rate` of the payments are fraud.
* Then the payment itself is drawn from its author's habits: the cardholder's favourite or popular
  merchants and typical amount; the attacker's risky categories (electronics, gift cards, online
  services), often abroad, a few compromised **fraud-ring** merchants, larger amounts.

The oracle, ``oracle_p_fraud``, is the exact posterior from what the bank sees at authorisation:
``logit = logit prior + log(p(payment | attacker) / p(payment | cardholder))`` (it knows each
cardholder's true habits, which a bank can only estimate from the card's history).

**Card testing**: during the holiday, fraudsters check batches of stolen card numbers at one
merchant: many cards (numbers this bank has never seen) make one to three payments of a few
dollars within a few hours. Their oracle score is 0.99 (a legitimate first payment of a few
dollars at that merchant in that hour is all but impossible).

**Labels arrive late, some never**: a fraud's chargeback (``chargeback_at``) arrives 2–120 days
later (log-normal, median three weeks); 10 % of attack fraud and 80 % of card tests (a few dollars
nobody notices) are never charged back: ``is_fraud`` is 1 and ``chargeback_at`` is NaT.

**The holiday period** changes both the inputs and the concept: cardholders spend more, more
often, at new and foreign merchants (so p(x) shifts); attackers strike more often and blend in,
spending ordinary amounts and no more abroad than at home (so p(y|x) shifts); and card testing
starts. Fraud is more frequent in the holiday than before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriculum.datasets._arrays import stable_argsort
from curriculum.datasets._logistic import sigmoid
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

#: the world before and during the holiday (the inputs and the concept that drift)
REGIMES = {
    "normal": {
        "explore": 0.12,  # share of a cardholder's payments away from their favourite merchants
        "legit_shift": 0.0,  # log amount over the cardholder's usual level
        "attack_start": 0.0,  # added to b0: how often attacks start
        "attack_shift": 0.8,  # log amount of an attacker's payment over the category's typical one
        "attack_abroad": 2.5,  # attacker's preference for foreign merchants
    },
    "holiday": {
        "explore": 0.35,
        "legit_shift": 0.3,
        "attack_start": 0.4,
        "attack_shift": 0.0,
        "attack_abroad": 1.0,
    },
}
#: logit of the prior that a payment within an hour of the card's previous one is the attacker's
BURST_LOGIT = 0.5
#: weight of log1p(#payments in the previous 24 h) in the prior of an attack starting
DAY_COUNT_WEIGHT = 0.4
#: how much faster cardholders pay during the holiday
HOLIDAY_ACTIVITY = 1.5
#: seconds a cardholder waits at least between two payments, plus an exponential gap (a
#: simplification: their quick repeats would otherwise look like an attack in progress)
LEGIT_MIN_GAP = 3_600.0
#: minutes between an attacker's payments (mean of an exponential)
ATTACK_GAP_MINUTES = 15.0
#: share of attack fraud / card tests never charged back
UNREPORTED = {"attack": 0.10, "card_testing": 0.80}
#: the oracle score of a card-testing payment
CARD_TEST_ORACLE = 0.99
DEFAULT_HOLIDAY = ("2025-11-24", "2026-01-01")  # Thanksgiving week to New Year (exclusive)
_BUFFER = 64  # earlier payment times kept per card for the velocity counts


def point_in_time_features(
    user: np.ndarray, seconds: np.ndarray, amount: np.ndarray, country: np.ndarray
) -> dict[str, np.ndarray]:
    """Point-in-time card features, for rows sorted by (user, time): a trusted reference.

    The generator draws its own velocity as it goes; tests and the examiner use these.

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
    """Generate card transactions with fraud labels that arrive late (or never).

    Parameters
    ----------
    n_transactions : int, default 50_000
        Number of transactions (legitimate and fraudulent).
    n_users : int, default 2_000
        Number of cardholders (card-testing payments come from further, unknown cards).
    n_merchants : int, default 600
        Number of merchants.
    fraud_rate : float, default 0.005
        About the share of fraud outside the holiday, in [0.001, 0.05] (0.1 %–5 %); the realised
        share varies by some tens of per cent.
    start : str or Timestamp, default "2025-10-01"
        First day (UTC).
    days : int, default 92
        Length of the period in days: the transactions end with the `n_transactions`-th one,
        which falls within about a day of that length.
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
            The card: 0 .. n_users - 1 for cardholders, higher for stolen card numbers tested.
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
            1 for fraud: every payment of an attack or a card test (the truth; a bank learns it
            only from a chargeback, and never for unreported fraud).
        chargeback_at : datetime64[ns, UTC]
            When the chargeback (the fraud label) arrives: 2–120 days later; NaT for legitimate
            transactions and for fraud that is never reported.
        oracle_p_fraud : float64
            The true fraud probability given what the bank sees: the oracle, **not a feature**.

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
    period = days * 86_400.0
    h_start = (holiday_start - start_ts).total_seconds() if holiday_start is not None else np.inf
    h_end = (holiday_end - start_ts).total_seconds() if holiday_end is not None else np.inf
    world = _World(rng, n_users, n_merchants)

    # card tests first: they need no history, and they count towards n
    tests = _card_tests(rng, world, n, fraud_rate, max(h_start, 0.0), min(h_end, period), n_users)
    # cardholders pay at a rate that makes the expected count n by the end of the period
    hours = np.arange(int(np.ceil(4 * period / 3600)) + 48)
    intensity = 0.15 + np.exp(-0.5 * ((hours % 24 - 13.0) / 4.0) ** 2)
    holiday_hour = (hours * 3600.0 >= h_start) & (hours * 3600.0 < h_end)
    intensity *= np.where(holiday_hour, HOLIDAY_ACTIVITY, 1.0)
    cumulative = np.r_[0.0, np.cumsum(intensity)] / intensity[: int(period // 3600)].sum()
    expected_burst = 1.0 / (1.0 - 1.0 / (1.0 + np.exp(-BURST_LOGIT)))
    b0 = float(np.log(fraud_rate / (expected_burst * (1 - fraud_rate))))
    b0 -= DAY_COUNT_WEIGHT * np.log1p(0.3)  # the usual handful of payments in a day
    legit_target = max(n - tests["seconds"].size, 1) * (1 - fraud_rate)
    rate = world.activity / world.activity.sum() * legit_target  # payments per unit of intensity
    rate /= np.clip(1.0 - rate * (LEGIT_MIN_GAP + 1.0) / period, 0.2, None)  # the rest after each
    chains = _card_chains(
        rng, world, rate, cumulative, b0, h_start, h_end, n, tests["seconds"], period
    )

    rows = {k: np.concatenate([chains[k], tests[k]]) for k in chains}
    order = stable_argsort(
        rows["seconds"].astype(np.int64) * (n_users + tests["n_cards"] + 1) + rows["user"]
    )[:n]
    rows = {k: v[order] for k, v in rows.items()}
    seconds, user, merchant, fraud = rows["seconds"], rows["user"], rows["merchant"], rows["fraud"]
    in_holiday = (seconds >= h_start) & (seconds < h_end)
    delay_days = np.clip(rng.lognormal(np.log(21.0), 0.7, size=n), 2.0, 120.0)
    unreported = rng.uniform(size=n) < np.where(
        rows["test"], UNREPORTED["card_testing"], UNREPORTED["attack"]
    )
    charged = fraud & ~unreported
    chargeback = np.where(charged, seconds + np.round(delay_days * 86_400.0), np.nan)
    card_country = np.r_[world.user_country, tests["card_country"]]
    return pd.DataFrame(
        {
            "transaction_id": np.arange(n, dtype=np.int64),
            "timestamp": utc_timestamps(start_ts, seconds),
            "user_id": user.astype(np.int64),
            "card_country": pd.Categorical.from_codes(
                card_country[user], categories=list(COUNTRIES)
            ),
            "merchant_id": merchant.astype(np.int64),
            "merchant_category": pd.Categorical.from_codes(
                world.merchant_category[merchant], categories=list(CATEGORIES)
            ),
            "merchant_country": pd.Categorical.from_codes(
                world.merchant_country[merchant], categories=list(COUNTRIES)
            ),
            "amount": rows["amount"],
            "holiday": in_holiday,
            "is_fraud": fraud.astype(np.int8),
            "chargeback_at": utc_timestamps(start_ts, chargeback),
            "oracle_p_fraud": np.round(rows["oracle"], 6),
        },
        copy=False,
    )


class _World:
    """Merchants, cardholders and attackers: who pays where, and how much."""

    def __init__(self, rng: np.random.Generator, n_users: int, n_merchants: int) -> None:
        shares = np.array([v[0] for v in CATEGORY_TABLE.values()])
        self.merchant_category = rng.choice(
            len(CATEGORIES), size=n_merchants, p=shares / shares.sum()
        )
        self.merchant_country = rng.choice(
            len(COUNTRIES), size=n_merchants, p=MERCHANT_COUNTRY_SHARE
        )
        popularity = rng.pareto(1.2, size=n_merchants) + 1.0
        self.popular = popularity / popularity.sum()
        self.popular_cdf = np.cumsum(self.popular)
        self.user_country = rng.choice(len(COUNTRIES), size=n_users, p=HOME_SHARE)
        self.activity = rng.gamma(2.0, 1.0, size=n_users)
        self.level = rng.normal(0.0, 0.45, size=n_users)  # log spending level vs the category
        domestic = [np.flatnonzero(self.merchant_country == c) for c in range(len(COUNTRIES))]
        everywhere = np.arange(n_merchants)
        self.favourites = np.stack(
            [
                rng.choice(domestic[c] if domestic[c].size else everywhere, size=8)
                for c in self.user_country
            ]
        )
        self.typical = np.log([v[1] for v in CATEGORY_TABLE.values()])
        preference = np.array([v[3] for v in CATEGORY_TABLE.values()])[self.merchant_category]
        self.ring = rng.choice(
            n_merchants,
            size=max(3, n_merchants // 100),
            replace=False,
            p=preference / preference.sum(),
        )
        self.attacker = {}  # regime -> p(merchant | attacker)
        for regime, r in REGIMES.items():
            weight = preference * np.where(self.merchant_country == 0, 1.0, r["attack_abroad"])
            p = 0.7 * weight / weight.sum()
            p[self.ring] += 0.3 / self.ring.size
            self.attacker[regime] = p
        self.attacker_cdf = {regime: np.cumsum(p) for regime, p in self.attacker.items()}

    def cardholder_merchant_p(self, user: np.ndarray, merchant: np.ndarray, explore: np.ndarray):
        """p(merchant | cardholder): favourites (8 draws) or a popular merchant."""
        favourite = (self.favourites[user] == merchant[:, None]).sum(axis=1) / 8.0
        return (1 - explore) * favourite + explore * self.popular[merchant]


def _card_tests(
    rng: np.random.Generator,
    world: _World,
    n: int,
    fraud_rate: float,
    begin: float,
    end: float,
    first_card: int,
) -> dict[str, np.ndarray]:
    """Card-testing campaigns in [begin, end): many unknown cards, a few dollars, one merchant."""
    empty = {
        k: np.zeros(0, dtype=t)
        for k, t in (
            ("seconds", float),
            ("user", np.int64),
            ("merchant", np.int64),
            ("amount", float),
            ("fraud", bool),
            ("oracle", float),
            ("test", bool),
        )
    }
    if not end > begin + 6 * 3600:
        return empty | {"card_country": np.zeros(0, dtype=np.int64), "n_cards": 0}
    n_campaigns = max(1, int(round((end - begin) / (7 * 86_400))))
    targets = np.flatnonzero(np.isin(world.merchant_category, [3, 6, 7]))  # retail, online, gift
    parts, card = [], first_card
    for _ in range(n_campaigns):
        merchant = int(rng.choice(targets)) if targets.size else 0
        t0 = rng.uniform(begin, end - 6 * 3600)
        n_cards = 3 + int(rng.poisson(n * fraud_rate / 100))
        first = t0 + rng.uniform(0, 3 * 3600, size=n_cards)
        repeats = 1 + rng.poisson(0.8, size=n_cards)
        owner = np.repeat(np.arange(card, card + n_cards), repeats)
        step = rng.exponential(120.0, size=owner.size)
        lead = np.r_[0, np.cumsum(repeats)[:-1]]
        offset = np.cumsum(step) - np.repeat(np.cumsum(step)[lead] - step[lead], repeats)
        parts.append(
            (np.floor(np.repeat(first, repeats) + offset), owner, np.full(owner.size, merchant))
        )
        card += n_cards
    seconds, user, merchant = (np.concatenate(p) for p in zip(*parts, strict=True))
    keep = seconds < end
    m = int(keep.sum())
    return {
        "seconds": seconds[keep],
        "user": user[keep],
        "merchant": merchant[keep],
        "amount": np.round(rng.uniform(0.5, 5.0, size=m), 2),
        "fraud": np.ones(m, dtype=bool),
        "oracle": np.full(m, CARD_TEST_ORACLE),
        "test": np.ones(m, dtype=bool),
        "card_country": rng.choice(len(COUNTRIES), size=card - first_card, p=HOME_SHARE),
        "n_cards": card - first_card,
    }


def _card_chains(
    rng: np.random.Generator,
    world: _World,
    rate: np.ndarray,
    cumulative: np.ndarray,
    b0: float,
    h_start: float,
    h_end: float,
    n: int,
    other_seconds: np.ndarray,
    period: float,
) -> dict[str, np.ndarray]:
    """Every cardholder's payments in time order, each one the cardholder's or an attacker's.

    All cards advance together, one payment per step; the sequences run until at least `n`
    payments (with `other_seconds`) fall before the time where they stop.
    """
    n_users = rate.size
    hour_grid = np.arange(cumulative.size) * 3600.0
    to_clock = lambda s: np.interp(s, cumulative, hour_grid)  # noqa: E731
    to_intensity = lambda t: np.interp(t, hour_grid, cumulative)  # noqa: E731
    now = to_clock(rng.exponential(1.0, size=n_users) / rate)
    buffer = np.full((n_users, _BUFFER), -np.inf)  # the card's latest payment times
    cards = np.arange(n_users)
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("seconds", "user", "merchant", "amount", "fraud", "oracle")
    }
    # run to a little past the period; further only if fewer than n payments fall before it
    limit = hour_grid[-1]
    horizon, step, total = min(1.1 * period + 86_400.0, limit), 0, 0
    while True:
        live = np.flatnonzero(now < horizon)
        if live.size == 0:
            if total + np.sum(other_seconds < horizon) >= n or horizon >= limit:
                break
            horizon = min(1.5 * horizon, limit)
            continue
        t, u = np.floor(now[live]), cards[live]
        recent = buffer[live]
        n_1h = (recent >= t[:, None] - 3_600).sum(axis=1)
        n_24h = (recent >= t[:, None] - 86_400).sum(axis=1)
        hol = (t >= h_start) & (t < h_end)
        prior = np.where(
            n_1h >= 1,
            BURST_LOGIT,
            b0
            + DAY_COUNT_WEIGHT * np.log1p(n_24h)
            + np.where(hol, REGIMES["holiday"]["attack_start"], 0.0),
        )
        fraud = rng.uniform(size=live.size) < sigmoid(prior)
        # the payment itself, from its author's habits (both regimes drawn, the right one kept)
        explore = np.where(hol, REGIMES["holiday"]["explore"], REGIMES["normal"]["explore"])
        favourite = world.favourites[u, rng.integers(0, 8, size=live.size)]
        popular = np.searchsorted(world.popular_cdf, rng.uniform(size=live.size) * 0.999999)
        legit_merchant = np.where(rng.uniform(size=live.size) < explore, popular, favourite)
        attack_normal = np.searchsorted(
            world.attacker_cdf["normal"], rng.uniform(size=live.size) * 0.999999
        )
        attack_holiday = np.searchsorted(
            world.attacker_cdf["holiday"], rng.uniform(size=live.size) * 0.999999
        )
        merchant = np.where(fraud, np.where(hol, attack_holiday, attack_normal), legit_merchant)
        typical = world.typical[world.merchant_category[merchant]]
        legit_mean = typical + world.level[u] + np.where(hol, REGIMES["holiday"]["legit_shift"], 0)
        attack_mean = typical + np.where(
            hol, REGIMES["holiday"]["attack_shift"], REGIMES["normal"]["attack_shift"]
        )
        noise = rng.normal(size=live.size)
        log_amount = np.where(fraud, attack_mean + 0.5 * noise, legit_mean + 0.6 * noise)
        amount = np.maximum(np.round(np.exp(log_amount), 2), 0.5)
        # the oracle: the prior times the likelihood ratio of this payment
        x = np.log(amount)
        log_lr = (
            np.log(
                np.where(
                    hol, world.attacker["holiday"][merchant], world.attacker["normal"][merchant]
                )
            )
            - np.log(world.cardholder_merchant_p(u, merchant, explore))
            - 0.5 * ((x - attack_mean) / 0.5) ** 2
            - np.log(0.5)
            + 0.5 * ((x - legit_mean) / 0.6) ** 2
            + np.log(0.6)
        )
        for key, value in (
            ("seconds", t),
            ("user", u),
            ("merchant", merchant),
            ("amount", amount),
            ("fraud", fraud),
            ("oracle", sigmoid(prior + log_lr)),
        ):
            out[key].append(value)
        buffer[live, step % _BUFFER] = t
        total += live.size
        gap_attack = t + 1.0 + rng.exponential(ATTACK_GAP_MINUTES * 60.0, size=live.size)
        rested = t + LEGIT_MIN_GAP + 1.0  # outside the next payment's one-hour window
        gap_legit = to_clock(to_intensity(rested) + rng.exponential(1.0, size=live.size) / rate[u])
        now[live] = np.where(fraud, gap_attack, np.maximum(gap_legit, rested))
        step += 1
    result = {k: np.concatenate(v) for k, v in out.items()}
    result["user"] = result["user"].astype(np.int64)
    result["merchant"] = result["merchant"].astype(np.int64)
    result["test"] = np.zeros(result["seconds"].size, dtype=bool)
    if result["seconds"].size + other_seconds.size < n:
        raise ValueError("n_transactions is too large for n_users and days")
    return result


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


def as_known_at(transactions: pd.DataFrame, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """The transactions before `as_of` as the bank sees them that day.

    Parameters
    ----------
    transactions : DataFrame
        As :func:`make_transactions` returns it.
    as_of : str or Timestamp
        The day the bank looks (naive means UTC).

    Returns
    -------
    DataFrame
        The rows strictly before `as_of`, without ``oracle_p_fraud``; ``is_fraud`` is 1 only for
        the chargebacks received by `as_of` and ``chargeback_at`` is NaT for the others.
    """
    when = pd.Timestamp(as_of)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    past = transactions[transactions["timestamp"] < when].drop(columns="oracle_p_fraud",
                                                               errors="ignore")
    known = past["chargeback_at"] <= when
    return past.assign(is_fraud=known.astype("int8"),
                       chargeback_at=past["chargeback_at"].where(known))


def baseline_fraud(transactions: pd.DataFrame, *, threshold: float = 500.0) -> pd.Series:
    """A first rule: flag every transaction above `threshold` dollars (score 1.0, else 0.0)."""
    return (transactions["amount"] > threshold).astype(float).rename("baseline_fraud")
