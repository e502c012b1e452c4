"""Product search: a catalogue, queries, a click log and graded judgments (Day 6).

The generating process
----------------------
A shop sells products of ``12 × 8 = 96`` **types** (twelve categories of eight types each). Every
type has two names, a common one and a **synonym** ("sofa" and "couch"): a product's title uses
one of them, a shopper's query either. Words are made-up but pronounceable, so nothing in the
lab leans on English. A product has a brand (each brand makes a few types of one category), a
colour, a model code (a rare token: ``kx4821``), a few words of its category's vocabulary and a
few filler words. It also has a **quality** that the text does not show; its ``rating`` shows it
through noise that shrinks with its ``n_reviews``. Some products are **promoted** (paid
placement); their quality is a little lower on average (half a standard deviation): sellers pay
for the placement their products do not earn.

Queries have four kinds: a type (``"couch"``), a colour and a type (``"teal couch"``), a brand
and a type, and a model code (``"kx4821"``, the long tail). The **true relevance** of a product
to a query is its attribute match (3: all that was asked; 2: the type but another colour or
brand; 1: the same category, or the same brand's other types; 0 otherwise; a code query wants its
one product)
moved by its quality, ``clip(match + QUALITY_WEIGHT × quality, 0, 3)`` where the match is not 0.
Raters judge it with noise (two raters per pair, 0-3 each): they disagree about one grade in three.

The production ranker (the **logger**) retrieves by BM25, adds a bonus to promoted products and
shows ten. A shopper **examines** position *k* with probability ``(1 / k) ** eta`` and clicks an
examined product with a probability that grows with its true relevance (the cascade of Craswell
et al. is not needed: examination by position alone is the *position-based model*). In a small
share of sessions (``swap_share``) the logger swaps its first result with the one at a random
position 2-10 (the **swap intervention** of Joachims, Swaminathan and Schnabel, WSDM 2017): the
clicks that the same products get at different positions measure examination.

:func:`make_search_world` returns a :class:`SearchWorld` of four frames; the answer key (true
relevance, examination) is in ``world.latent`` and read through :func:`oracle_relevance` and
:func:`oracle_examination`; :meth:`SearchWorld.observable` drops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from curriculum.datasets._validation import (
    answer_key_of,
    check_count,
    check_fraction,
    check_random_state,
)

N_CATEGORIES = 12
TYPES_PER_CATEGORY = 8
N_TYPES = N_CATEGORIES * TYPES_PER_CATEGORY
N_COLOURS = 10
CATEGORY_WORDS = 12  # each category's own vocabulary (descriptions use a few)
TYPE_WORDS = 6  # each type's own vocabulary ("cushion", "armrest"): both names share it
FILLER_WORDS = 400
QUALITY_WEIGHT = 0.5  # how far quality moves true relevance
SYNONYM_SHARE = 0.4  # products (and queries) naming the type by its synonym
PROMOTED_SHARE = 0.12
PROMOTED_BONUS = 2.5  # what the logger adds to a promoted product's BM25 score
PROMOTED_PENALTY = 0.5  # promoted products are a little worse: sellers pay for what sells less
SHOWN = 10
QUERY_KINDS = ("type", "colour_type", "brand_type", "code")
KIND_SHARES = (0.3, 0.3, 0.25, 0.15)
ATTRACT_FLOOR = 0.03  # click probability of an examined irrelevant product
ATTRACT_SCALE = 0.6  # and what a perfect one adds


def _words(rng: np.random.Generator, n: int, syllables: tuple[int, int]) -> list[str]:
    """`n` distinct made-up pronounceable words."""
    onsets = list("bdfgklmnprstvz") + ["br", "dr", "kl", "pl", "st", "tr", "sh"]
    vowels = list("aeiou") + ["ai", "ou"]
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        k = int(rng.integers(syllables[0], syllables[1] + 1))
        word = "".join(
            onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))] for _ in range(k)
        )
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


@dataclass(frozen=True)
class SearchWorld:
    """The catalogue, queries, click log and judgments of one simulated shop.

    Attributes
    ----------
    documents : DataFrame
        One row per product: ``doc_id``, ``title`` (its searchable text), ``category``,
        ``product_type``, ``brand``, ``colour``, ``price``, ``rating`` (1-5, noisy quality),
        ``n_reviews``, ``promoted`` (paid placement), ``age_days``.
    queries : DataFrame
        One row per distinct query: ``query_id``, ``text``, ``kind`` (one of ``QUERY_KINDS``),
        ``frequency`` (searches of it in the log).
    log : DataFrame
        One row per product shown: ``session_id``, ``query_id``, ``doc_id``, ``position``
        (1-10), ``logged_rank`` (where the logger ranked it before any swap), ``swapped`` (the
        session was a swap intervention), ``clicked``, ``dwell_seconds`` (0 without a click).
    judgments : DataFrame
        Graded labels: ``query_id``, ``doc_id``, ``rater`` (0 or 1), ``grade`` (0-3).
    latent : dict
        The answer key (true relevance, examination): not observable.
    """

    documents: pd.DataFrame
    queries: pd.DataFrame
    log: pd.DataFrame
    judgments: pd.DataFrame
    latent: dict = field(repr=False, compare=False)

    def observable(self) -> SearchWorld:
        """The world without its answer key: what the shop's systems record."""
        return replace(self, latent={})


def make_search_world(
    n_documents: int = 20_000,
    *,
    n_queries: int = 2_000,
    n_sessions: int = 30_000,
    n_judged: int = 300,
    swap_share: float = 0.05,
    eta: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> SearchWorld:
    """Generate a product catalogue, its queries, a logged click log and rater judgments.

    Parameters
    ----------
    n_documents : int, default 20_000
        Products in the catalogue (at least 200).
    n_queries : int, default 2_000
        Distinct queries (at least 20); searched with Zipf-like frequencies (head and tail).
    n_sessions : int, default 30_000
        Logged searches; each shows ten products.
    n_judged : int, default 300
        Queries with graded labels (at most `n_queries`): the logger's top 12 for each and 8
        products of the query's category (a pool, as TREC pools systems), judged by two raters.
    swap_share : float, default 0.05
        Share of sessions in which the logger swaps its first result with a random one of
        positions 2-10, in [0, 1).
    eta : float, default 1.0
        Position bias: position *k* is examined with probability ``(1 / k) ** eta``, in (0, 3).
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same int gives the same world on every machine.

    Returns
    -------
    SearchWorld
    """
    n_documents = check_count("n_documents", n_documents, 200)
    n_queries = check_count("n_queries", n_queries, 20)
    n_sessions = check_count("n_sessions", n_sessions, 1)
    n_judged = check_count("n_judged", n_judged, 1)
    if n_judged > n_queries:
        raise ValueError(f"n_judged ({n_judged}) cannot exceed n_queries ({n_queries})")
    swap_share = check_fraction("swap_share", swap_share, 0.0, 1.0, include_low=True)
    eta = check_fraction("eta", eta, 0.0, 3.0)
    rng = check_random_state(random_state)

    words = _words(
        rng,
        (2 + TYPE_WORDS) * N_TYPES + N_COLOURS + N_CATEGORIES * (CATEGORY_WORDS + 1) + FILLER_WORDS,
        (2, 3),
    )
    at = 0

    def take(n: int) -> np.ndarray:
        nonlocal at
        out = np.array(words[at : at + n], dtype=object)
        at += n
        return out

    names, synonyms = take(N_TYPES), take(N_TYPES)
    colours, category_names = take(N_COLOURS), take(N_CATEGORIES)
    category_vocab = take(N_CATEGORIES * CATEGORY_WORDS).reshape(N_CATEGORIES, CATEGORY_WORDS)
    type_vocab = take(N_TYPES * TYPE_WORDS).reshape(N_TYPES, TYPE_WORDS)
    filler = take(FILLER_WORDS)
    n_brands = max(N_CATEGORIES, min(400, n_documents // 50))
    brand_names = np.array(_words(rng, n_brands + 400, (2, 2))[400:], dtype=object)
    brand_names = np.array([f"{b}co" for b in brand_names], dtype=object)
    brand_category = np.arange(n_brands) % N_CATEGORIES
    # each brand makes three types of its category
    brand_types = np.stack(
        [
            c * TYPES_PER_CATEGORY + rng.choice(TYPES_PER_CATEGORY, 3, replace=False)
            for c in brand_category
        ]
    )

    # -- documents --------------------------------------------------------------------------
    brand = rng.integers(n_brands, size=n_documents)
    ptype = brand_types[brand, rng.integers(3, size=n_documents)]
    category = ptype // TYPES_PER_CATEGORY
    colour = rng.integers(N_COLOURS, size=n_documents)
    promoted = rng.random(n_documents) < PROMOTED_SHARE
    quality = rng.normal(size=n_documents) - PROMOTED_PENALTY * promoted
    n_reviews = np.floor(rng.lognormal(2.5, 1.3, size=n_documents)).astype(np.int64)
    noise = rng.normal(size=n_documents) * 1.2 / np.sqrt(1 + n_reviews / 10)
    rating = np.round(np.clip(3.9 + 0.45 * quality + noise, 1.0, 5.0), 1)
    price = np.round(np.exp(rng.normal(3.5 + 0.1 * category, 0.6)), 2)
    age_days = np.floor(rng.exponential(200, size=n_documents)).astype(np.int64)
    codes = np.array(
        [
            f"{a}{b}{n:04d}"
            for a, b, n in zip(
                rng.choice(list("bdfkmpstvxz"), n_documents),
                rng.choice(list("aeiouxy"), n_documents),
                rng.integers(10_000, size=n_documents),
                strict=True,
            )
        ],
        dtype=object,
    )
    uses_synonym = rng.random(n_documents) < SYNONYM_SHARE
    type_word = np.where(uses_synonym, synonyms[ptype], names[ptype])
    described = np.take_along_axis(
        category_vocab[category],
        np.argsort(rng.random((n_documents, CATEGORY_WORDS)), axis=1)[:, :2],
        axis=1,
    )
    featured = np.take_along_axis(
        type_vocab[ptype], np.argsort(rng.random((n_documents, TYPE_WORDS)), axis=1)[:, :2], axis=1
    )
    filled = filler[rng.integers(FILLER_WORDS, size=(n_documents, 2))]
    titles = [
        " ".join([b, c, t, code, *e, *d, *f])
        for b, c, t, code, e, d, f in zip(
            brand_names[brand],
            colours[colour],
            type_word,
            codes,
            featured,
            described,
            filled,
            strict=True,
        )
    ]
    documents = pd.DataFrame(
        {
            "doc_id": np.arange(n_documents, dtype=np.int64),
            "title": titles,
            "category": pd.Categorical(category_names[category], categories=list(category_names)),
            "product_type": pd.Categorical(names[ptype], categories=list(names)),
            "brand": pd.Categorical(brand_names[brand], categories=list(brand_names)),
            "colour": pd.Categorical(colours[colour], categories=list(colours)),
            "price": price,
            "rating": rating,
            "n_reviews": n_reviews,
            "promoted": promoted,
            "age_days": age_days,
        }
    )

    # -- queries ----------------------------------------------------------------------------
    kind = rng.choice(len(QUERY_KINDS), size=n_queries, p=KIND_SHARES)
    q_type = rng.integers(N_TYPES, size=n_queries)
    q_colour = rng.integers(N_COLOURS, size=n_queries)
    q_doc = rng.integers(n_documents, size=n_queries)  # code queries: the product sought
    q_brand = np.full(n_queries, -1)
    # a brand query names a brand that makes the type; a code query the product's own attributes
    is_brand, is_code = kind == 2, kind == 3
    makers = [np.flatnonzero((brand_types == t).any(axis=1)) for t in range(N_TYPES)]
    for i in np.flatnonzero(is_brand):
        options = makers[q_type[i]]
        if len(options) == 0:
            kind[i] = 0
        else:
            q_brand[i] = options[rng.integers(len(options))]
    q_type[is_code], q_brand[is_code] = ptype[q_doc[is_code]], brand[q_doc[is_code]]
    q_colour[is_code] = colour[q_doc[is_code]]
    q_synonym = rng.random(n_queries) < SYNONYM_SHARE
    q_word = np.where(q_synonym, synonyms[q_type], names[q_type])
    texts = []
    for i in range(n_queries):
        k = QUERY_KINDS[kind[i]]
        if k == "type":
            texts.append(q_word[i])
        elif k == "colour_type":
            texts.append(f"{colours[q_colour[i]]} {q_word[i]}")
        elif k == "brand_type":
            texts.append(f"{brand_names[q_brand[i]]} {q_word[i]}")
        else:
            texts.append(codes[q_doc[i]])
    # code queries are the tail: rare; the rest Zipf-like over a random order
    weight = 1.0 / np.arange(1, n_queries + 1) ** 1.0
    weight = weight[rng.permutation(n_queries)]
    weight[kind == 3] = weight.min()
    weight /= weight.sum()

    # -- true relevance: (query, product) match moved by quality -----------------------------
    def match(qi: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Attribute match (0-3) of queries `qi` and products `d` (broadcast)."""
        k, t = kind[qi], q_type[qi]
        same_type, same_cat = ptype[d] == t, category[d] == t // TYPES_PER_CATEGORY
        same_colour, same_brand = colour[d] == q_colour[qi], brand[d] == q_brand[qi]
        m = np.where(same_cat, 1, 0)
        m = np.where((k == 0) & same_type, 3, m)
        m = np.where((k == 1) & same_type, np.where(same_colour, 3, 2), m)
        m = np.where((k == 2) & same_type, np.where(same_brand, 3, 2), m)
        m = np.where((k == 2) & ~same_type & same_brand, 1, m)
        m = np.where(k == 3, 0, m)
        return np.where((k == 3) & (d == q_doc[qi]), 3, m)

    def relevance(qi: np.ndarray, d: np.ndarray) -> np.ndarray:
        m = match(qi, d)
        return np.where(m > 0, np.clip(m + QUALITY_WEIGHT * quality[d], 0.0, 3.0), 0.0)

    named = pd.DataFrame(  # what each query names, canonically: the answer key of parsing it
        {
            "product_type": pd.Categorical(names[q_type], categories=list(names)),
            "colour": pd.Categorical(
                np.where(np.isin(kind, (1, 3)), colours[q_colour], None), categories=list(colours)
            ),
            "brand": pd.Categorical(
                np.where(np.isin(kind, (2, 3)), brand_names[np.maximum(q_brand, 0)], None),
                categories=list(brand_names),
            ),
            "doc_id": np.where(kind == 3, q_doc, -1).astype(np.int64),
        }
    )
    latent = {
        "match": match,
        "relevance": relevance,
        "quality": quality,
        "eta": eta,
        "query_attributes": named,
    }
    queries = pd.DataFrame(
        {
            "query_id": np.arange(n_queries, dtype=np.int64),
            "text": texts,
            "kind": pd.Categorical(np.array(QUERY_KINDS)[kind], categories=list(QUERY_KINDS)),
        }
    )

    # -- the logger: BM25 over titles, a bonus for promoted products -------------------------
    searched = rng.choice(n_queries, size=n_sessions, p=weight)
    needed = np.unique(np.r_[searched, np.arange(n_judged)])
    bm25 = _bm25(titles, [texts[q] for q in needed])  # sparse: needed x documents
    top = np.empty((len(needed), 20), dtype=np.int64)
    for lo in range(0, len(needed), 256):  # dense in blocks: memory stays small
        scores = bm25[lo : lo + 256].toarray()
        hit = scores > 0
        logger = scores + PROMOTED_BONUS * promoted[None, :] * hit
        logger += rng.gumbel(size=logger.shape) * 0.3 * hit  # ties and drift between days
        logger[~hit] = -np.inf
        top[lo : lo + 256] = np.argsort(-logger, axis=1, kind="stable")[:, :20]
    row = np.searchsorted(needed, searched)
    shown = top[row, :SHOWN].copy()
    logged_rank = np.tile(np.arange(1, SHOWN + 1), (n_sessions, 1))
    swapped = rng.random(n_sessions) < swap_share
    partner = rng.integers(1, SHOWN, size=n_sessions)
    s = np.flatnonzero(swapped)
    first = shown[s, 0].copy()
    shown[s, 0] = shown[s, partner[s]]
    shown[s, partner[s]] = first
    logged_rank[s, 0], logged_rank[s, partner[s]] = partner[s] + 1, 1
    position = np.arange(1, SHOWN + 1)
    examined = rng.random((n_sessions, SHOWN)) < (1.0 / position) ** eta
    rel = relevance(np.repeat(searched, SHOWN).reshape(n_sessions, SHOWN), shown)
    attract = ATTRACT_FLOOR + ATTRACT_SCALE * (2.0**rel - 1) / 7.0
    clicked = examined & (rng.random((n_sessions, SHOWN)) < attract)
    dwell = np.where(clicked, np.round(rng.lognormal(3.0 + 0.5 * rel, 0.6)), 0.0)
    log = pd.DataFrame(
        {
            "session_id": np.repeat(np.arange(n_sessions, dtype=np.int64), SHOWN),
            "query_id": np.repeat(searched.astype(np.int64), SHOWN),
            "doc_id": shown.ravel().astype(np.int64),
            "position": np.tile(position, n_sessions).astype(np.int64),
            "logged_rank": logged_rank.ravel().astype(np.int64),
            "swapped": np.repeat(swapped, SHOWN),
            "clicked": clicked.ravel().astype(np.int64),
            "dwell_seconds": dwell.ravel(),
        }
    )
    counts = np.bincount(searched, minlength=n_queries)
    queries["frequency"] = counts.astype(np.int64)

    # -- judgments: a pool for each of the first n_judged queries, two raters --------------
    judged = np.arange(n_judged)
    # pooled as TREC pools runs: the logger's top 12 and 8 products of the query's category
    # that another system proposed (lexical matches or not)
    in_category = [np.flatnonzero(category == c) for c in range(N_CATEGORIES)]
    others = np.stack(
        [
            in_category[c][rng.integers(len(in_category[c]), size=8)]
            if len(in_category[c])
            else rng.integers(n_documents, size=8)
            for c in q_type[judged] // TYPES_PER_CATEGORY
        ]
    )
    pool = np.c_[top[np.searchsorted(needed, judged), :12], others]
    qi, d = np.repeat(judged, pool.shape[1]), pool.ravel()
    _, first = np.unique(qi * n_documents + d, return_index=True)  # each pair judged once
    first = np.sort(first)
    qi, d = qi[first], d[first]
    truth = relevance(qi, d)
    grades = np.clip(np.round(truth[:, None] + rng.normal(0, 0.45, size=(len(d), 2))), 0, 3)
    judgments = pd.DataFrame(
        {
            "query_id": np.repeat(qi, 2).astype(np.int64),
            "doc_id": np.repeat(d, 2).astype(np.int64),
            "rater": np.tile([0, 1], len(d)).astype(np.int64),
            "grade": grades.ravel().astype(np.int64),
        }
    )
    return SearchWorld(documents, queries, log, judgments, latent)


def _bm25(titles: list[str], queries: list[str], k1: float = 1.5, b: float = 0.75):
    """BM25 scores of `queries` against `titles` (sparse queries x titles), whitespace tokens."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(token_pattern=r"\S+", lowercase=True)
    tf = vectorizer.fit_transform(titles).tocsc().astype(np.float64)
    n = tf.shape[0]
    df = np.diff(tf.indptr)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    length = np.asarray(tf.sum(axis=1)).ravel()
    norm = k1 * (1 - b + b * length / length.mean())
    tf = tf.tocsr()
    weighted = tf.copy()
    rows = np.repeat(np.arange(n), np.diff(tf.indptr))
    weighted.data = tf.data * (k1 + 1) / (tf.data + norm[rows]) * idf[tf.indices]
    q = vectorizer.transform(queries)
    q.data[:] = 1.0
    return (q @ weighted.T).tocsr()


def oracle_relevance(world: SearchWorld, query_ids, doc_ids) -> np.ndarray:
    """True relevance (0-3, continuous) of each (query, product) pair; broadcasts.

    Parameters
    ----------
    world : SearchWorld
        A world from :func:`make_search_world` with its answer key.
    query_ids, doc_ids : array-like of int
        Broadcastable ids (e.g. ``(n, 1)`` queries against ``(n, k)`` products).

    Returns
    -------
    ndarray of float
    """
    return _pairs(world, "relevance", query_ids, doc_ids)


def oracle_match(world: SearchWorld, query_ids, doc_ids) -> np.ndarray:
    """Attribute match (0-3) of each (query, product) pair, before quality; broadcasts.

    3 means the product is everything the query asked for (its type, and the colour, brand or
    model code named): the set a retrieval stage must not miss.
    """
    return _pairs(world, "match", query_ids, doc_ids)


def _pairs(world: SearchWorld, name: str, query_ids, doc_ids) -> np.ndarray:
    """The answer key's function `name` on broadcast (query, product) id pairs."""
    q, d = np.broadcast_arrays(np.asarray(query_ids), np.asarray(doc_ids))
    return answer_key_of(world, "world")[name](q.astype(np.int64), d.astype(np.int64))


def oracle_query_attributes(world: SearchWorld, query_ids=None) -> pd.DataFrame:
    """What each query names: the answer key of reading a query's attributes.

    ``product_type`` is the catalogue's name (also when the query used its synonym), ``colour``
    and ``brand`` are missing when not named, ``doc_id`` is the product a model-code query names
    (else -1). A model-code query names its product's type, colour and brand too.

    Parameters
    ----------
    world : SearchWorld
        A world from :func:`make_search_world` with its answer key.
    query_ids : array-like of int, optional
        The queries (default: all, in ``query_id`` order).

    Returns
    -------
    DataFrame
        One row per query, indexed by ``query_id``.
    """
    named = answer_key_of(world, "world")["query_attributes"]
    if query_ids is None:
        return named.rename_axis("query_id").copy()
    ids = np.asarray(query_ids, dtype=np.int64)
    return named.iloc[ids].set_axis(pd.Index(ids, name="query_id")).copy()


def oracle_examination(world: SearchWorld, positions=range(1, SHOWN + 1)) -> np.ndarray:
    """The probability that a shopper examines each position (``(1 / k) ** eta``)."""
    eta = answer_key_of(world, "world")["eta"]
    return (1.0 / np.asarray(list(positions), dtype=float)) ** eta
