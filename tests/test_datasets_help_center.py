"""The help center (Day 7's world): versions that contradict, questions with known answers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from curriculum.datasets.help_center import (
    POLICIES,
    answer_key,
    injected_passages,
    make_help_center,
)


@pytest.fixture(scope="module")
def center():
    return make_help_center(40, n_questions=300, random_state=3)


def test_same_seed_same_help_center():
    a, b = make_help_center(10, random_state=1), make_help_center(10, random_state=1)
    pd.testing.assert_frame_equal(a.passages, b.passages)
    pd.testing.assert_frame_equal(a.questions, b.questions)
    assert not a.questions.equals(make_help_center(10, random_state=2).questions)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_products": 4}, "n_products"),
        ({"n_questions": 0}, "n_questions"),
        ({"injection_share": 1.0}, "injection_share"),
        ({"pii_share": -0.1}, "pii_share"),
        ({"random_state": "x"}, "random_state"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_help_center(**({"n_products": 10} | kwargs))


def test_the_answer_is_the_newest_version_and_old_versions_contradict_it(center):
    key, passages = answer_key(center), center.passages.set_index("passage_id")
    for row in key.itertuples():
        unit = POLICIES[row.policy][1]
        newest = passages.loc[row.support]
        assert (newest["product"] == row.product).all() and (newest["policy"] == row.policy).all()
        stated = row.amount  # as the help center writes it: "45 days", "$8", "free"
        assert (
            stated == "free" if unit == "dollars" and row.answer == 0 else str(row.answer) in stated
        )
        assert all(f"is {stated}" in t for t in newest["text"]), "the support states the answer"
        if row.superseded:
            old = passages.loc[row.superseded]
            assert (old["effective"] < newest["effective"].min()).all()
            last = old.sort_values("effective")["text"].iloc[-1]
            assert f"is {stated}" not in last, "a new version changes the value"


def test_questions_use_the_customers_words_and_faqs_pair_them(center):
    questions = center.questions["text"]
    said = questions.str.contains("return window|shipping fee", regex=True).mean()
    assert said < 0.15, "customers rarely use the help center's own terms"
    faqs = center.passages[center.passages["kind"] == "faq"]["text"]
    assert faqs.str.contains("refund period").any() and faqs.str.contains("return window").any()


def test_injections_and_personal_data_are_marked(center):
    notes = center.passages[injected_passages(center)]
    assert len(notes) > 0 and notes["text"].str.contains("ignore all previous instructions").all()
    assert (notes["kind"] == "community").all()
    tips = center.passages[(center.passages["kind"] == "community") & ~injected_passages(center)]
    assert tips["text"].str.contains("ignore").any(), "a harmless post says ignore too"
    key = answer_key(center)
    with_pii = key[key["pii_kind"] != ""]
    assert 0.2 < len(with_pii) / len(key) < 0.4
    texts = center.questions.set_index("question_id")["text"]
    assert all(row.pii in texts[row.question_id] for row in with_pii.itertuples())
    cards = with_pii[with_pii["pii_kind"] == "card"]["pii"]
    assert cards.str.fullmatch(r"4111( \d{4}){3}").all()
    assert all(
        re.search(r"@example\.com$", e) for e in with_pii[with_pii["pii_kind"] == "email"]["pii"]
    )


def test_observable_drops_the_answer_key(center):
    shop = center.observable()
    assert shop.latent == {} and len(shop.passages) == len(center.passages)
    with pytest.raises(ValueError, match="answer key"):
        answer_key(shop)
    with pytest.raises(ValueError, match="answer key"):
        injected_passages(shop)


def test_newest_first_is_what_retrieval_must_add(center):
    """Versions share their words: text relevance alone cannot tell the one in force."""
    from curriculum.search_index import bm25_index, bm25_search

    key, passages = answer_key(center), center.passages
    versioned = key[key["superseded"].apply(len) > 0]
    index = bm25_index(passages["text"])
    texts = center.questions.set_index("question_id").loc[versioned["question_id"], "text"]
    found = bm25_search(index, texts.tolist(), 10)
    top_newest, dated_newest = [], []
    for row, rows in zip(versioned.itertuples(), found, strict=True):
        same = passages.iloc[rows]
        same = same[(same["product"] == row.product) & (same["policy"] == row.policy)]
        if len(same) < 2:
            continue
        top_newest.append(same["passage_id"].iloc[0] in row.support)
        own = passages[(passages["product"] == row.product) & (passages["policy"] == row.policy)]
        trusted = own[own["kind"] != "community"]  # a planted note is newer still
        dated_newest.append(trusted.sort_values("effective")["passage_id"].iloc[-1] in row.support)
    assert np.mean(dated_newest) == 1.0 and np.mean(top_newest) < 0.8
