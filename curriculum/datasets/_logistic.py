"""Logistic helpers shared by the generators whose labels come from a logistic model."""

from __future__ import annotations

import numpy as np
import pandas as pd


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_in_place(x: np.ndarray) -> np.ndarray:
    """:func:`sigmoid` computed in `x`'s own memory (`x` is overwritten and returned).

    The same operations in the same order, so the same bytes as ``sigmoid(x)``, without the
    three temporaries of `x`'s size (a users x items oracle is millions of values).
    """
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return np.divide(1.0, x, out=x)


def solve_intercept(rest: np.ndarray, target: float) -> float:
    """The intercept b0 such that ``mean(sigmoid(b0 + rest)) == target``.

    The mean is increasing and smooth in b0, so Newton's method converges in a few steps from a
    start at the logit of the target.
    """
    b0 = float(np.log(target / (1 - target)) - np.median(rest))
    for _ in range(200):
        p = sigmoid(b0 + rest)
        gap = p.mean() - target
        if abs(gap) < 1e-12:
            break
        b0 -= gap / max(float((p * (1 - p)).mean()), 1e-9)
    return b0


def observable(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without its answer key: what a real system would log.

    Drops the ``oracle_*`` columns and the generator's latent factors (``attrs["latent"]``).
    """
    out = frame.drop(columns=[c for c in frame.columns if c.startswith("oracle_")])
    out.attrs = {k: v for k, v in frame.attrs.items() if k != "latent"}
    return out
