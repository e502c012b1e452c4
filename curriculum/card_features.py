"""Point-in-time card features for training (a batch over history) and serving (one payment).

Day 3 taught the learner to build velocity features without looking ahead; Day 8 takes them to
production, where the same features must be computed twice: in the training pipeline over the
warehouse's history, and in the endpoint for one payment while the customer waits. Both paths
here share one implementation (:func:`curriculum.datasets.transactions.point_in_time_features`),
which is how training/serving skew is avoided in practice (one feature definition, two
executions): :func:`card_features` for the batch, :class:`OnlineCardStore` for requests.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from curriculum.datasets.transactions import CATEGORIES, COUNTRIES, point_in_time_features

#: every feature the course computes for a payment, in this order
FEATURES = (
    "n_1h", "n_24h", "amount_z", "new_country", "log_amount", "abroad", "hour", "night",
    "category",
)
#: what a payment request carries
REQUEST_FIELDS = ("card_id", "amount", "merchant_country", "merchant_category", "timestamp")
_COUNTRY = {c: i for i, c in enumerate(COUNTRIES)}
_CATEGORY = {c: i for i, c in enumerate(CATEGORIES)}


def _country_codes(countries) -> np.ndarray:
    """Merchant countries as the codes point_in_time_features compares (unknown: one more)."""
    return np.array([_COUNTRY.get(str(c), len(COUNTRIES)) for c in countries], dtype=np.int64)


def _seconds(timestamps: pd.Series) -> np.ndarray:
    return pd.to_datetime(timestamps, utc=True).to_numpy("datetime64[ns]").astype(np.int64) / 1e9


def _own(tx: pd.DataFrame, card: np.ndarray) -> pd.DataFrame:
    """Features every payment carries itself (no history)."""
    when = pd.to_datetime(tx["timestamp"], utc=True)
    hour = when.dt.hour.to_numpy()
    merchant = tx["merchant_country"].astype(str).to_numpy()
    return pd.DataFrame({
        "log_amount": np.log(tx["amount"].to_numpy(dtype=float)),
        "abroad": (merchant != card).astype(np.int64),
        "hour": hour.astype(np.int64),
        "night": (hour < 5).astype(np.int64),
        "category": tx["merchant_category"].astype(str).map(_CATEGORY).fillna(-1)
        .to_numpy().astype(np.int64),
    }, index=tx.index)


def card_features(tx: pd.DataFrame) -> pd.DataFrame:
    """Features of every payment in `tx`, each from the same card's earlier payments in `tx` only.

    Parameters
    ----------
    tx : DataFrame
        Payments with ``user_id``, ``timestamp``, ``amount``, ``card_country``,
        ``merchant_country`` and ``merchant_category`` (as :func:`make_transactions` makes them),
        in any order.

    Returns
    -------
    DataFrame
        Indexed like `tx`, the columns of :data:`FEATURES` (floats and ints): payments of the
        card in the previous hour and day, the amount's log against the card's earlier mean,
        a merchant country new for the card, the log amount, abroad (merchant outside the card's
        country), hour, night (before 05:00 UTC) and the merchant category's code.
    """
    missing = {"user_id", "timestamp", "amount", "card_country", "merchant_country",
               "merchant_category"} - set(tx.columns)
    if missing:
        raise ValueError(f"card_features needs the columns {sorted(missing)}")
    seconds = _seconds(tx["timestamp"])
    user = tx["user_id"].to_numpy(dtype=np.int64)
    order = np.lexsort((seconds, user))
    country = _country_codes(tx["merchant_country"])
    pit = point_in_time_features(user[order], seconds[order], tx["amount"].to_numpy(float)[order],
                                 country[order])
    out = pd.DataFrame(index=tx.index)
    for name in ("n_1h", "n_24h", "amount_z", "new_country"):
        values = np.empty(len(tx), dtype=pit[name].dtype)
        values[order] = pit[name]
        out[name] = values.astype(np.float64 if name == "amount_z" else np.int64)
    own = _own(tx, tx["card_country"].astype(str).to_numpy())
    return pd.concat([out, own], axis=1)[list(FEATURES)]


class OnlineCardStore:
    """The cards' history held for serving: features of a new payment while the customer waits.

    Parameters
    ----------
    history : DataFrame
        Earlier payments (columns as for :func:`card_features`).

    Notes
    -----
    A request's features come from its card's payments in `history` strictly before the
    request's timestamp, computed by the same function as :func:`card_features`, so a payment
    scores the same online as it would in the training pipeline. A card the store has never
    seen is served too: no history (counts 0, ``amount_z`` 0, nothing new), and its country
    taken to be the merchant's.
    """

    def __init__(self, history: pd.DataFrame) -> None:
        frame = history.assign(_s=_seconds(history["timestamp"])).sort_values(
            ["user_id", "_s"], kind="stable")
        self._seconds = frame["_s"].to_numpy()
        self._amount = frame["amount"].to_numpy(dtype=float)
        self._country = _country_codes(frame["merchant_country"])
        users = frame["user_id"].to_numpy(dtype=np.int64)
        cards, first, counts = np.unique(users, return_index=True, return_counts=True)
        self._rows = {
            int(c): (int(f), int(f + n)) for c, f, n in zip(cards, first, counts, strict=True)
        }
        self._home = dict(
            zip(frame["user_id"].astype(int), frame["card_country"].astype(str), strict=True)
        )

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, card_id: object) -> bool:
        return int(card_id) in self._rows  # type: ignore[call-overload]

    @property
    def cards(self) -> list[int]:
        """The card ids the store holds."""
        return list(self._rows)

    def features(self, requests: pd.DataFrame | Iterable[dict]) -> pd.DataFrame:
        """Features of payment requests, each from its card's history before its timestamp.

        Parameters
        ----------
        requests : DataFrame or iterable of dict
            With the fields of :data:`REQUEST_FIELDS` (``card_id`` an int, ``amount`` a
            positive number of dollars, ``merchant_country`` and ``merchant_category`` as in
            the history, ``timestamp`` anything ``pandas.Timestamp`` reads; naive means UTC).

        Returns
        -------
        DataFrame
            One row per request (same order and index for a frame), the columns of
            :data:`FEATURES`.
        """
        req = requests if isinstance(requests, pd.DataFrame) else pd.DataFrame(list(requests))
        missing = set(REQUEST_FIELDS) - set(req.columns)
        if missing:
            raise ValueError(f"a payment request needs the fields {sorted(missing)}")
        seconds = _seconds(req["timestamp"])
        rows = []
        for i, (card, amount, country) in enumerate(
            zip(req["card_id"], req["amount"], req["merchant_country"], strict=True)
        ):
            start, end = self._rows.get(int(card), (0, 0))
            before = start + int(np.searchsorted(self._seconds[start:end], seconds[i], "left"))
            pit = point_in_time_features(
                np.zeros(before - start + 1, dtype=np.int64),
                np.r_[self._seconds[start:before], seconds[i]],
                np.r_[self._amount[start:before], float(amount)],
                np.r_[self._country[start:before], _country_codes([country])],
            )
            rows.append({name: pit[name][-1] for name in ("n_1h", "n_24h", "amount_z",
                                                         "new_country")})
        out = pd.DataFrame(rows, index=req.index, columns=["n_1h", "n_24h", "amount_z",
                                                           "new_country"])
        out = out.astype({"n_1h": np.int64, "n_24h": np.int64, "amount_z": np.float64,
                          "new_country": np.int64})
        home = np.array([self._home.get(int(c), str(m))
                         for c, m in zip(req["card_id"], req["merchant_country"], strict=True)])
        return pd.concat([out, _own(req, home)], axis=1)[list(FEATURES)]
