"""Synthetic case data with known oracles (scikit-learn ``make_*`` conventions).

Each case has a generator, an ``oracle_*`` (the best possible prediction from the observable
columns, known because we wrote the generating process) and a ``baseline_*`` (what a naive first
system does).
"""

from curriculum.datasets._logistic import observable
from curriculum.datasets.ads import baseline_ctr, make_ad_impressions, oracle_ctr
from curriculum.datasets.eta import baseline_eta, make_eta_trips, oracle_eta
from curriculum.datasets.help_center import (
    HelpCenter,
    answer_key,
    injected_passages,
    make_help_center,
)
from curriculum.datasets.interactions import (
    baseline_scores,
    item_catalogue,
    make_interactions,
    oracle_click_probability,
    oracle_expected_watch,
    oracle_scores,
)
from curriculum.datasets.search import (
    SearchWorld,
    make_search_world,
    oracle_examination,
    oracle_match,
    oracle_query_attributes,
    oracle_relevance,
)
from curriculum.datasets.transactions import (
    as_known_at,
    baseline_fraud,
    make_transactions,
    oracle_fraud,
)

__all__ = [
    "HelpCenter",
    "SearchWorld",
    "answer_key",
    "baseline_ctr",
    "baseline_eta",
    "baseline_fraud",
    "baseline_scores",
    "injected_passages",
    "item_catalogue",
    "make_ad_impressions",
    "make_eta_trips",
    "make_help_center",
    "make_interactions",
    "make_search_world",
    "make_transactions",
    "as_known_at",
    "observable",
    "oracle_click_probability",
    "oracle_ctr",
    "oracle_eta",
    "oracle_examination",
    "oracle_expected_watch",
    "oracle_fraud",
    "oracle_match",
    "oracle_query_attributes",
    "oracle_relevance",
    "oracle_scores",
]
