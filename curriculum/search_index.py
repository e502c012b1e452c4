"""Lexical and vector retrieval over short texts (Day 6): BM25 with ``bm25s``, LSA vectors.

The lab builds its search on these helpers; ``mlsd bench --search`` times them next to
scikit-learn's TF-IDF, the baseline the issue asked to compare against.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np


def words(texts: Iterable[str]) -> list[list[str]]:
    """Lower-cased whitespace tokens of each text (the catalogue's own tokenisation)."""
    return [str(t).lower().split() for t in texts]


def bm25_index(titles: Iterable[str]):
    """A ``bm25s.BM25`` index of `titles` (lower-cased words, no stemming, no stop words)."""
    import bm25s

    index = bm25s.BM25()
    index.index(words(titles), show_progress=False)
    return index


def bm25_search(index, texts: Sequence[str], n: int) -> list[np.ndarray]:
    """Row numbers of each query's best `n` titles by BM25, best first; only titles that match.

    Parameters
    ----------
    index : bm25s.BM25
        From :func:`bm25_index`.
    texts : sequence of str
        Query texts.
    n : int
        How many to return at most (fewer when fewer titles share a word with the query).
    """
    if not len(texts):
        return []
    found, scores = index.retrieve(words(texts), k=n, show_progress=False, n_threads=1)
    return [rows[s > 0] for rows, s in zip(found, scores, strict=True)]


def text_vectors(
    titles: Iterable[str], dim: int = 128, random_state: int = 0
) -> tuple[Callable[[Sequence[str]], np.ndarray], np.ndarray]:
    """LSA: unit vectors of the titles and a function that embeds queries the same way.

    A truncated SVD of the sublinear TF-IDF matrix (Deerwester et al., 1990): two words land
    close when they appear with the same other words, so a synonym finds what the title names
    differently. Words in fewer than two titles (model codes) carry no meaning and are dropped.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True, min_df=2)
    matrix = tfidf.fit_transform(list(titles))
    svd = TruncatedSVD(min(dim, matrix.shape[1] - 1), random_state=random_state)

    def unit(m: np.ndarray) -> np.ndarray:
        return (m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)).astype("float32")

    vectors = unit(svd.fit_transform(matrix))
    return (lambda texts: unit(svd.transform(tfidf.transform(list(texts))))), vectors


def time_per_query(search: Callable[[Sequence[str]], object], texts: Sequence[str]) -> float:
    """Queries per second of `search` called on `texts` in one batch."""
    start = time.perf_counter()
    search(texts)
    seconds = time.perf_counter() - start
    return len(texts) / seconds if seconds else float("inf")
