"""Day 6's retrieval helpers: BM25 finds exact tokens, LSA synonyms; the bench reports both."""

from __future__ import annotations

import numpy as np

from curriculum.bench import benchmark_search
from curriculum.datasets import make_search_world, oracle_match
from curriculum.search_index import bm25_index, bm25_search, text_vectors, words
from curriculum.vector_index import exact_top_k


def test_bm25_returns_only_matching_titles_best_first():
    titles = ["red sofa cushion", "blue couch armrest", "red lamp", "sofa sofa"]
    index = bm25_index(titles)
    found = bm25_search(index, ["sofa", "couch", "nothing here", "RED"], 3)
    assert set(found[0]) == {0, 3} and found[0][0] == 3, "the title with sofa twice ranks first"
    assert list(found[1]) == [1]
    assert len(found[2]) == 0, "a query no title shares a word with retrieves nothing"
    assert set(found[3]) == {0, 2}, "queries are lower-cased like the titles"
    assert bm25_search(index, [], 3) == []
    assert words(["A b"]) == [["a", "b"]]


def test_lsa_vectors_find_synonyms_and_bm25_finds_codes():
    world = make_search_world(3_000, n_queries=300, n_sessions=100, n_judged=5, random_state=2)
    docs, queries = world.documents, world.queries
    embed, vectors = text_vectors(docs["title"])
    assert vectors.shape == (3_000, 128)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    index = bm25_index(docs["title"])
    exact = (
        oracle_match(
            world, queries["query_id"].to_numpy()[:, None], docs["doc_id"].to_numpy()[None, :]
        )
        == 3
    )

    def recall(found):
        return np.array(
            [exact[i, f].sum() / max(1, min(100, exact[i].sum())) for i, f in enumerate(found)]
        )

    lexical = recall(bm25_search(index, queries["text"].tolist(), 100))
    semantic = recall(exact_top_k(vectors, embed(queries["text"]), 100))
    kind = queries["kind"].astype(str).to_numpy()
    assert lexical[kind == "code"].mean() > 0.95 > semantic[kind == "code"].mean() + 0.5
    assert semantic[kind == "type"].mean() > lexical[kind == "type"].mean() + 0.2


def test_the_search_benchmark_reports_every_retriever():
    rows = benchmark_search(sizes=(1_000,), queries=50)
    assert [r["method"] for r in rows] == [
        "BM25 (bm25s)",
        "TF-IDF cosine (scikit-learn)",
        "LSA vectors, exact search",
    ]
    assert all(0 <= r["recall"] <= 1 and r["queries_per_second"] > 0 for r in rows)
