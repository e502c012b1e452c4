"""Array helpers that make the generators fast and lean without changing a single value."""

from __future__ import annotations

import numpy as np

_BLOCK = 1 << 16


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative integer keys, several times faster.

    When the largest key and the row number fit together in 63 bits, each row's key is packed
    with its row number into one int64 and the packed values are sorted with numpy's unstable
    (vectorised) sort: equal keys are then ordered by row number, which is exactly the stable
    order. Otherwise it falls back to the stable argsort.
    """
    keys = np.asarray(keys)
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    index_bits = max(int(n - 1).bit_length(), 1)
    if low < 0 or high.bit_length() + index_bits > 63:
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.int64)
    packed <<= index_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << index_bits) - 1
    return packed


def rowwise_dot(
    left: np.ndarray, left_rows: np.ndarray, right: np.ndarray, right_rows: np.ndarray
) -> np.ndarray:
    """``(left[left_rows] * right[right_rows]).sum(axis=1)``, one block of rows at a time.

    The full-size gathers would be the largest allocation of a generator; blocks give the same
    floating-point operations, so the same values.
    """
    out = np.empty(len(left_rows))
    for begin in range(0, len(left_rows), _BLOCK):
        end = begin + _BLOCK
        out[begin:end] = np.einsum(
            "ij,ij->i", left[left_rows[begin:end]], right[right_rows[begin:end]]
        )
    return out


def choice(rng: np.random.Generator, size: int, p: np.ndarray) -> np.ndarray:
    """``rng.choice(len(p), size=size, p=p)``: the same draws and the same values, faster.

    numpy draws ``rng.random(size)`` and finds each value in the cumulative distribution with a
    binary search; this draws the same values and finds them through a guide table (Walker's
    "indexed search"), which spares most of the search's cache misses.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(p >= 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("p must be a non-empty 1-d array of probabilities that sum to 1")
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return searchsorted_unit(cdf, rng.random(size))


def searchsorted_unit(cdf: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cdf, values, side="right")`` for `values` in [0, 1).

    `cdf` is ascending and ends at 1.0. The unit interval is cut into ``K`` buckets (a power of
    two, about four per entry of `cdf`), so ``floor(value * K)`` is exact; the answer lies
    between the answers for the bucket's two edges, which a table holds, and the few values
    whose bucket holds an entry of `cdf` step forward to it.
    """
    bits = int(cdf.size).bit_length() + 2
    buckets = 1 << bits
    guide = np.searchsorted(cdf, np.arange(buckets + 1) / buckets, side="right")
    bucket = (values * buckets).astype(np.int64)
    index = guide[bucket]
    upper = guide[bucket + 1]
    active = np.flatnonzero(upper > index)
    while active.size:
        at = index[active]
        step = cdf[at] <= values[active]
        index[active[step]] += 1
        active = active[step & (at + 1 < upper[active])]
    return index


class FrozenArray:
    """A read-only array to keep in ``DataFrame.attrs``.

    pandas deep-copies ``attrs`` into every frame derived from another (each filter, each group
    of a groupby) and compares them with ``==`` when it concatenates. A list of 50,000 floats makes
    each copy cost milliseconds, and a plain ndarray makes ``==`` ambiguous; this wrapper is shared
    instead of copied and compares by value. ``np.asarray`` gives the array back; ``tolist``
    gives what JSON can hold.
    """

    __slots__ = ("values",)

    def __init__(self, values: object) -> None:
        array = np.array(values)
        array.setflags(write=False)
        self.values = array

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)

    def __deepcopy__(self, memo: dict) -> FrozenArray:
        return self  # immutable: sharing is copying

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrozenArray) and (
            other is self or np.array_equal(self.values, other.values)
        )

    __hash__ = object.__hash__

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"FrozenArray(shape={self.values.shape}, dtype={self.values.dtype})"

    def tolist(self) -> list:
        """The values as (nested) Python lists."""
        return self.values.tolist()
