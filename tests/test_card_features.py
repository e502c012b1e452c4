"""One feature definition, two executions: the batch over history and the store for requests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curriculum.card_features import FEATURES, REQUEST_FIELDS, OnlineCardStore, card_features
from curriculum.datasets import as_known_at, make_transactions
from curriculum.datasets.transactions import point_in_time_features


@pytest.fixture(scope="module")
def tx():
    return make_transactions(6_000, n_users=300, fraud_rate=0.02, random_state=11)


def requests_of(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.rename(columns={"user_id": "card_id"})[list(REQUEST_FIELDS)]


def test_batch_features_match_the_generators_reference(tx):
    got = card_features(tx.sample(frac=1.0, random_state=0))  # any order in, same rows out
    assert list(got.columns) == list(FEATURES)
    ordered = tx.sort_values(["user_id", "timestamp"], kind="stable")
    seconds = ordered["timestamp"].astype("int64").to_numpy() / 1e9
    country = ordered["merchant_country"].cat.codes.to_numpy()
    ref = point_in_time_features(ordered["user_id"].to_numpy(), seconds,
                                 ordered["amount"].to_numpy(), country)
    for name in ("n_1h", "n_24h", "amount_z", "new_country"):
        np.testing.assert_allclose(got.loc[ordered.index, name].to_numpy(), ref[name].astype(float))
    got = got.loc[tx.index]
    abroad = tx["merchant_country"].astype(str) != tx["card_country"].astype(str)
    assert (got["abroad"] == abroad.astype(int)).all()
    assert np.array_equal(got["log_amount"], np.log(tx["amount"]))


def test_batch_features_do_not_look_ahead(tx):
    cut = tx["timestamp"].quantile(0.6)
    future = tx.copy()
    later = future["timestamp"] > cut
    future.loc[later, "amount"] *= 10
    future.loc[later, "timestamp"] -= pd.Timedelta(minutes=7)
    early = ~later
    pd.testing.assert_frame_equal(card_features(tx)[early], card_features(future)[early])


def test_the_store_scores_a_payment_like_the_batch_would(tx):
    cut = tx["timestamp"].quantile(0.8)
    history, arrivals = tx[tx["timestamp"] < cut], tx[tx["timestamp"] >= cut].head(80)
    got = OnlineCardStore(history).features(requests_of(arrivals))
    want = pd.concat([card_features(pd.concat([history, arrivals.loc[[i]]])).loc[[i]]
                      for i in arrivals.index])
    pd.testing.assert_frame_equal(got, want)


def test_the_store_takes_dicts_naive_times_and_new_cards(tx):
    store = OnlineCardStore(tx)
    row = tx.iloc[-1]
    payment = {"card_id": int(row.user_id), "amount": 20.0, "merchant_country": "US",
               "merchant_category": "grocery"}
    aware = store.features([{**payment, "timestamp": "2026-03-01T10:00:00+00:00"}])
    naive = store.features([{**payment, "timestamp": "2026-03-01T10:00:00"}])
    pd.testing.assert_frame_equal(aware, naive)  # naive means UTC
    new = store.features([{**payment, "card_id": 10**9, "timestamp": "2026-03-01T10:00:00"}])
    assert new[["n_1h", "n_24h", "new_country", "abroad"]].iloc[0].tolist() == [0, 0, 0, 0]
    assert new["amount_z"].iloc[0] == 0.0
    assert 10**9 not in store and int(row.user_id) in store and len(store) == len(store.cards)


def test_missing_fields_are_named(tx):
    with pytest.raises(ValueError, match="amount"):
        OnlineCardStore(tx).features([{"card_id": 1, "timestamp": "2026-01-01"}])
    with pytest.raises(ValueError, match="card_country"):
        card_features(tx.drop(columns="card_country"))


def test_as_known_at_hides_labels_not_yet_received(tx):
    as_of = tx["timestamp"].quantile(0.7)
    seen = as_known_at(tx, as_of)
    assert seen["timestamp"].max() < as_of and "oracle_p_fraud" not in seen
    assert (seen["is_fraud"] == (tx.loc[seen.index, "chargeback_at"] <= as_of)).all()
    assert seen["is_fraud"].sum() < tx.loc[seen.index, "is_fraud"].sum()  # some arrive later
    naive = as_known_at(tx, as_of.tz_localize(None))
    pd.testing.assert_frame_equal(seen, naive)
