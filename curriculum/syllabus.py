"""The syllabus: which days exist, their notebooks and the quick parameters CI uses.

Everything else (the CLI, the tests, the benchmark) reads this module. Adding a day is adding one
:class:`Day` entry to :data:`SYLLABUS` plus its notebook(s) under ``source/<day id>/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from curriculum.errors import CourseError


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of a day.

    Parameters
    ----------
    filename : str
        File name inside ``source/<day>/`` and ``release/<day>/``, e.g. ``"eta.ipynb"``.
    quick : Mapping[str, Any]
        Papermill parameters for the small, fast version CI runs (``mlsd run --quick``). The
        notebook's own parameters cell holds the learner's (full) defaults.
    """

    filename: str
    quick: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:  # freeze the mapping too
        object.__setattr__(self, "quick", MappingProxyType(dict(self.quick)))

    @property
    def stem(self) -> str:
        """The notebook name without ``.ipynb`` (nbgrader's notebook id)."""
        return self.filename.removesuffix(".ipynb")


@dataclass(frozen=True)
class Day:
    """One day of the course: an nbgrader assignment.

    Parameters
    ----------
    id : str
        Assignment id, the folder name under ``source/`` and ``release/`` (``"day0"``).
    title : str
        Human title shown by ``mlsd list``.
    case : str
        The case study of the day (``"Uber-style ETA"``), or the theme for non-case days.
    notebooks : tuple of NotebookSpec
        The day's notebooks in the order a learner works through them.
    """

    id: str
    title: str
    case: str
    notebooks: tuple[NotebookSpec, ...]

    def notebook(self, filename: str) -> NotebookSpec:
        """Return the notebook spec called `filename` (with or without ``.ipynb``)."""
        for nb in self.notebooks:
            if filename in (nb.filename, nb.stem):
                return nb
        names = ", ".join(nb.filename for nb in self.notebooks)
        raise CourseError(f"{self.id} has no notebook {filename!r} (it has: {names})")


SYLLABUS: tuple[Day, ...] = (
    Day(
        id="day0",
        title="Orientation: how this course works",
        case="parameters, graded questions, baseline → you → oracle",
        notebooks=(NotebookSpec("orientation.ipynb", quick={"n_samples": 2_000}),),
    ),
    Day(
        id="day1",
        title="Design practice: the answer skeleton",
        case=(
            "framing, losses, metrics, experiments and rollout, failure modes, estimates, "
            "features and privacy, leakage, tools, a full design"
        ),
        notebooks=(NotebookSpec("design_practice.ipynb", quick={"n_scenarios": 5}),),
    ),
    Day(
        id="day2",
        title="Uber-style ETA: a learned residual on the routing engine",
        case="time split, H3 features, leakage-free aggregate, residual model vs oracle, P90",
        notebooks=(NotebookSpec("eta.ipynb", quick={"n_trips": 6_000, "n_latency_calls": 100}),),
    ),
    Day(
        id="day3",
        title="Fraud detection: velocity features, delayed labels and holiday drift",
        case="point-in-time features, matured labels, calibration, priced decisions, drift monitor",
        notebooks=(NotebookSpec("fraud.ipynb", quick={"n_transactions": 20_000, "n_users": 700}),),
    ),
    Day(
        id="day4",
        title="Ad click prediction: calibrated probabilities from fresh features",
        case="hashing, point-in-time CTR, NE and calibration, daily serving, downsampling, Feast",
        notebooks=(
            NotebookSpec("ctr.ipynb", quick={"n_impressions": 40_000, "n_users": 1_500}),
            NotebookSpec("feature_store.ipynb", quick={"n_impressions": 30_000}),
        ),
    ),
    Day(
        id="day5",
        title="Recommendations: retrieval, ranking and a vector index",
        case=(
            "time holdout, recall@k and NDCG, FAISS and Qdrant, two stages for watch time, "
            "cold start, IPS"
        ),
        notebooks=(
            NotebookSpec(
                "recommendations.ipynb",
                quick={
                    "n_impressions": 40_000,
                    "n_users": 300,
                    "n_items": 10_000,
                    "n_index_items": 5_000,
                },
            ),
        ),
    ),
    Day(
        id="day6",
        title="Search ranking: hybrid retrieval, learning to rank, clicks and interleaving",
        case=(
            "BM25 and LSA vectors fused by RRF, LambdaMART on judgments, position bias from "
            "swaps, rater kappa, team-draft interleaving"
        ),
        notebooks=(
            NotebookSpec(
                "search.ipynb",
                quick={
                    "n_documents": 5_000,
                    "n_queries": 800,
                    "n_sessions": 8_000,
                    "n_judged": 150,
                    "n_click_rows": 10_000,
                    "n_experiments": 10,
                },
            ),
        ),
    ),
    Day(
        id="day7",
        title="A retrieval-augmented assistant: retrieved, assembled, judged and guarded offline",
        case=(
            "PII redaction, injection flags, the policy version in force, context in a token "
            "budget, an answer judge and its kappa against reviewers, tokens, cost and KV-cache "
            "estimates from stated assumptions, an agent loop with tools and a budget"
        ),
        notebooks=(NotebookSpec("assistant.ipynb", quick={"n_products": 30, "n_questions": 200}),),
    ),
    Day(
        id="day8",
        title="Capstone: the fraud model in production with Prefect, MLflow and FastAPI",
        case=(
            "a flow with retries and caches, a registry gate on ranking and dollars moving the "
            "champion alias, an endpoint serving the champion on online features, drift alerts "
            "that retrain"
        ),
        notebooks=(
            NotebookSpec(
                "capstone.ipynb",
                quick={"n_transactions": 20_000, "n_users": 800, "n_requests": 60},
            ),
        ),
    ),
)


def day_ids() -> list[str]:
    """Return the ids of all days in syllabus order."""
    return [day.id for day in SYLLABUS]


def get_day(day_id: str) -> Day:
    """Return the day with id `day_id`.

    Raises
    ------
    CourseError
        If there is no such day; the message lists the days that exist.
    """
    for day in SYLLABUS:
        if day.id == day_id:
            return day
    raise CourseError(f"unknown day {day_id!r}; the syllabus has: {', '.join(day_ids())}")


def select_days(ids: Iterable[str] | None = None) -> list[Day]:
    """Return the named days in the order given, or every day when `ids` is empty or None."""
    ids = list(ids or [])
    if not ids:
        return list(SYLLABUS)
    return [get_day(day_id) for day_id in dict.fromkeys(ids)]
