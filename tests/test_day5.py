"""Day 5: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers like the reference except for the mistakes named in their case; the cases of
one learner touch different questions, so a lost point can only come from the mistake it tests.
Wrong: a random holdout, or one that starts a second after midnight; recall divided by k; NDCG
divided by an ideal of k hits, or by the ideal order of the list's own hits; popularity counted
on the whole log; nearest neighbours by Euclidean distance; items recommended before their
release; embeddings without a ranker (no content for cold start); embeddings learned from the
notebook's whole log inside the recommender; IPS without weights; SNIPS replaced by the click
rate where the policies agree; a Gini of unsorted counts. Honest: Qdrant's local mode or exact
NumPy search instead of FAISS, implicit ALS instead of an SVD, logistic regression instead of
boosted trees, a Gini from pairwise differences.
"""

from __future__ import annotations

import pytest

from curriculum.syllabus import get_day

from .conftest import (
    answer_variant,
    grade_learners,
)

DAY = get_day("day5")
REC = DAY.notebook("recommendations.ipynb")
QUALITY = ["rec_quality_beats_baseline", "rec_quality_good"]
RECOMMENDER = [*QUALITY, "rec_cold_start", "rec_not_released"]

RANDOM_HOLDOUT = '''def holdout_split(log, test_days=4):
    """A random seventh of the impressions as the holdout."""
    holdout = log.sample(frac=test_days / 28, random_state=0)
    clicks = holdout[holdout["clicked"] == 1]
    relevant = {int(u): set(map(int, g)) for u, g in clicks.groupby("user_id")["item_id"]}
    return log.drop(holdout.index), relevant
'''
EMBEDDINGS_ONLY = '''def build_recommender(train, catalogue, as_of):
    """Rank by the inner product of SVD embeddings alone: no ranker, no content."""
    live = catalogue[catalogue["item_released_at"] <= pd.Timestamp(as_of)]
    items = live["item_id"].to_numpy()
    users, vectors = click_embeddings(train, items)

    def recommend(user_ids, k, candidates=None):
        pool = items if candidates is None else np.asarray(candidates)
        scores = (users.reindex(user_ids).fillna(0).to_numpy()
                  @ vectors.reindex(pool).fillna(0).to_numpy().T)
        return pool[np.argsort(-scores, axis=1, kind="stable")[:, :k]]

    return recommend
'''
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
ALS = '''def als_embeddings(train, item_ids, n_factors=16, reg=0.1, alpha=10.0, iterations=8):
    """Implicit-feedback ALS (Hu, Koren and Volinsky 2008) in NumPy."""
    users = np.sort(train["user_id"].unique())
    row = pd.Series(np.arange(len(users)), index=users)
    col = pd.Series(np.arange(len(item_ids)), index=item_ids)
    clicks = train[(train["clicked"] == 1) & train["item_id"].isin(item_ids)]
    counts = np.zeros((len(users), len(item_ids)))
    np.add.at(counts, (row[clicks["user_id"]].to_numpy(), col[clicks["item_id"]].to_numpy()), 1.0)
    prefer, confidence = (counts > 0).astype(float), 1 + alpha * counts
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (len(users), n_factors))
    y = rng.normal(0, 0.1, (len(item_ids), n_factors))
    for _ in range(iterations):
        for a, b, c, p in ((x, y, confidence, prefer), (y, x, confidence.T, prefer.T)):
            gram = b.T @ b + reg * np.eye(n_factors)
            for r in range(a.shape[0]):
                a[r] = np.linalg.solve(gram + (b.T * (c[r] - 1)) @ b, (b.T * c[r]) @ p[r])
    return pd.DataFrame(x, index=users), pd.DataFrame(y, index=item_ids)


def build_recommender(train, catalogue, as_of):'''
LOGISTIC = (
    "    ranker = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, random_state=0)",
    "    from sklearn.compose import make_column_transformer\n"
    "    from sklearn.linear_model import LogisticRegression\n"
    "    from sklearn.pipeline import make_pipeline\n"
    "    from sklearn.preprocessing import OneHotEncoder, StandardScaler\n"
    "    ranker = make_pipeline(make_column_transformer(\n"
    "        (OneHotEncoder(handle_unknown='ignore'), ['category']), remainder=StandardScaler()),\n"
    "        LogisticRegression(max_iter=1000))",
)
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
            ["rec_not_released", *QUALITY],
            ('live = catalogue[catalogue["item_released_at"] <= as_of]', "live = catalogue"),
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
    "ndcg, popularity, no ranker, naive replay": {
        "NDCG over an ideal of k hits": ("ranking_metrics", ["ranking_metrics_test"], NDCG_IDEAL_K),
        "popularity counted on the whole log": (
            "popular_items",
            ["popular_items_test"],
            (
                'clicks = train.groupby("item_id")["clicked"].sum()',
                'clicks = log.groupby("item_id")["clicked"].sum()',
            ),
        ),
        "embeddings without a ranker": (
            "build_recommender",
            ["rec_quality_good", "rec_cold_start"],
            EMBEDDINGS_ONLY,
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
        "embeddings from the notebook's whole log (future clicks included)": (
            "build_recommender",
            RECOMMENDER,
            ("vectors = click_embeddings(train, items)", "vectors = click_embeddings(log, items)"),
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
    },
}
HONEST = {
    "Qdrant and logistic regression": {
        "Qdrant's local mode": ("nearest_items", ["nearest_items_test", *RECOMMENDER], QDRANT),
        "logistic regression ranker": ("build_recommender", RECOMMENDER, LOGISTIC),
        "Gini from pairwise differences": ("gini_coefficient", ["gini_test"], GINI_PAIRS),
    },
    "exact search and ALS": {
        "exact NumPy search": ("nearest_items", ["nearest_items_test"], EXACT),
        "a pointwise classifier framing (Covington's weighted logistic regression)": (
            "rec_design",
            ["rec_design_test"],
            ('        task_type="ranking",', '        task_type="binary_classification",'),
        ),
        "implicit ALS embeddings": (
            "build_recommender",
            RECOMMENDER,
            ("def build_recommender(train, catalogue, as_of):", ALS),
            ("click_embeddings(history, items)", "als_embeddings(history, items)"),
            ("vectors = click_embeddings(train, items)", "vectors = als_embeddings(train, items)"),
        ),
    },
}


def _code(course, question, change):
    """A case's answer: the code itself, or the reference with (old, new) replacements."""
    if len(change) == 1 and isinstance(change[0], str):
        return change[0]
    return answer_variant(course, DAY, REC, question, *change)


@pytest.mark.parametrize("kind", ["wrong", "honest"])
def test_wrong_answers_lose_points_and_honest_ones_keep_them(course, kind, tmp_path):
    groups = WRONG if kind == "wrong" else HONEST
    learners = {
        student: {
            name: (question, cells, _code(course, question, change))
            for name, (question, cells, *change) in cases.items()
        }
        for student, cases in groups.items()
    }
    wrong = {name for cases in WRONG.values() for name in cases}
    grade_learners(course, DAY, REC, learners, wrong, tmp_path)
