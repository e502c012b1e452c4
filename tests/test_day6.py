"""Day 6: plausible wrong answers lose points under real autograding; honest alternatives don't.

Each learner answers like the reference except for the mistakes named in their case; the cases of
one learner touch different questions, so a lost point can only come from the mistake it tests.
Wrong: BM25 alone as retrieval (misses the products named by a synonym: loses retrieval only);
vectors alone (lose the model codes: every search cell); a ranker without the products' own signals
(rating, reviews: loses the top tier); reciprocal ranks counted from 0; position bias read off
click-through by position; query types read by the catalogue's names only (no mined synonyms), a
model code read without its product's attributes; a click model trained on raw clicks, or with
every impression (not only the clicks) weighted by 1 / propensity; an unweighted kappa;
interleaving where A always picks first; a design without the retrieval stage's metric, or with a
shopper feature read from a log column the shop does not record. Honest: a pointwise regressor of
the raters' mean grade instead of LambdaMART, fusion with a Counter, clicks weighted by 1 /
propensity in a logistic regression instead of the position as a feature, synonyms mined with
Counters and sets, kappa from the confusion matrix, and interleaving written with explicit
counters.

The click model's hidden log (seed 61; measured on seeds 0-3 of the same construction): raw clicks
rank new results at Spearman 0.90-0.91 to their true appeal, every impression weighted 0.92, the
position as a feature 0.98-0.99 (LightGBM) or 1.00 (logistic regression), clicks weighted 0.99,
clipped at 0.2 0.97, clipped at 0.3 0.95, dropping the logger's feature 0.95; 0.96 needed.

Measured on the hidden shop (seed 6006) and seeds 1-3 (the hidden cells' computations): the
reference closes 35-42 % of the BM25-to-ideal gap in NDCG@10, a pointwise regressor 43-46 %, the
ranker without product signals 3-27 %, BM25's own order 3-6 %, vectors alone below BM25;
exact-match recall@100 is 0.99-1.00 fused, 0.72 for BM25 alone, 0.85-0.88 for vectors alone.
"""

from __future__ import annotations

from curriculum.syllabus import get_day

from .conftest import grade_cases

DAY = get_day("day6")
SEARCH = DAY.notebook("search.ipynb")
QUALITY = ["search_quality_beats_bm25", "search_quality_good"]

FUSED = (
    "        return np.array([ids[reciprocal_rank_fusion([a, b], n)] for a, b in zip(lex, vec)])"
)
BM25_ONLY = (
    FUSED,
    "        return np.array([ids[np.r_[a, np.setdiff1d(np.arange(len(ids)), a)[: n - len(a)]]] "
    "for a in lex])",
)
VECTORS_ONLY = (FUSED, "        return ids[vec]")
NO_SIGNALS = (
    "                                static[r], np.full(len(r), len(said))])",
    "                                np.full(len(r), len(said))])",
)
POINTWISE = (
    '    ranker = lgb.LGBMRanker(objective="lambdarank", n_estimators=200, learning_rate=0.05,\n'
    "                            num_leaves=15, min_child_samples=20, n_jobs=1, random_state=0, "
    "verbose=-1)\n"
    "    ranker.fit(X, y, group=[len(g) for g in groups])",
    "    from sklearn.ensemble import HistGradientBoostingRegressor\n"
    "    ranker = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, random_state=0)\n"
    '    ranker.fit(X, pairs["grade"].to_numpy())  # pointwise: the raters\' mean grade',
)
RRF_FROM_ZERO = ("enumerate(ranking, start=1)", "enumerate(ranking)")
RRF_COUNTER = '''def reciprocal_rank_fusion(rankings, n, k=60):
    """Fused scores in a Counter; most_common keeps the first-met order among ties."""
    from collections import Counter

    score = Counter()
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            score[item] += 1.0 / (k + rank + 1)
    return [item for item, _ in score.most_common(n)]
'''
NAIVE_PROPENSITY = '''def position_propensity(log):
    """Click-through by position relative to position 1."""
    ctr = log.groupby("position")["clicked"].mean()
    return (ctr / ctr.loc[1]).reindex(range(1, 11)).to_numpy(dtype=float)
'''
UNWEIGHTED_KAPPA = ('weights="quadratic"', "weights=None")
KAPPA_BY_HAND = '''def rater_agreement(grades_a, grades_b):
    """Weighted kappa from the confusion matrix: 1 - observed / expected quadratic disagreement."""
    a, b = np.asarray(grades_a, dtype=int), np.asarray(grades_b, dtype=int)
    levels = np.union1d(a, b)
    ia, ib = np.searchsorted(levels, a), np.searchsorted(levels, b)
    m = len(levels)
    observed = np.zeros((m, m))
    np.add.at(observed, (ia, ib), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    w = (np.arange(m)[:, None] - np.arange(m)[None, :]) ** 2
    return float(1 - (w * observed).sum() / (w * expected).sum())
'''
A_ALWAYS_FIRST = (
    'order = ("A", "B") if rng.random() < 0.5 else ("B", "A")',
    'order = ("A", "B")  # A always picks first',
)
INTERLEAVE_COUNTERS = '''def team_draft_interleave(ranking_a, ranking_b, k, seed):
    """Team draft with explicit pointers into each ranking."""
    rng = np.random.default_rng(seed)
    a, b = list(ranking_a), list(ranking_b)
    pa = pb = 0
    items, teams = [], []
    while len(items) < k:
        first_a = rng.random() < 0.5
        moved = False
        for team in ("A", "B") if first_a else ("B", "A"):
            if len(items) >= k:
                break
            if team == "A":
                while pa < len(a) and a[pa] in items:
                    pa += 1
                if pa < len(a):
                    items.append(a[pa]); teams.append("A"); moved = True
            else:
                while pb < len(b) and b[pb] in items:
                    pb += 1
                if pb < len(b):
                    items.append(b[pb]); teams.append("B"); moved = True
        if not moved:
            break
    return items, teams
'''
NO_RECALL = (
    'offline_metrics=["ndcg", "recall_at_k", "mrr"]',
    'offline_metrics=["ndcg", "mrr"]',
)
ALL_SEARCH = [*QUALITY, "search_retrieval", "search_tail_queries"]

FIT_WITH_POSITION = (
    "    model.fit(np.c_[X, position], np.asarray(clicked))  # the position explains the clicks it "
    "caused"
)
SERVE_AT_TOP = (
    "        return model.predict_proba(np.c_[X_new, np.ones(len(X_new))])[:, 1]  # everyone at "
    "position 1"
)
RAW_CLICKS = (
    (FIT_WITH_POSITION, "    model.fit(X, np.asarray(clicked))"),
    (SERVE_AT_TOP, "        return model.predict_proba(X_new)[:, 1]"),
)
EVERY_ROW_WEIGHTED = (  # 1 / propensity on clicks and non-clicks alike: the bias stays
    (
        FIT_WITH_POSITION,
        "    weight = 1 / np.asarray(propensity, dtype=float)[position.astype(int) - 1]\n"
        "    model.fit(X, np.asarray(clicked), sample_weight=weight)",
    ),
    (SERVE_AT_TOP, "        return model.predict_proba(X_new)[:, 1]"),
)
CLICKS_WEIGHTED = '''def train_click_ranker(X, clicked, position, propensity):
    """Each click weighted by 1 / propensity of its position; a logistic regression."""
    from sklearn.linear_model import LogisticRegression

    clicked, position = np.asarray(clicked), np.asarray(position, dtype=int)
    weight = np.where(clicked == 1, 1 / np.asarray(propensity, dtype=float)[position - 1], 1.0)
    model = LogisticRegression(max_iter=1000)
    model.fit(np.asarray(X, dtype=float), clicked, sample_weight=weight)
    return lambda X_new: model.decision_function(np.asarray(X_new, dtype=float))
'''
NAMES_ONLY = (  # the catalogue's names only: every query that says the synonym is unread
    'type_of = {**dict(zip(best["word"], best["type"])), **{n: n for n in set(names)}}',
    "type_of = {n: n for n in set(names)}",
)
CODE_ALONE = (  # a model code read as a doc_id only, its product's attributes left missing
    "        if row[\"doc_id\"] >= 0:  # a model code names its product, and so its attributes\n",
    "        if False:\n",
)
SYNONYMS_BY_SETS = '''def understand_query(texts, documents):
    """Synonyms by counting in Counters; codes by a regular expression; rows as dicts."""
    import re
    from collections import Counter

    titles = [set(t.lower().split()) for t in documents["title"]]
    names = documents["product_type"].astype(str).tolist()
    with_name, without = {}, {}
    for name, title in zip(names, titles):
        (with_name if name in title else without).setdefault(name, Counter()).update(title)
    type_of = {n: n for n in names}
    for name, counts in without.items():
        seen = with_name.get(name, Counter())
        options = [(c, w) for w, c in counts.items() if w not in seen]
        if options:
            type_of[max(options)[1]] = name
    colours, brands = set(documents["colour"].astype(str)), set(documents["brand"].astype(str))
    code_of = {w: d for d, t in zip(documents["doc_id"], titles) for w in t
               if re.fullmatch(r"[a-z]{2}[0-9]{4}", w)}
    out = []
    for text in texts:
        said = str(text).lower().split()
        code = next((code_of[w] for w in said if w in code_of), None)
        if code is not None:
            product = documents[documents["doc_id"] == code].iloc[0]
            out.append({"product_type": str(product["product_type"]),
                        "colour": str(product["colour"]), "brand": str(product["brand"]),
                        "doc_id": int(code)})
            continue
        out.append({"product_type": next((type_of[w] for w in said if w in type_of), None),
                    "colour": next((w for w in said if w in colours), None),
                    "brand": next((w for w in said if w in brands), None), "doc_id": -1})
    return pd.DataFrame(out, columns=["product_type", "colour", "brand", "doc_id"])
'''
WRONG = {  # student -> {case: (question, graded cells that must score 0, change)}
    "BM25 alone, ranks from 0, naive propensity, unweighted kappa, no recall@k": {
        "BM25 alone as retrieval": ("build_search", ["search_retrieval"], BM25_ONLY),
        "reciprocal ranks counted from 0": ("reciprocal_rank_fusion", ["rrf_test"], RRF_FROM_ZERO),
        "position bias from click-through by position": (
            "position_propensity",
            ["position_propensity_test"],
            NAIVE_PROPENSITY,
        ),
        "unweighted kappa": ("rater_agreement", ["rater_agreement_test"], UNWEIGHTED_KAPPA),
        "a design without the retrieval stage's metric": (
            "search_design",
            ["search_design_test"],
            NO_RECALL,
        ),
    },
    "vectors alone, A always first": {
        "query types read by the catalogue's names only": (
            "understand_query",
            ["understand_query_test"],
            NAMES_ONLY,
        ),
        "a click model trained on raw clicks": (
            "train_click_ranker",
            ["click_debiasing_test"],
            *RAW_CLICKS,
        ),
        "vectors alone as retrieval": ("build_search", ALL_SEARCH, VECTORS_ONLY),
        "interleaving where A always picks first": (
            "team_draft_interleave",
            ["team_draft_test"],
            A_ALWAYS_FIRST,
        ),
        "a shopper feature read from a log column the shop does not record": (
            "search_design",
            ["search_design_grounded"],
            (
                'source="orders of signed-in shoppers from the order service (the lab\'s log has '
                'no shopper id)"',
                'source="log.user_id joined to documents.category"',
            ),
        ),
    },
    "a ranker without product signals": {
        "a model code read without its product's attributes": (
            "understand_query",
            ["understand_query_test"],
            CODE_ALONE,
        ),
        "every impression weighted by 1 / propensity, not only the clicks": (
            "train_click_ranker",
            ["click_debiasing_test"],
            *EVERY_ROW_WEIGHTED,
        ),
        "a ranker without the rating and reviews": (
            "build_search",
            ["search_quality_good"],
            NO_SIGNALS,
        ),
    },
}
HONEST = {
    "pointwise regressor, Counter fusion, kappa by hand, interleaving with counters": {
        "synonyms mined with Counters and sets": (
            "understand_query",
            ["understand_query_test"],
            SYNONYMS_BY_SETS,
        ),
        "clicks weighted by 1 / propensity in a logistic regression": (
            "train_click_ranker",
            ["click_debiasing_test"],
            CLICKS_WEIGHTED,
        ),
        "a pointwise regressor of the mean grade": ("build_search", ALL_SEARCH, POINTWISE),
        "fusion with a Counter": ("reciprocal_rank_fusion", ["rrf_test"], RRF_COUNTER),
        "kappa from the confusion matrix": (
            "rater_agreement",
            ["rater_agreement_test"],
            KAPPA_BY_HAND,
        ),
        "interleaving with explicit counters": (
            "team_draft_interleave",
            ["team_draft_test"],
            INTERLEAVE_COUNTERS,
        ),
    },
}


def test_wrong_answers_lose_points_and_honest_ones_keep_them(course, tmp_path):
    grade_cases(course, DAY, SEARCH, {**WRONG, **HONEST}, WRONG, tmp_path)
