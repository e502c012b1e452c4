"""The search world (Day 6): shapes, determinism, the swap intervention and the answer key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curriculum.datasets import (
    make_search_world,
    oracle_examination,
    oracle_match,
    oracle_query_attributes,
    oracle_relevance,
)


@pytest.fixture(scope="module")
def world():
    return make_search_world(3_000, n_queries=400, n_sessions=20_000, n_judged=60, random_state=7)


def test_same_seed_same_world_and_another_seed_another():
    a = make_search_world(400, n_queries=40, n_sessions=200, n_judged=5, random_state=3)
    b = make_search_world(400, n_queries=40, n_sessions=200, n_judged=5, random_state=3)
    c = make_search_world(400, n_queries=40, n_sessions=200, n_judged=5, random_state=4)
    for name in ("documents", "queries", "log", "judgments"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.documents["title"].equals(c.documents["title"])


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"n_documents": 100}, "n_documents"),
        ({"n_queries": 5}, "n_queries"),
        ({"n_sessions": 0}, "n_sessions"),
        ({"n_queries": 30, "n_judged": 31}, "n_judged"),
        ({"swap_share": 1.0}, "swap_share"),
        ({"eta": 0.0}, "eta"),
        ({"eta": "1"}, "eta"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_bad_arguments_are_named(kwargs, names):
    args = {"n_documents": 400, "n_queries": 40, "n_sessions": 10, "n_judged": 5} | kwargs
    n_documents = args.pop("n_documents")
    with pytest.raises(ValueError, match=names):
        make_search_world(n_documents, **args)


def test_the_log_shows_ten_per_search_and_swaps_only_the_first_result(world):
    log = world.log
    assert (log.groupby("session_id").size() == 10).all()
    assert (
        log.groupby("session_id")["position"].apply(lambda p: list(p) == list(range(1, 11))).all()
    )
    plain = log[~log["swapped"]]
    assert (plain["logged_rank"] == plain["position"]).all()
    swapped = log[log["swapped"]]
    moved = swapped[swapped["logged_rank"] != swapped["position"]]
    per_session = moved.groupby("session_id")
    assert (per_session.size() == 2).all(), "a swap exchanges exactly two results"
    assert (per_session["position"].min() == 1).all() and (
        per_session["logged_rank"].min() == 1
    ).all()
    assert 0.03 < log.groupby("session_id")["swapped"].first().mean() < 0.07
    assert set(log["clicked"].unique()) <= {0, 1}
    assert (log.loc[log["clicked"] == 0, "dwell_seconds"] == 0).all()


def test_the_swaps_measure_examination_and_click_through_by_position_does_not():
    for eta in (0.7, 1.4):
        w = make_search_world(
            600,
            n_queries=200,
            n_sessions=60_000,
            n_judged=5,
            swap_share=0.5,
            eta=eta,
            random_state=11,
        )
        log, truth = w.log, oracle_examination(w)
        first = log[log["logged_rank"] == 1]
        at_top = first.loc[~first["swapped"] & (first["position"] == 1), "clicked"].mean()
        moved = first[first["swapped"]].groupby("position")["clicked"].mean() / at_top
        assert list(moved.index) == list(range(2, 11))
        assert np.abs(moved.to_numpy() - truth[1:]).max() < 0.06
        ctr = log.groupby("position")["clicked"].mean()
        naive = (ctr / ctr.loc[1]).to_numpy()  # the top results are also the better ones
        assert (naive[1:] < truth[1:]).all() and (naive / truth)[4:].mean() < 0.9


def test_synonyms_hide_exact_matches_from_the_query_word(world):
    docs, queries = world.documents, world.queries
    typed = queries[queries["kind"] == "type"].head(30)
    rows = np.arange(len(docs))
    shares = []
    for q, text in zip(typed["query_id"], typed["text"], strict=True):
        exact = oracle_match(world, q, rows) == 3
        has_word = docs["title"].str.split().apply(lambda words, t=text: t in words).to_numpy()
        if exact.any():
            shares.append(has_word[exact].mean())
    assert 0.45 < np.mean(shares) < 0.75, "about 40 % of matching products use the other name"


def test_a_code_query_wants_one_product_whose_title_holds_the_code(world):
    docs, queries = world.documents, world.queries
    rows = np.arange(len(docs))
    for q, text in (
        queries.loc[queries["kind"] == "code", ["query_id", "text"]]
        .head(20)
        .itertuples(index=False)
    ):
        exact = np.flatnonzero(oracle_match(world, q, rows) == 3)
        assert len(exact) == 1 and text in docs.loc[exact[0], "title"].split()


def test_relevance_grades_judgments_and_the_answer_key(world):
    rows = np.arange(len(world.documents))
    rel = oracle_relevance(world, np.arange(50)[:, None], rows[None, :])
    match = oracle_match(world, np.arange(50)[:, None], rows[None, :])
    assert rel.min() >= 0 and rel.max() <= 3 and (rel[match == 0] == 0).all()
    assert rel[match == 3].mean() > rel[match == 2].mean() > rel[match == 1].mean()
    j = world.judgments
    assert set(j["grade"].unique()) <= {0, 1, 2, 3}
    pairs = j.groupby(["query_id", "doc_id"])["rater"].apply(sorted)
    assert (pairs.apply(lambda r: r == [0, 1])).all(), "each pair judged once by each rater"
    two = j.pivot_table(index=["query_id", "doc_id"], columns="rater", values="grade")
    assert 0.4 < (two[0] == two[1]).mean() < 0.9, "raters agree often, not always"
    shop = world.observable()
    assert shop.latent == {}
    with pytest.raises(ValueError, match="answer key"):
        oracle_relevance(shop, 0, 0)


def test_promoted_products_are_worse_and_the_logger_shows_them_higher(world):
    docs, log = world.documents, world.log
    quality = world.latent["quality"]
    assert quality[docs["promoted"]].mean() < quality[~docs["promoted"]].mean() - 0.3
    shown = log[~log["swapped"]].merge(docs[["doc_id", "promoted"]], on="doc_id")
    top, bottom = shown[shown["position"] <= 3], shown[shown["position"] >= 8]
    assert top["promoted"].mean() > bottom["promoted"].mean()


def test_query_attributes_are_what_each_query_names(world):
    named = oracle_query_attributes(world)
    queries, docs = world.queries, world.documents
    assert list(named.index) == list(queries["query_id"])
    rows = np.arange(len(docs))
    for q, text, kind in queries[["query_id", "text", "kind"]].itertuples(index=False):
        row, said = named.loc[q], text.split()
        if kind == "code":
            product = docs.loc[row["doc_id"]]
            assert text in product["title"].split()
            assert (row["product_type"], row["colour"], row["brand"]) == (
                product["product_type"], product["colour"], product["brand"])
            continue
        assert row["doc_id"] == -1
        assert pd.isna(row["colour"]) == (kind != "colour_type")
        assert pd.isna(row["brand"]) == (kind != "brand_type")
        for column in ("colour", "brand"):
            assert pd.isna(row[column]) or row[column] in said
        # the type is the catalogue's name: the query says it or its synonym, and the products
        # that match fully are of that type
        exact = np.flatnonzero(oracle_match(world, q, rows) == 3)
        assert (docs.loc[exact, "product_type"] == row["product_type"]).all()
    synonym = [named.loc[q, "product_type"] not in t.split()
               for q, t, k in queries[["query_id", "text", "kind"]].itertuples(index=False)
               if k != "code"]
    assert 0.25 < np.mean(synonym) < 0.55, "about 40 % of queries name the type by its synonym"
    picked = oracle_query_attributes(world, [5, 3])
    assert list(picked.index) == [5, 3] and picked.equals(named.loc[[5, 3]])
    with pytest.raises(ValueError, match="answer key"):
        oracle_query_attributes(world.observable())
