"""Argument checks shared by the generators: every bad argument raises ``ValueError`` naming it."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn `random_state` (int, ``numpy.random.Generator`` or None) into a Generator."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise ValueError(
        "random_state must be an int, a numpy.random.Generator or None, "
        f"got {type(random_state).__name__}"
    )


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """Check that `value` is an int of at least `minimum` and return it."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_fraction(
    name: str, value: object, low: float = 0.0, high: float = 1.0, *, include_low: bool = False
) -> float:
    """Check that `value` is a number between `low` and `high` and return it.

    Both bounds are exclusive unless `include_low` (then ``low <= value < high``); NaN never
    passes. ``high=math.inf`` checks a lower bound only.
    """
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    above = low <= float(value) if include_low else low < float(value)
    if not (above and float(value) < high):
        bounds = f"in [{low}, {high})" if include_low else f"between {low} and {high} (exclusive)"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return float(value)


def check_start(name: str, value: object) -> pd.Timestamp:
    """Parse a start date into a UTC timestamp (naive values are taken as UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a date such as '2025-09-01', got {value!r}") from None
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a date such as '2025-09-01', got {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def utc_timestamps(start: pd.Timestamp, seconds: np.ndarray) -> pd.Series:
    """``start`` plus whole seconds, as ``datetime64[ns, UTC]`` values (NaN seconds: NaT)."""
    missing = np.isnan(seconds)
    has_missing = bool(missing.any())
    ns = np.round(np.where(missing, 0.0, seconds) if has_missing else seconds).astype(np.int64)
    ns *= 1_000_000_000
    ns += start.value
    if has_missing:
        ns[missing] = np.iinfo(np.int64).min  # numpy's NaT
    return pd.Series(pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC"))


def hour_and_weekday(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Fractional hour of day and day of week (Monday = 0) of UTC timestamps, vectorised."""
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        raise ValueError("timestamps must be timezone-aware (UTC), got naive datetimes")
    seconds = index.as_unit("ns").asi8 // 1_000_000_000
    hour = (seconds % 86_400) / 3600.0
    weekday = (seconds // 86_400 + 3) % 7  # 1970-01-01 was a Thursday
    return hour, weekday


def answer_key_of(world: object, name: str) -> dict:
    """The answer key (``world.latent``) of a generated world, or a ValueError naming it.

    `name` says what the world is ("world", "help center") in the message.
    """
    latent = getattr(world, "latent", None)
    if not latent:
        raise ValueError(f"this {name} has no answer key (it was made observable)")
    return latent
