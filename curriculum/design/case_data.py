"""What each lab day's case records: the tables and columns a design's sources are checked against.

A design document says where each feature and its label come from
(:meth:`~curriculum.design.document.DesignDocument.grounding`); on a lab day the answer is checked
against the data the lab works with, named as the notebook names it (``trips``, ``tx``...). The
columns come from a small world of the day's own generator, so they cannot drift from it; the
oracle's columns (what no system records) are left out.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def _eta() -> dict[str, pd.DataFrame]:
    from curriculum.datasets import make_eta_trips

    return {"trips": make_eta_trips(50, days=2, random_state=0)}


def _fraud() -> dict[str, pd.DataFrame]:
    from curriculum.datasets import make_transactions

    return {"tx": make_transactions(200, n_users=20, days=5, random_state=0)}


def _ctr() -> dict[str, pd.DataFrame]:
    from curriculum.datasets import make_ad_impressions, observable

    return {"ads": observable(make_ad_impressions(300, n_users=30, days=2, random_state=0))}


def _recommendations() -> dict[str, pd.DataFrame]:
    from curriculum.datasets import item_catalogue, make_interactions, observable

    log = observable(make_interactions(300, n_users=30, n_items=80, days=2, random_state=0))
    return {"log": log, "catalogue": item_catalogue(log)}


def _search() -> dict[str, pd.DataFrame]:
    from curriculum.datasets import make_search_world

    shop = make_search_world(300, n_queries=50, n_sessions=100, n_judged=10, random_state=0)
    shop = shop.observable()
    return {name: getattr(shop, name) for name in ("documents", "queries", "log", "judgments")}


def _assistant() -> dict[str, pd.DataFrame]:
    from curriculum.datasets import make_help_center

    center = make_help_center(5, n_questions=20, random_state=0)
    return {"passages": center.passages, "questions": center.questions}


_CASES: dict[str, Callable[[], dict[str, pd.DataFrame]]] = {
    "day2": _eta,
    "day3": _fraud,
    "day4": _ctr,
    "day5": _recommendations,
    "day6": _search,
    "day7": _assistant,
}


def case_data(day: str) -> dict[str, list[str]]:
    """The tables of a lab day's case and their columns, as the notebook names them.

    Parameters
    ----------
    day : str
        A lab day with a design case: ``day2`` to ``day7``.

    Returns
    -------
    dict of str to list of str
        Table name to column names, without the oracle's columns.

    Raises
    ------
    KeyError
        If `day` has no case data; the message lists the days that do.
    """
    if day not in _CASES:
        raise KeyError(f"no case data for {day!r}; days with a case: {', '.join(_CASES)}")
    return {
        table: [str(c) for c in frame.columns if not str(c).startswith("oracle")]
        for table, frame in _CASES[day]().items()
    }
