"""Back-of-envelope helpers: traffic, storage, bandwidth and fleet size, and a tolerant checker.

Conventions: a day has 86,400 s and a month 30 days; sizes are in bytes (1 GB = 10⁹ bytes, the
storage vendors' unit).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 30


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
