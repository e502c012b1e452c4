"""The generators' array helpers give exactly numpy's answers (they exist only for speed and
memory), including the random stream they leave behind."""

from __future__ import annotations

import numpy as np
import pytest

from curriculum.bench import benchmark_generators
from curriculum.datasets._arrays import choice, rowwise_dot, searchsorted_unit, stable_argsort


@pytest.mark.parametrize("high", [1, 2, 100, 3_000 * 14_000_000, 2**50, 2**62])
@pytest.mark.parametrize("n", [0, 1, 7, 1_000, 100_000])
def test_stable_argsort_is_numpys_stable_order(high, n):
    keys = np.random.default_rng(n).integers(0, high, size=n)
    np.testing.assert_array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_stable_argsort_falls_back_for_negative_keys():
    keys = np.array([3, -1, 3, -1, 0])
    np.testing.assert_array_equal(stable_argsort(keys), [1, 3, 4, 0, 2])


def _weights():
    rng = np.random.default_rng(1)
    yield np.array([1.0])
    yield np.array([0.0, 1.0, 0.0])
    yield np.r_[np.full(5_000, 1e-9), 1.0]  # thousands of entries in one bucket
    yield np.r_[1.0, np.full(5_000, 1e-9)]
    for m in (2, 24, 672, 3_912):
        yield rng.uniform(size=m)
        yield rng.pareto(1.2, size=m) + 1.0
        sparse = np.where(rng.uniform(size=m) < 0.5, 0.0, rng.gamma(0.2, size=m) + 1e-12)
        sparse[-1] = 1.0  # zeros inside, at least one entry to draw
        yield sparse


@pytest.mark.parametrize("weights", list(_weights()), ids=lambda w: f"m{w.size}")
@pytest.mark.parametrize("size", [0, 1, 50_000])
def test_choice_draws_what_rng_choice_draws(weights, size):
    p = weights / weights.sum()
    ours, numpys = np.random.default_rng(7), np.random.default_rng(7)
    drawn = choice(ours, size, p)
    expected = numpys.choice(p.size, size=size, p=p)
    np.testing.assert_array_equal(drawn, expected)
    assert drawn.dtype == expected.dtype
    assert ours.random() == numpys.random()  # the stream is left where numpy leaves it


def test_choice_rejects_weights_that_are_not_probabilities():
    rng = np.random.default_rng(0)
    for bad in ([0.5, 0.6], [-0.5, 1.5], [], [[0.5, 0.5]]):
        with pytest.raises(ValueError, match="probabilities"):
            choice(rng, 3, np.array(bad))


def test_searchsorted_unit_at_bucket_edges():
    cdf = np.array([0.25, 0.5, 0.5, 0.75, 1.0])
    values = np.array([0.0, 0.25, 0.2499999999, 0.5, 0.75, 0.9999999999, np.nextafter(0.5, 0)])
    np.testing.assert_array_equal(
        searchsorted_unit(cdf, values), np.searchsorted(cdf, values, side="right")
    )


def test_rowwise_dot_equals_the_gathered_product():
    rng = np.random.default_rng(3)
    left, right = rng.normal(size=(50, 16)), rng.normal(size=(40, 16))
    rows_left, rows_right = rng.integers(0, 50, 200_000), rng.integers(0, 40, 200_000)
    expected = np.einsum("ij,ij->i", left[rows_left], right[rows_right])
    np.testing.assert_array_equal(rowwise_dot(left, rows_left, right, rows_right), expected)


def test_generator_benchmark_reports_best_and_median():
    timings = benchmark_generators(rows=2_000, repeat=2)
    assert [t.name for t in timings] == [
        "make_eta_trips",
        "make_transactions",
        "make_ad_impressions",
        "make_interactions",
    ]
    for t in timings:
        assert t.rows == 2_000 and 0 < t.seconds <= t.median_seconds
        assert t.peak_bytes > 0 and t.frame_bytes > 0
    with pytest.raises(ValueError, match="repeat"):
        benchmark_generators(rows=2_000, repeat=0)
