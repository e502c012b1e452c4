"""Day 4's feature store helpers: Feast set up quietly, clear errors, rows kept in order; and the
benchmark that times Feast next to pandas."""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

feast = pytest.importorskip("feast")

from curriculum.bench import benchmark_feature_store  # noqa: E402
from curriculum.feature_store import (  # noqa: E402
    check_entity_frame,
    historical_features,
    local_store,
    materialize,
    materialize_incremental,
    online_features,
)


@pytest.fixture()
def store(tmp_path):
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Int64

    daily = pd.DataFrame(
        {
            "creative_id": [1, 1, 2],
            "available_at": pd.to_datetime(
                ["2025-10-02 02:00", "2025-10-03 02:00", "2025-10-02 02:00"], utc=True
            ),
            "clicks": [1, 3, 0],
        }
    )
    daily.to_parquet(tmp_path / "d.parquet")
    entity = Entity(name="creative", join_keys=["creative_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="creative_daily",
        entities=[entity],
        ttl=timedelta(days=3),
        schema=[Field(name="clicks", dtype=Int64)],
        source=FileSource(path=str(tmp_path / "d.parquet"), timestamp_field="available_at"),
    )
    store = local_store(tmp_path / "repo")
    store.apply([entity, view])
    return store


def test_retrieval_keeps_rows_and_is_point_in_time_and_quiet(store, capsys):
    entity_df = pd.DataFrame(
        {
            "creative_id": [1, 2, 1],
            "event_timestamp": pd.to_datetime(
                ["2025-10-03 05:00:00.123456789", "2025-10-09", "2025-10-02 01:00"],
                utc=True,
                format="ISO8601",
            ),
        },
        index=[30, 10, 20],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = historical_features(store, entity_df, ["creative_daily:clicks"])
    assert list(got.index) == [30, 10, 20]
    assert got["clicks"].iloc[0] == 3 and np.isnan(got["clicks"].iloc[1])  # 7 days > TTL
    assert np.isnan(got["clicks"].iloc[2])  # nothing available yet
    materialize(store, pd.Timestamp("2025-10-01", tz="UTC"), pd.Timestamp("2025-10-03 12:00"))
    online = online_features(
        store, ["creative_daily:clicks"], [{"creative_id": 1}, {"creative_id": 9}]
    )
    assert online["clicks"].iloc[0] == 3 and pd.isna(online["clicks"].iloc[1])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "", "Feast's chatter must stay out of notebooks"


def test_nightly_top_ups_keep_every_keys_last_value_and_its_time(store):
    """The first night loads one TTL back from it (not from the machine's clock, which would load
    nothing of a simulated past); later nights add what was published since; an old value stays,
    with its event timestamp, for the reader to judge."""
    materialize_incremental(store, pd.Timestamp("2025-10-02 02:30", tz="UTC"))
    rows = [{"creative_id": 1}, {"creative_id": 2}, {"creative_id": 9}]
    first = online_features(store, ["creative_daily:clicks"], rows, with_timestamps=True)
    assert list(first["clicks"].iloc[:2]) == [1, 0] and pd.isna(first["clicks"].iloc[2])
    materialize_incremental(store, pd.Timestamp("2025-10-03 02:30", tz="UTC"))
    materialize_incremental(store, pd.Timestamp("2025-10-20 02:30", tz="UTC"))  # weeks later
    later = online_features(store, ["creative_daily:clicks"], rows, with_timestamps=True)
    assert list(later.columns) == ["creative_id", "clicks", "clicks_at"]
    assert list(later["clicks"].iloc[:2]) == [3, 0], "the last values stay, however old"
    assert list(later["clicks_at"].iloc[:2]) == list(
        pd.to_datetime(["2025-10-03 02:00", "2025-10-02 02:00"], utc=True)
    )
    assert pd.isna(later["clicks_at"].iloc[2])


@pytest.mark.parametrize(
    "frame, message",
    [
        (
            pd.DataFrame({"event_timestamp": pd.to_datetime(["2025-10-01"], utc=True)}),
            "creative_id",
        ),
        (pd.DataFrame({"creative_id": [1]}), "event_timestamp"),
        (pd.DataFrame({"creative_id": [1], "event_timestamp": ["yesterday"]}), "timestamps"),
        ([{"creative_id": 1}], "DataFrame"),
    ],
)
def test_a_malformed_entity_frame_names_what_is_missing(store, frame, message):
    with pytest.raises(ValueError, match=message):
        historical_features(store, frame, ["creative_daily:clicks"])


def test_naive_times_are_utc_and_kept_to_the_microsecond():
    frame = pd.DataFrame({"k": [1], "event_timestamp": pd.to_datetime(["2025-10-01 00:00:00.5"])})
    out = check_entity_frame(frame, ["k"])
    assert str(out["event_timestamp"].dt.tz) == "UTC"
    assert out["event_timestamp"].dtype == "datetime64[us, UTC]"


def test_the_feature_store_benchmark_reports_every_step():
    steps = benchmark_feature_store(impressions=5_000, entity_rows=500, lookups=5)
    names = [s.step for s in steps]
    assert any("Feast" in n for n in names) and any("merge_asof" in n for n in names)
    assert any(s.note.startswith("p50") for s in steps)
    assert all(s.seconds >= 0 for s in steps)
