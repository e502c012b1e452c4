"""Nearest-neighbour retrieval for Day 5: exact search, FAISS HNSW and Qdrant's local mode.

The same code serves the notebook's comparison and ``mlsd bench --vector-index``: a synthetic,
clustered catalogue of item embeddings (:func:`clustered_vectors`), exact inner-product top-k
(:func:`exact_top_k`, the ground truth), and :func:`compare_indexes`, which builds each index,
times its queries and measures recall@k against the exact answer.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: above this many points qdrant-client warns that local mode is not recommended (use a server)
QDRANT_LOCAL_MAX_POINTS = 20_000


def clustered_vectors(
    n_items: int, dim: int = 32, n_queries: int = 200, n_clusters: int = 50, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Item and query embeddings around shared cluster centres (as learned embeddings are).

    Parameters
    ----------
    n_items : int
        Number of item vectors.
    dim : int, default 32
        Embedding dimension.
    n_queries : int, default 200
        Number of query (user) vectors.
    n_clusters : int, default 50
        Number of taste clusters; items and queries sit near one centre each.
    random_state : int, default 0
        Seed.

    Returns
    -------
    items, queries : numpy.ndarray
        ``float32`` arrays of shape ``(n_items, dim)`` and ``(n_queries, dim)``. Item norms vary
        (popular items have longer vectors), so inner product and Euclidean distance disagree.
    """
    if n_items < 1 or n_queries < 1 or dim < 1 or n_clusters < 1:
        raise ValueError("n_items, n_queries, dim and n_clusters must be at least 1")
    rng = np.random.default_rng(random_state)
    centres = rng.normal(size=(n_clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    items = centres[rng.integers(0, n_clusters, n_items)] + 0.35 * rng.normal(size=(n_items, dim))
    items *= rng.lognormal(0.0, 0.3, size=(n_items, 1))
    queries = centres[rng.integers(0, n_clusters, n_queries)]
    queries = queries + 0.35 * rng.normal(size=(n_queries, dim))
    return items.astype(np.float32), queries.astype(np.float32)


def exact_top_k(items: np.ndarray, queries: np.ndarray, k: int, block: int = 256) -> np.ndarray:
    """Row numbers of the `k` items with the largest inner product with each query, best first.

    Brute force in blocks of `block` queries (memory ``block × n_items``); ties go to the lower
    row number.
    """
    k = min(k, len(items))
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ items.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.lexsort((part, -np.take_along_axis(scores, part, axis=1)), axis=1)
        out[start : start + block] = np.take_along_axis(part, order, axis=1)
    return out


def recall_against(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's true top-k that `found` retrieved (row numbers)."""
    hits = [len(np.intersect1d(f, t)) / len(t) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) if hits else 0.0


def faiss_hnsw(items: np.ndarray, m: int = 32, ef_construction: int = 80):
    """A FAISS HNSW index over `items` for maximum inner product search."""
    import faiss

    index = faiss.IndexHNSWFlat(items.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(items, dtype=np.float32))
    return index


def qdrant_local(items: np.ndarray, name: str = "items"):
    """A Qdrant collection in local mode (in-process, in memory, no server) holding `items`."""
    from qdrant_client import QdrantClient, models

    client = QdrantClient(":memory:")
    client.create_collection(
        name, vectors_config=models.VectorParams(size=items.shape[1], distance=models.Distance.DOT)
    )
    with warnings.catch_warnings():  # the warning above QDRANT_LOCAL_MAX_POINTS
        warnings.simplefilter("ignore", UserWarning)
        client.upload_collection(name, vectors=items, ids=list(range(len(items))), batch_size=4096)
    return client


def qdrant_search(client, queries: np.ndarray, k: int, name: str = "items") -> np.ndarray:
    """Top-`k` point ids for each query from a Qdrant collection, best first."""
    from qdrant_client import models

    requests = [models.QueryRequest(query=q.tolist(), limit=k) for q in queries]
    answers = client.query_batch_points(name, requests=requests)
    return np.array([[p.id for p in a.points] for a in answers], dtype=np.int64)


@dataclass(frozen=True)
class IndexTiming:
    """One retrieval method on one catalogue: build time, throughput and recall@k."""

    method: str
    build_seconds: float
    queries_per_second: float
    recall: float


def compare_indexes(
    items: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    ef_search: tuple[int, ...] = (16, 32, 64, 128),
    qdrant: bool = True,
) -> pd.DataFrame:
    """Exact search, FAISS HNSW at several ``efSearch`` and Qdrant local on the same catalogue.

    Parameters
    ----------
    items, queries : numpy.ndarray
        Item and query embeddings (``float32``), inner product is the similarity.
    k : int, default 10
        Neighbours per query; recall@k is measured against exact search.
    ef_search : tuple of int
        HNSW search breadths to try (larger: slower and more exact).
    qdrant : bool, default True
        Also time Qdrant's local mode (it scores every stored vector: exact, and slow at scale).

    Returns
    -------
    pandas.DataFrame
        One row per method: ``method``, ``build_seconds``, ``queries_per_second``, ``recall``.
    """
    rows = []
    start = time.perf_counter()
    truth = exact_top_k(items, queries, k)
    rows.append(IndexTiming("exact (NumPy)", 0.0, len(queries) / (time.perf_counter() - start), 1))
    start = time.perf_counter()
    index = faiss_hnsw(items)
    build = time.perf_counter() - start
    for ef in ef_search:
        index.hnsw.efSearch = max(ef, k)
        start = time.perf_counter()
        _, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        qps = len(queries) / (time.perf_counter() - start)
        recall = recall_against(found, truth)
        rows.append(IndexTiming(f"FAISS HNSW efSearch={ef}", build, qps, recall))
    if qdrant:
        start = time.perf_counter()
        client = qdrant_local(items)
        build = time.perf_counter() - start
        start = time.perf_counter()
        found = qdrant_search(client, queries, k)
        qps = len(queries) / (time.perf_counter() - start)
        rows.append(IndexTiming("Qdrant local mode", build, qps, recall_against(found, truth)))
        client.close()
    return pd.DataFrame([r.__dict__ for r in rows])
