"""Day 5: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers like the reference except for the mistakes named in their case; the cases of
one learner touch different questions, so a lost point can only come from the mistake it tests.
Wrong: a random holdout, or one that starts a second after midnight; recall divided by k; NDCG
divided by an ideal of k hits, or by the ideal order of the list's own hits; popularity counted on
the whole log; nearest neighbours by Euclidean distance; items recommended before their release;
popular items of the user's most clicked category (no topics, no model: loses the top tier,
retrieval, watch-time ranking and cold start); ranking by click probability where watch time is
graded (loses exactly the ranking cell); statistics from the notebook's whole log inside the
recommender; IPS without weights; SNIPS replaced by the click rate where the policies agree; a Gini
of unsorted counts; a design feature whose source names no column and says nothing of how it is
collected. Honest: Qdrant's local mode or exact NumPy search instead of FAISS, retrieval by exact
inner products instead of a FAISS index, one regressor of seconds watched per impression instead of
P(click) x E[watch | click], a pointwise framing, a Gini from pairwise differences.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import grade_cases

DAY = get_day("day5")
REC = DAY.notebook("recommendations.ipynb")
QUALITY = ["rec_quality_beats_baseline", "rec_quality_good"]
RECOMMENDER = [
    *QUALITY,
    "rec_retrieval",
    "rec_ranks_watch_time",
    "rec_cold_start",
    "rec_not_released",
]

RANDOM_HOLDOUT = '''def holdout_split(log, test_days=4):
    """A random seventh of the impressions as the holdout."""
    holdout = log.sample(frac=test_days / 28, random_state=0)
    clicks = holdout[holdout["clicked"] == 1]
    relevant = {int(u): set(map(int, g)) for u, g in clicks.groupby("user_id")["item_id"]}
    return log.drop(holdout.index), relevant
'''
CATEGORY_POPULARITY = '''def build_recommender(train, catalogue, as_of):
    """Popular items of the user's most clicked category: no topics, no model, no watch time."""
    live = catalogue[catalogue["item_released_at"] <= pd.Timestamp(as_of)]
    clicks = train.groupby("item_id")["clicked"].sum().reindex(live["item_id"], fill_value=0)
    ordered = live.assign(clicks=clicks.to_numpy()).sort_values(["clicks", "item_id"],
                                                               ascending=[False, True])
    groups = ordered.groupby("item_category", observed=True)
    by_category = {c: g["item_id"].to_numpy() for c, g in groups}
    favourite = (train[train["clicked"] == 1].groupby("user_id")["item_category"]
                 .agg(lambda s: s.value_counts().index[0]))
    everything = ordered["item_id"].to_numpy()

    def retrieve(user_ids, n):
        pools = [by_category.get(favourite.get(u), everything) for u in user_ids]
        return np.array([pool[:n] if len(pool) >= n else everything[:n] for pool in pools])

    def rank(user_ids, candidates, k):
        candidates = np.asarray(candidates)
        if candidates.ndim == 1:
            candidates = np.tile(candidates, (len(user_ids), 1))
        score = clicks.reindex(candidates.ravel(), fill_value=0).to_numpy()
        score = score.reshape(candidates.shape)
        order = np.argsort(-score, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(candidates, order, axis=1)

    return SimpleNamespace(retrieve=retrieve, rank=rank)
'''
BY_CLICKS = (
    "expected = click_model.predict_proba(X)[:, 1] * np.maximum(watch_model.predict(X), 0.0)",
    "expected = click_model.predict_proba(X)[:, 1]  # rank by click probability",
)
ONE_REGRESSOR = (
    (
        'watch_model.fit(X[clicked], window["watch_seconds"].to_numpy()[clicked])',
        'watch_model.fit(X, window["watch_seconds"].to_numpy())  # seconds per impression',
    ),
    (
        "expected = click_model.predict_proba(X)[:, 1] * np.maximum(watch_model.predict(X), 0.0)",
        "expected = watch_model.predict(X)",
    ),
)
EXACT_RETRIEVAL = (
    '        _, found = index.search(np.ascontiguousarray(queries.to_numpy(), dtype="float32"), '
    "min(n, len(live_ids)))",
    "        scores = queries.to_numpy() @ item_vectors.T  # exact, in NumPy\n"
    '        found = np.argsort(-scores, axis=1, kind="stable")[:, :n]',
)
QDRANT = '''def nearest_items(item_vectors, item_ids, queries, k):
    """Qdrant's local mode: in process, in memory, no server."""
    from qdrant_client import QdrantClient, models

    vectors = np.asarray(item_vectors, dtype=float)
    client = QdrantClient(":memory:")
    client.create_collection("items", vectors_config=models.VectorParams(
        size=vectors.shape[1], distance=models.Distance.DOT))
    client.upload_collection("items", vectors=vectors, ids=list(range(len(vectors))))
    requests = [models.QueryRequest(query=q.tolist(), limit=k) for q in np.asarray(queries, float)]
    answers = client.query_batch_points("items", requests=requests)
    return np.asarray(item_ids)[np.array([[p.id for p in a.points] for a in answers])]
'''
EXACT = '''def nearest_items(item_vectors, item_ids, queries, k):
    """Exact search: every inner product, sorted."""
    scores = np.asarray(queries, dtype=float) @ np.asarray(item_vectors, dtype=float).T
    return np.asarray(item_ids)[np.argsort(-scores, axis=1, kind="stable")[:, :k]]
'''
NDCG_IDEAL_K = ("discount[: min(k, len(rel))].sum()", "discount.sum()")
NDCG_IDEAL_FROM_LIST = (
    "        scores.append(dcg / discount[: min(k, len(rel))].sum())",
    "        hits = sum(item in rel for item in top)  # the ideal order of the list's own hits\n"
    "        scores.append(dcg / discount[:hits].sum() if hits else 0.0)",
)
GINI_PAIRS = '''def gini(counts):
    """Mean absolute difference between all pairs over twice the mean."""
    x = np.asarray(counts, dtype=float)
    if len(x) == 0 or x.sum() == 0:
        return 0.0
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))
'''
RECALL_OVER_K = ("& rel) / len(rel)", "& rel) / k")

WRONG = {  # student -> {case: (question, graded cells that must score 0, change)}
    "holdout, recall, distance, release": {
        "random holdout": ("holdout_split", ["holdout_split_test"], RANDOM_HOLDOUT),
        "recall divided by k": ("ranking_metrics", ["ranking_metrics_test"], RECALL_OVER_K),
        "Euclidean nearest neighbours": (
            "nearest_items",
            ["nearest_items_test"],
            ("faiss.METRIC_INNER_PRODUCT", "faiss.METRIC_L2"),
        ),
        "items recommended before their release": (
            "build_recommender",
            ["rec_not_released", *QUALITY, "rec_retrieval"],
            ('live = items[items["item_released_at"] <= as_of]', "live = items"),
        ),
        "IPS without weights": (
            "off_policy",
            ["off_policy_test"],
            (
                "    return float(np.mean(np.asarray(clicked, dtype=float) * w))",
                "    return float(np.mean(clicked))",
            ),
        ),
    },
    "ndcg, popularity, category popularity, naive replay": {
        "NDCG over an ideal of k hits": ("ranking_metrics", ["ranking_metrics_test"], NDCG_IDEAL_K),
        "popularity counted on the whole log": (
            "popular_items",
            ["popular_items_test"],
            (
                'clicks = train.groupby("item_id")["clicked"].sum()',
                'clicks = log.groupby("item_id")["clicked"].sum()',
            ),
        ),
        "popular items of the user's most clicked category": (
            "build_recommender",
            ["rec_quality_good", "rec_retrieval", "rec_ranks_watch_time", "rec_cold_start"],
            CATEGORY_POPULARITY,
        ),
        "SNIPS as the click rate where the policies agree": (
            "off_policy",
            ["off_policy_test"],
            (
                "    return float(np.sum(np.asarray(clicked, dtype=float) * w) / w.sum()) "
                "if w.sum() > 0 else 0.0",
                "    agree = np.asarray(target_probability) > 0\n"
                "    return float(np.mean(np.asarray(clicked)[agree]))",
            ),
        ),
    },
    "ndcg from the list, unsorted Gini": {
        "NDCG with the ideal taken from the recommended list": (
            "ranking_metrics",
            ["ranking_metrics_test"],
            NDCG_IDEAL_FROM_LIST,
        ),
        "statistics from the notebook's whole log (future clicks included)": (
            "build_recommender",
            RECOMMENDER,
            ("served = statistics(train)", "served = statistics(log)"),
        ),
        "a holdout that starts a second after midnight": (
            "holdout_split",
            ["holdout_split_test"],
            (
                'train, holdout = log[log["timestamp"] < cut], log[log["timestamp"] >= cut]',
                'train, holdout = log[log["timestamp"] <= cut], log[log["timestamp"] > cut]',
            ),
        ),
        "Gini of unsorted counts": (
            "gini_coefficient",
            ["gini_test"],
            ("x = np.sort(np.asarray(counts, dtype=float))", "x = np.asarray(counts, dtype=float)"),
        ),
        "a design feature whose source says nothing": (
            "rec_design",
            ["rec_design_grounded"],
            (
                'source="the account profile, where the user consented (the lab\'s log lacks it)"',
                'source="profile data"',
            ),
        ),
    },
}
WRONG["ranking by click probability"] = {
    "ranking by click probability where watch time is graded": (
        "build_recommender",
        ["rec_ranks_watch_time"],
        BY_CLICKS,
    ),
}
HONEST = {
    "Qdrant and one watch-time regressor": {
        "Qdrant's local mode": ("nearest_items", ["nearest_items_test"], QDRANT),
        "one regressor of seconds watched per impression": (
            "build_recommender",
            RECOMMENDER,
            *ONE_REGRESSOR,
        ),
        "Gini from pairwise differences": ("gini_coefficient", ["gini_test"], GINI_PAIRS),
    },
    "exact search and exact retrieval": {
        "exact NumPy search": ("nearest_items", ["nearest_items_test"], EXACT),
        "a pointwise classifier framing (Covington's weighted logistic regression)": (
            "rec_design",
            ["rec_design_test"],
            ('        task_type="ranking",', '        task_type="binary_classification",'),
        ),
        "retrieval by exact inner products in NumPy": (
            "build_recommender",
            RECOMMENDER,
            EXACT_RETRIEVAL,
        ),
    },
}


@pytest.mark.parametrize("kind", ["wrong", "honest"])
def test_wrong_answers_lose_points_and_honest_ones_keep_them(course, kind, tmp_path):
    grade_cases(course, DAY, REC, WRONG if kind == "wrong" else HONEST, WRONG, tmp_path)
