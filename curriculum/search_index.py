"""Lexical and vector retrieval over short texts (Day 6): BM25 with ``bm25s``, LSA vectors.

The lab builds its search on these helpers; ``mlsd bench --search`` times them next to
scikit-learn's TF-IDF, the baseline the issue asked to compare against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

#: a few English words that carry no meaning for retrieval (questions are full of them)
STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its me my of on or "
    "the this to was what when which with you your".split()
)
TOKEN = re.compile(r"\w+")


def words(texts: Iterable[str], stop_words: bool = False) -> list[list[str]]:
    """Lower-cased word tokens of each text (letters and digits; punctuation dropped).

    With `stop_words`, the words of :data:`STOP_WORDS` are dropped too.
    """
    out = [TOKEN.findall(str(t).lower()) for t in texts]
    if stop_words:
        out = [[w for w in ws if w not in STOP_WORDS] for ws in out]
    return out


def bm25_index(titles: Iterable[str], stop_words: bool = False):
    """A ``bm25s.BM25`` index of `titles` (lower-cased words, no stemming).

    With `stop_words`, common English words are left out (see :func:`words`); the index
    remembers it, and :func:`bm25_search` tokenises queries the same way.
    """
    import bm25s

    index = bm25s.BM25()
    index.index(words(titles, stop_words), show_progress=False)
    index.mlsd_stop_words = stop_words
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
    tokens = words(texts, getattr(index, "mlsd_stop_words", False))
    found, scores = index.retrieve(tokens, k=n, show_progress=False, n_threads=1)
    return [rows[s > 0] for rows, s in zip(found, scores, strict=True)]


def text_vectors(
    titles: Iterable[str], dim: int = 128, random_state: int = 0, stop_words: bool = False
) -> tuple[Callable[[Sequence[str]], np.ndarray], np.ndarray]:
    """LSA: unit vectors of the titles and a function that embeds queries the same way.

    A truncated SVD of the sublinear TF-IDF matrix (Deerwester et al., 1990): two words land
    close when they appear with the same other words, so a synonym finds what the title names
    differently. Words in fewer than two titles (model codes) carry no meaning and are dropped;
    with `stop_words`, so are common English words.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(
        token_pattern=r"\w+",
        sublinear_tf=True,
        min_df=2,
        stop_words=sorted(STOP_WORDS) if stop_words else None,
    )
    matrix = tfidf.fit_transform(list(titles))
    svd = TruncatedSVD(min(dim, matrix.shape[1] - 1), random_state=random_state)

    def unit(m: np.ndarray) -> np.ndarray:
        return (m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)).astype("float32")

    vectors = unit(svd.fit_transform(matrix))
    return (lambda texts: unit(svd.transform(tfidf.transform(list(texts))))), vectors
