"""How a lab reports its headline metric as *baseline → model → oracle*.

A notebook calls :func:`report_headline` once per headline metric. The call shows a small table
in the notebook and stores the numbers in the cell's output under :data:`HEADLINE_MIME`, so
``mlsd run`` can read them back from the executed notebook (the same idea as scrapbook's scraps,
without a side file or an extra dependency).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

HEADLINE_MIME = "application/vnd.mlsd.headline+json"


@dataclass(frozen=True)
class Headline:
    """A lab's headline metric for the naive baseline, the learner's model and the oracle.

    Attributes
    ----------
    metric : str
        What is measured, e.g. ``"MAE (s)"``.
    baseline, model, oracle : float
        The metric for the baseline, the model and the best possible prediction.
    lower_is_better : bool
        True for errors and losses, False for scores such as recall or NDCG.
    """

    metric: str
    baseline: float
    model: float
    oracle: float
    lower_is_better: bool = True

    @property
    def gap_closed(self) -> float:
        """Share of the baseline→oracle gap the model closes (1.0 = as good as the oracle)."""
        gap = self.baseline - self.oracle
        if gap == 0 or not math.isfinite(gap):
            return float("nan")
        return (self.baseline - self.model) / gap

    def format(self) -> str:
        """One line: ``metric: baseline → model → oracle (x% of gap)``."""
        closed = self.gap_closed
        share = "" if math.isnan(closed) else f" ({closed:.0%} of gap)"
        return f"{self.metric}: {self.baseline:.4g} → {self.model:.4g} → {self.oracle:.4g}{share}"


def report_headline(
    metric: str,
    *,
    baseline: float,
    model: float,
    oracle: float,
    lower_is_better: bool = True,
) -> Headline:
    """Show and record a lab's headline metric.

    Parameters
    ----------
    metric : str
        Name of the metric with its unit, e.g. ``"p95 |error| (min)"``.
    baseline, model, oracle : float
        The metric for the naive baseline, the learner's model and the oracle.
    lower_is_better : bool, default True
        Direction of the metric.

    Returns
    -------
    Headline
        The recorded numbers.

    Examples
    --------
    >>> h = report_headline("MAE", baseline=10.0, model=4.0, oracle=2.0)  # doctest: +SKIP
    """
    headline = Headline(metric, float(baseline), float(model), float(oracle), bool(lower_is_better))
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        print(headline.format())
        return headline
    rows = "".join(
        f"<tr><td>{name}</td><td>{value:.4g}</td></tr>"
        for name, value in (
            ("baseline", headline.baseline),
            ("your model", headline.model),
            ("oracle", headline.oracle),
        )
    )
    closed = headline.gap_closed
    caption = "" if math.isnan(closed) else f" — you close {closed:.0%} of the gap"
    html = (
        # the caption on one line: a table as narrow as three numbers would wrap it
        f'<table><caption style="white-space: nowrap; text-align: left">{metric}{caption}'
        "</caption>"
        f"<tr><th></th><th>{metric}</th></tr>{rows}</table>"
    )
    display(
        {HEADLINE_MIME: asdict(headline), "text/plain": headline.format(), "text/html": html},
        raw=True,
    )
    return headline


def read_headlines(nb: Mapping[str, Any]) -> list[Headline]:
    """Return the headlines an executed notebook (nbformat 4 dict) reported, in order."""
    found = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if HEADLINE_MIME in data:
                found.append(Headline(**data[HEADLINE_MIME]))
    return found
