"""Back-of-envelope helpers: traffic, storage, bandwidth and fleet size, and a tolerant checker.

Conventions: a day has 86,400 s and a month 30 days; sizes are in bytes (1 GB = 10⁹ bytes, the
storage vendors' unit).
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
from collections.abc import Mapping
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 30


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > 64:  # 9 ** 9 ** 9 would run for ever
        raise ValueError(f"an exponent of {exponent:g} is not an estimate")
    return float(base) ** float(exponent)


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv, ast.Pow: _power, ast.USub: operator.neg}


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}"
        )
    return float(value)


def average_qps(daily_active_users: float, requests_per_user_per_day: float) -> float:
    """Average requests per second: DAU × requests per user per day / 86,400."""
    dau = _positive("daily_active_users", daily_active_users)
    per_user = _positive("requests_per_user_per_day", requests_per_user_per_day)
    return dau * per_user / SECONDS_PER_DAY


def peak_qps(
    daily_active_users: float, requests_per_user_per_day: float, peak_factor: float = 2.0
) -> float:
    """Peak requests per second: the average times the peak-to-average ratio."""
    factor = _positive("peak_factor", peak_factor)
    if factor < 1:
        raise ValueError(
            f"peak_factor is a peak-to-average ratio and cannot be below 1, got {factor}"
        )
    return average_qps(daily_active_users, requests_per_user_per_day) * factor


def requests_per_month(qps: float) -> float:
    """Requests in a 30-day month at a sustained rate (4,000 QPS ≈ 10.4 billion a month)."""
    return _positive("qps", qps, allow_zero=True) * SECONDS_PER_DAY * DAYS_PER_MONTH


def storage_bytes(records: float, bytes_per_record: float, *, replication: float = 1.0) -> float:
    """Bytes to store `records` rows of `bytes_per_record`, times the replication factor."""
    return (
        _positive("records", records, allow_zero=True)
        * _positive("bytes_per_record", bytes_per_record)
        * _positive("replication", replication)
    )


def bandwidth_bytes_per_second(qps: float, bytes_per_request: float) -> float:
    """Network bandwidth in bytes per second for `qps` requests of `bytes_per_request`."""
    return _positive("qps", qps, allow_zero=True) * _positive(
        "bytes_per_request", bytes_per_request
    )


def fleet_size(peak: float, qps_per_server: float, *, target_utilisation: float = 0.6) -> int:
    """Servers needed to serve `peak` QPS when each runs at `target_utilisation` of its capacity."""
    util = _positive("target_utilisation", target_utilisation)
    if util > 1:
        raise ValueError(f"target_utilisation is a fraction of capacity, at most 1, got {util}")
    return max(
        1,
        math.ceil(
            _positive("peak", peak, allow_zero=True)
            / (_positive("qps_per_server", qps_per_server) * util)
        ),
    )


def humanize(value: float, unit: str = "") -> str:
    """A number in words a person reads aloud: ``10.4 billion``, ``2.5 thousand``."""
    for size, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if abs(value) >= size:
            return f"{value / size:.3g} {name}{' ' + unit if unit else ''}"
    return f"{value:.3g}{' ' + unit if unit else ''}"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


@dataclass(frozen=True)
class EstimateCheck:
    """The verdict on an estimate: within tolerance or not, and which way it is off."""

    ok: bool
    answer: float
    expected: float
    ratio: float
    message: str


def check_estimate(
    answer: float, expected: float, *, tolerance: float = 0.25, what: str = "estimate"
) -> EstimateCheck:
    """Accept `answer` within ±`tolerance` (relative) of `expected`; say which way it is off.

    Examples
    --------
    >>> check_estimate(12_000, 4_000, what="peak QPS").message
    'peak QPS 12,000 is 3× too high (expected about 4,000)'
    """
    if not isinstance(answer, numbers.Real) or isinstance(answer, bool) or math.isnan(answer):
        return EstimateCheck(
            False,
            float("nan"),
            expected,
            float("nan"),
            f"{what}: expected a number, got {answer!r}",
        )
    answer = float(answer)
    expected = _positive("expected", expected)
    tolerance = _positive("tolerance", tolerance)
    ratio = answer / expected
    if abs(ratio - 1) <= tolerance:
        return EstimateCheck(
            True,
            answer,
            expected,
            ratio,
            f"{what} {_fmt(answer)} is within {abs(ratio - 1):.0%} of {_fmt(expected)}",
        )
    if ratio <= 0:
        return EstimateCheck(
            False,
            answer,
            expected,
            ratio,
            f"{what} {_fmt(answer)} must be positive (expected about {_fmt(expected)})",
        )
    if ratio > 1:
        size = f"{ratio:.2g}× too high" if ratio >= 2 else f"{ratio - 1:.0%} too high"
    else:
        size = f"{1 / ratio:.2g}× too low" if ratio <= 0.5 else f"{1 - ratio:.0%} too low"
    return EstimateCheck(
        False,
        answer,
        expected,
        ratio,
        f"{what} {_fmt(answer)} is {size} (expected about {_fmt(expected)})",
    )


def arithmetic(expression: str, names: Mapping[str, float] | None = None) -> float:
    """Evaluate arithmetic without ``eval``.

    Numbers, the given `names`, + - * / **, parentheses, ``max`` and ``min``.

    Parameters
    ----------
    expression : str
        For example ``"daily_users * views / 86_400 * peak"``.
    names : mapping, optional
        The numbers the expression may name.

    Raises
    ------
    ValueError
        For anything else: an unknown name, an attribute, a call other than max/min, a syntax
        error, a division by zero.

    Examples
    --------
    >>> arithmetic("users * 10 / 86_400 * peak", {"users": 8.64e6, "peak": 3})
    3000.0
    """
    names = dict(names or {})

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("max", "min") and not node.keywords and node.args):
            return {"max": max, "min": min}[node.func.id](*(value(a) for a in node.args))
        if isinstance(node, ast.Name) and names:
            raise ValueError(f"{node.id!r} is not a number you stated ({', '.join(sorted(names))})")
        raise ValueError(f"only arithmetic, max and min: {expression!r}")

    try:
        tree = ast.parse(str(expression), mode="eval")
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from None
    try:
        return float(value(tree.body))
    except ZeroDivisionError:
        raise ValueError(f"division by zero in {expression!r}") from None
    except OverflowError:
        raise ValueError(f"too large to be an estimate: {expression!r}") from None
