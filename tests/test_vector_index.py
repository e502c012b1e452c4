"""Day 5's retrieval helpers: exact search is exact, the indexes find it, the benchmark reports."""

from __future__ import annotations

import numpy as np
import pytest

from curriculum.bench import benchmark_vector_index
from curriculum.vector_index import (
    clustered_vectors,
    compare_indexes,
    exact_top_k,
    faiss_hnsw,
    qdrant_local,
    qdrant_search,
    recall_against,
)


def test_clustered_vectors_are_seeded_and_checked():
    a, qa = clustered_vectors(300, dim=8, n_queries=5, random_state=3)
    b, qb = clustered_vectors(300, dim=8, n_queries=5, random_state=3)
    assert a.shape == (300, 8) and qa.shape == (5, 8) and a.dtype == np.float32
    assert np.array_equal(a, b) and np.array_equal(qa, qb)
    assert not np.array_equal(a, clustered_vectors(300, dim=8, n_queries=5, random_state=4)[0])
    with pytest.raises(ValueError, match="at least 1"):
        clustered_vectors(0)


@pytest.mark.parametrize("k", [1, 7, 300])
def test_exact_top_k_matches_a_full_sort(k):
    items, queries = clustered_vectors(300, dim=8, n_queries=600, random_state=1)  # > one block
    scores = queries @ items.T
    want = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, 300)]
    got = exact_top_k(items, queries, k)
    assert got.shape == want.shape
    assert np.allclose(np.take_along_axis(scores, got, 1), np.take_along_axis(scores, want, 1))


def test_exact_top_k_breaks_ties_by_row_number():
    items = np.ones((5, 2), dtype=np.float32)
    assert exact_top_k(items, np.ones((1, 2), dtype=np.float32), 3).tolist() == [[0, 1, 2]]


def test_recall_against_counts_overlap():
    assert recall_against(np.array([[1, 2], [3, 4]]), np.array([[2, 9], [3, 4]])) == 0.75


def test_faiss_and_qdrant_find_the_exact_neighbours():
    items, queries = clustered_vectors(2_000, dim=16, n_queries=50, random_state=2)
    truth = exact_top_k(items, queries, 10)
    index = faiss_hnsw(items)
    index.hnsw.efSearch = 128
    assert recall_against(index.search(queries, 10)[1], truth) > 0.95
    client = qdrant_local(items)
    assert recall_against(qdrant_search(client, queries, 10), truth) == 1.0  # it scores them all
    client.close()


def test_compare_indexes_and_the_benchmark_report_every_method():
    items, queries = clustered_vectors(1_000, dim=8, n_queries=20)
    frame = compare_indexes(items, queries, k=5, ef_search=(8, 64))
    assert list(frame["method"]) == [
        "exact (NumPy)",
        "FAISS HNSW efSearch=8",
        "FAISS HNSW efSearch=64",
        "Qdrant local mode",
    ]
    assert (frame["recall"] <= 1).all() and (frame["queries_per_second"] > 0).all()
    rows = benchmark_vector_index(sizes=(500, 30_000), queries=10, k=5)
    assert {r["items"] for r in rows} == {500, 30_000}
    big = [r["method"] for r in rows if r["items"] == 30_000]
    assert "Qdrant local mode" not in big, "local mode is skipped above 20,000 items"
