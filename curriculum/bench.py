"""The benchmark behind ``mlsd bench``: how long execution and grading take.

It prints numbers; nothing here asserts a time.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from curriculum.check import check_notebook
from curriculum.course import Course
from curriculum.load import background_load
from curriculum.runner import execute_notebook, notebook_run_parameters, run_curriculum
from curriculum.syllabus import Day


@dataclass(frozen=True)
class NotebookTiming:
    """Seconds for one notebook at its quick parameters."""

    day: str
    notebook: str
    papermill_seconds: float
    check_seconds: float

    @property
    def ratio(self) -> float:
        """``mlsd check`` time over plain papermill time."""
        return self.check_seconds / self.papermill_seconds if self.papermill_seconds else 0.0


@dataclass(frozen=True)
class BenchResult:
    """The notebook benchmark numbers."""

    notebooks: list[NotebookTiming]
    curriculum_quick_seconds: float
    curriculum_ok: bool


def benchmark(
    course: Course, days: Iterable[Day], *, on_step: Callable[[str], None] | None = None
) -> BenchResult:
    """Time papermill and ``mlsd check`` per notebook, then the quick curriculum run.

    Per notebook: papermill execution at the quick parameters, and ``mlsd check`` of the
    executed solution. Then the whole ``mlsd run --quick``.
    """
    days = list(days)
    timings = []
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as tmp:
        tmp = Path(tmp)
        for day in days:
            for spec in day.notebooks:
                if on_step:
                    on_step(f"{day.id}/{spec.filename}: papermill")
                source = course.source_notebook(day, spec)
                params = notebook_run_parameters(
                    source, spec, quick=True, overrides={}, where=f"{day.id}/{spec.filename}"
                )
                executed = tmp / "exec" / day.id / spec.filename
                seconds, _ = execute_notebook(source, executed, params)
                learner = tmp / "learner" / day.id / spec.filename
                learner.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(executed, learner)
                if on_step:
                    on_step(f"{day.id}/{spec.filename}: mlsd check")
                start = time.perf_counter()
                check_notebook(course, learner, day_id=day.id)
                check_seconds = time.perf_counter() - start
                timings.append(NotebookTiming(day.id, spec.filename, seconds, check_seconds))
        if on_step:
            on_step("whole curriculum, quick")
        start = time.perf_counter()
        results = run_curriculum(course, days, quick=True, output_dir=tmp / "run")
        total = time.perf_counter() - start
    return BenchResult(timings, total, all(r.ok for r in results))


@dataclass(frozen=True)
class GeneratorTiming:
    """Speed and memory of one data generator (the best and the median of repeated runs)."""

    name: str
    rows: int
    seconds: float
    peak_bytes: int
    frame_bytes: int
    median_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Generated rows per second, from the best run."""
        return self.rows / self.seconds if self.seconds else float("inf")

    @property
    def memory_ratio(self) -> float:
        """Peak memory while generating over the size of the resulting frame."""
        return self.peak_bytes / self.frame_bytes if self.frame_bytes else float("inf")


def benchmark_generators(rows: int = 1_000_000, repeat: int = 3) -> list[GeneratorTiming]:
    """Time each committed dataset's generator at `rows` rows, then trace its peak memory.

    Each generator runs `repeat` times; the best run gives rows per second (as ``timeit`` does:
    the other runs measure the machine's noise), the median is reported next to it. Timing and
    memory come from separate calls, because tracing allocations slows generation down several
    times.
    """
    import statistics
    import tracemalloc

    from curriculum.datasets.store import DATASETS

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    timings = []
    for spec in DATASETS:
        size_argument = _size_parameter(spec.generator)
        spec.generator(**{size_argument: 1_000}, random_state=0)  # warm up imports and caches
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            frame = spec.generator(**{size_argument: rows}, random_state=0)
            runs.append(time.perf_counter() - start)
            frame_bytes = int(frame.memory_usage(deep=True).sum())
            n = len(frame)
            del frame
        tracemalloc.start()
        spec.generator(**{size_argument: rows}, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        timings.append(
            GeneratorTiming(
                spec.generator.__name__,
                n,
                min(runs),
                peak,
                frame_bytes,
                statistics.median(runs),
            )
        )
    return timings


def _size_parameter(generator: Callable[..., object]) -> str:
    """The generator's row-count argument: its first ``n_*`` parameter (``n_trips``...)."""
    import inspect

    return next(p for p in inspect.signature(generator).parameters if p.startswith("n_"))


@dataclass(frozen=True)
class GradingTiming:
    """Seconds to grade a batch of identical submissions with some number of workers."""

    workers: int
    submissions: int
    seconds: float
    sandbox: str
    load: float = 0.0  # background burners per core while it ran
    points: float = 0.0  # points of the whole batch (the same under load: the grade holds)
    to_regrade: int = 0  # notebooks the busy machine could not grade fairly


def benchmark_grading(
    course: Course,
    day: Day,
    *,
    submissions: int = 30,
    workers: Iterable[int] = (1, 2),
    load: float = 0.0,
    on_step: Callable[[str], None] | None = None,
) -> list[GradingTiming]:
    """Grade `submissions` copies of the day's reference notebooks with each worker count.

    Each run grades the whole batch from scratch (a fresh gradebook), so the times compare the
    serial and the parallel batch directly. With `load`, the batch is then graded once more
    with the most workers while ``load`` × cores CPU-burning processes run: how much slower
    grading gets, and whether every point holds.
    """
    from curriculum.grading.session import GradingSession
    from curriculum.notebooks import inject_parameters, read_notebook

    timings = []
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-grading-") as tmp:
        tmp = Path(tmp)
        reference = {}
        for spec in day.notebooks:
            nb = read_notebook(course.source_notebook(day, spec))
            reference[spec.filename] = inject_parameters(nb, spec.quick) if spec.quick else nb
        batch = {}
        for i in range(submissions):
            student = f"student{i:03d}"
            batch[student] = {}
            for filename, nb in reference.items():
                path = tmp / "in" / student / day.id / filename
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
                batch[student][filename] = path
        runs = [(n, 0.0) for n in workers]
        if load:
            runs.append((max(n for n, _ in runs), load))
        for n, factor in runs:
            if on_step:
                busy = f" under a load of {factor:g} x cores" if factor else ""
                on_step(f"grading {submissions} x {day.id} with {n} worker(s){busy}")
            with background_load(factor, seconds=3600) if factor else contextlib.nullcontext():
                start = time.perf_counter()
                with GradingSession(course, tmp / f"w{n}-{factor:g}", workers=n) as session:
                    grades = session.grade(day, batch)
                seconds = time.perf_counter() - start
            timings.append(
                GradingTiming(
                    n,
                    submissions,
                    seconds,
                    grades[0].sandbox,
                    factor,
                    sum(g.score for g in grades),
                    sum(1 for g in grades if g.regrade),
                )
            )
    return timings


@dataclass(frozen=True)
class FeatureStoreTiming:
    """One step of the Day 4 feature store, timed (rows or lookups per second where it applies)."""

    step: str
    rows: int
    seconds: float
    note: str = ""

    @property
    def rows_per_second(self) -> float:
        """Rows handled per second (0 when the step has no rows)."""
        return self.rows / self.seconds if self.rows and self.seconds else 0.0


def benchmark_feature_store(
    impressions: int = 200_000, entity_rows: int = 100_000, lookups: int = 200
) -> list[FeatureStoreTiming]:
    """Time Feast's steps on Day 4's data next to the pandas ``merge_asof`` equivalent.

    A nightly table of clicks and impressions per creative and day is written to Parquet; then:
    ``apply`` of an entity and a feature view, point-in-time retrieval of `entity_rows` training
    rows (and the same join with ``pandas.merge_asof``), ``materialize`` of the last week, and
    `lookups` online lookups of 300 creatives each (p50/p99 in milliseconds).
    """
    import statistics
    from datetime import timedelta

    import numpy as np
    import pandas as pd
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Int64

    from curriculum.datasets import make_ad_impressions
    from curriculum.feature_store import (
        historical_features,
        local_store,
        materialize,
        online_features,
    )

    ads = make_ad_impressions(impressions, days=21, random_state=0)
    day = ads["timestamp"].dt.floor("D")
    daily = ads.groupby([ads["creative_id"], day])["click"].agg(["count", "sum"]).reset_index()
    daily.columns = ["creative_id", "day", "impressions", "clicks"]
    daily["available_at"] = daily["day"] + pd.Timedelta(hours=26)
    rng = np.random.default_rng(0)
    entity_df = pd.DataFrame(
        {
            "creative_id": rng.choice(daily["creative_id"].unique(), entity_rows),
            "event_timestamp": ads["timestamp"].to_numpy()[rng.integers(0, len(ads), entity_rows)],
        }
    )
    ttl = timedelta(days=7)
    out = []
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-feast-") as tmp:
        tmp = Path(tmp)
        daily.to_parquet(tmp / "daily.parquet")
        start = time.perf_counter()
        store = local_store(tmp / "repo")
        entity = Entity(name="creative", join_keys=["creative_id"], value_type=ValueType.INT64)
        view = FeatureView(
            name="creative_daily",
            entities=[entity],
            ttl=ttl,
            schema=[Field(name="clicks", dtype=Int64), Field(name="impressions", dtype=Int64)],
            source=FileSource(path=str(tmp / "daily.parquet"), timestamp_field="available_at"),
        )
        store.apply([entity, view])
        out.append(
            FeatureStoreTiming("apply (entity + feature view)", 0, time.perf_counter() - start)
        )
        features = ["creative_daily:clicks", "creative_daily:impressions"]
        start = time.perf_counter()
        historical_features(store, entity_df, features)
        out.append(
            FeatureStoreTiming(
                "historical retrieval (Feast, DuckDB)", entity_rows, time.perf_counter() - start
            )
        )
        start = time.perf_counter()
        pd.merge_asof(
            entity_df.sort_values("event_timestamp"),
            daily.sort_values("available_at")[["creative_id", "available_at", "clicks"]],
            left_on="event_timestamp",
            right_on="available_at",
            by="creative_id",
            tolerance=ttl,
        )
        out.append(
            FeatureStoreTiming(
                "the same join, pandas merge_asof", entity_rows, time.perf_counter() - start
            )
        )
        end = ads["timestamp"].max()
        start = time.perf_counter()
        materialize(store, end - ttl, end)
        out.append(
            FeatureStoreTiming("materialize the last week (SQLite)", 0, time.perf_counter() - start)
        )
        ids = daily["creative_id"].unique()
        times = []
        for _ in range(lookups):
            rows = [{"creative_id": int(i)} for i in rng.choice(ids, 300)]
            start = time.perf_counter()
            online_features(store, features, rows)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        out.append(
            FeatureStoreTiming(
                "online lookup, 300 creatives",
                lookups * 300,
                sum(times) / 1000,
                f"p50 {statistics.median(times):.1f} ms, p99 {p99:.1f} ms",
            )
        )
    return out


def benchmark_vector_index(
    sizes: Iterable[int] = (10_000, 100_000), queries: int = 500, k: int = 10
) -> list[dict]:
    """Time Day 5's retrieval methods on synthetic clustered catalogues of each size.

    Exact NumPy search, FAISS HNSW at several ``efSearch`` and Qdrant's local mode (only up to
    ``QDRANT_LOCAL_MAX_POINTS``, where qdrant-client stops recommending it): build seconds,
    queries per second and recall@`k` against exact search
    (:func:`curriculum.vector_index.compare_indexes`).
    """
    from curriculum.vector_index import QDRANT_LOCAL_MAX_POINTS, clustered_vectors, compare_indexes

    rows = []
    for size in sizes:
        items, query_vectors = clustered_vectors(size, n_queries=queries, random_state=0)
        frame = compare_indexes(items, query_vectors, k=k, qdrant=size <= QDRANT_LOCAL_MAX_POINTS)
        rows += [{"items": size, **row} for row in frame.to_dict("records")]
    return rows


def benchmark_search(sizes: Iterable[int] = (20_000, 100_000), queries: int = 500) -> list[dict]:
    """Time Day 6's retrieval on simulated shops of each catalogue size.

    For BM25 (``bm25s``), scikit-learn's TF-IDF cosine (the baseline) and LSA vectors with exact
    search: seconds to build the index, queries per second (one thread, one batch) and the
    recall@100 of each query's exact matches (what the lab's hybrid fuses).
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from threadpoolctl import threadpool_limits

    from curriculum.datasets import make_search_world, oracle_match
    from curriculum.search_index import bm25_index, bm25_search, text_vectors
    from curriculum.vector_index import exact_top_k

    def tfidf_index(titles):
        tfidf = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True)
        return tfidf, tfidf.fit_transform(titles)

    def cosine(index, texts):
        tfidf, matrix = index
        out = []
        for lo in range(0, len(texts), 64):  # dense in blocks: memory stays small
            scores = (tfidf.transform(texts[lo : lo + 64]) @ matrix.T).toarray()
            out.append(np.argsort(-scores, axis=1, kind="stable")[:, :100])
        return np.vstack(out)

    methods = [  # name, build(titles) -> index, search(index, texts) -> 100 rows per query
        ("BM25 (bm25s)", bm25_index, lambda index, texts: bm25_search(index, texts, 100)),
        ("TF-IDF cosine (scikit-learn)", tfidf_index, cosine),
        (
            "LSA vectors, exact search",
            text_vectors,
            lambda index, texts: exact_top_k(index[1], index[0](texts), 100),
        ),
    ]
    rows = []
    for size in sizes:
        world = make_search_world(
            size, n_queries=queries, n_sessions=1_000, n_judged=1, random_state=0
        )
        titles = world.documents["title"].tolist()
        texts = world.queries["text"].tolist()
        ids = world.queries["query_id"].to_numpy()
        exact = oracle_match(world, ids[:, None], np.arange(size)[None, :]) == 3
        wanted = np.maximum(1, np.minimum(100, exact.sum(axis=1)))
        with threadpool_limits(1):
            for method, build, search in methods:
                start = time.perf_counter()
                index = build(titles)
                built = time.perf_counter() - start
                start = time.perf_counter()
                found = search(index, texts)  # timed once, and scored
                seconds = time.perf_counter() - start
                hits = [exact[i, np.asarray(f, dtype=np.int64)].sum() for i, f in enumerate(found)]
                rows.append(
                    {
                        "documents": size,
                        "method": method,
                        "build_seconds": built,
                        "queries_per_second": len(texts) / seconds if seconds else float("inf"),
                        "recall": float(np.mean(np.asarray(hits) / wanted)),
                    }
                )
    return rows
